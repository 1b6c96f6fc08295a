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

from smsworker.inflight import Holdings
from smsworker.outages import OutageGuard
from smsworker.queue import RedisQueue


class Reconciler:
    def __init__(
        self,
        queue: RedisQueue,
        guard: OutageGuard,
        holdings: Holdings,
        worker_id: str,
        *,
        every_s: float,
        log: Any,
    ) -> None:
        self._queue = queue
        self._guard = guard
        self._holdings = holdings
        self._worker_id = worker_id
        self._every_s = every_s
        self._log = log
        self._recoveries_seen = 0
        self._next_at = time.monotonic() + every_s

    def run_if_due(self) -> None:
        if self._guard.recoveries == self._recoveries_seen and time.monotonic() < self._next_at:
            return
        self._recoveries_seen = self._guard.recoveries
        self._next_at = time.monotonic() + self._every_s
        held = self._holdings.snapshot()  # before the list: an element leaves the list first
        listed = self._guard.call(lambda: self._queue.processing(self._worker_id), "reconcile")
        orphans = list((Counter(listed) - held).elements())
        if orphans:
            self.put_back(orphans, why="claimed by a call whose reply was lost")

    def still_listed(self, elements: list[bytes]) -> list[bytes]:
        """Those of ``elements`` (just claimed) still in our processing list.

        For a claim made before this worker's heartbeat lapsed: another worker may have taken the
        elements over meanwhile (a frozen process receives the claim's reply only on waking), and
        sending them now would send them twice.
        """
        listed = Counter(self._guard.call(lambda: self._queue.processing(self._worker_id), "reconcile"))
        kept = []
        for element in elements:
            if listed[element] > 0:
                listed[element] -= 1
                kept.append(element)
        if len(kept) < len(elements):
            note = "claimed before this worker's heartbeat lapsed; another worker has them now"
            self._log.warning("worker.claims_taken_over", tasks=len(elements) - len(kept), note=note)
        return kept

    def put_back(self, elements: list[bytes], *, why: str) -> None:
        """Move ``elements`` from our processing list back to the front of the queue."""
        moved = self._guard.call(lambda: self._queue.requeue_orphans(self._worker_id, elements), "reconcile")
        self._log.warning(
            "worker.requeued_unheld", tasks=moved, note=f"{why}; back at the front of the queue"
        )
