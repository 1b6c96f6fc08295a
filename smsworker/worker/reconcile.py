"""Putting back what sits in a live worker's processing list but is not held by it.

A claim whose reply was lost (Redis ran it; the client timed out or lost the connection) leaves
elements in the processing list that the worker never received: nobody would ever send them, as
the worker is alive and beating. The check is due after any Redis call failed and then went
through again, and every heartbeat TTL in any case; the caller runs it on the only thread that
claims, between claims, so no claim is ever half-way through when it looks.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from smsworker.worker.flight import Holdings
from smsworker.worker.guarded import RedisGaveUp, WorkerRedis


class Reconciler:
    def __init__(self, redis: WorkerRedis, holdings: Holdings, *, every_s: float, log: Any) -> None:
        self._redis = redis
        self._holdings = holdings
        self._every_s = every_s
        self._log = log
        self._recoveries_seen = 0
        self._next_at = time.monotonic() + every_s

    def run_if_due(self) -> None:
        if self._redis.recoveries == self._recoveries_seen and time.monotonic() < self._next_at:
            return
        self._recoveries_seen = self._redis.recoveries
        self._next_at = time.monotonic() + self._every_s
        held = self._holdings.snapshot()  # before the list: an element leaves the list first
        listed = self._redis.processing()
        orphans = list((Counter(listed) - held).elements())
        if orphans:
            self.put_back(orphans, why="claimed by a call whose reply was lost")

    def put_back(self, elements: list[bytes], *, why: str) -> None:
        """Move ``elements`` from our processing list back to the front of the queue."""
        moved = self._redis.requeue_orphans(elements)
        self._log.warning(
            "worker.requeued_unheld", tasks=moved, note=f"{why}; back at the front of the queue"
        )

    def put_back_all(self, *, claimed: bool) -> int:
        """At shutdown: requeue all this worker still holds and unregister it; how many were moved.

        With nothing ever ``claimed`` it only unregisters, which is not worth waiting for Redis.
        """
        try:
            moved = self._redis.requeue_mine() if claimed else self._redis.unregister()
        except RedisGaveUp:
            self._log.error(
                "worker.requeue_failed", note="tasks stay in the processing list and are recovered"
            )
            return 0
        self._holdings.clear()
        return moved
