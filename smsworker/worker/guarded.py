"""The worker's Redis calls, under one policy: retried through outages, given up only when stopping.

Every call is a ``read`` or a ``write``. Running, both are retried for ever with a doubling backoff
(a Redis restart must not cost a task). Stopping, a read (a claim, a look at a list) is given up at
once and a write (a settle, a stamp, a reservation) at the shutdown deadline: a write given up
leaves its task in the processing list, to be recovered. A drain is a batch job: it stops on an
answer no waiting changes (WRONGTYPE, NOPERM, ...) or after ``drain_patience_s``, and says why in
``gave_up``.

A server that is down logs ``redis.unavailable``; one that answers with an error (WRONGTYPE, OOM,
READONLY after a failover) logs ``redis.command_failed``; either way ``redis.reconnected`` follows
recovery. ``recoveries`` counts calls that failed and then went through: such a call may have been
executed with only its reply lost, so whoever owns state in Redis compares it with what it holds
after the count moves (``reconcile.py``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from smsworker.store.errors import OUTAGES, RedisError, ResponseError
from smsworker.store.lanes import Taken
from smsworker.store.progress import Mark, Progress, Reserved
from smsworker.store.queue import RedisQueue, SettleOp
from smsworker.worker.events import WorkerEvents
from smsworker.worker.stopping import Stopping

T = TypeVar("T")
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
# Answers no amount of waiting changes: a key of the wrong type, a missing ACL permission, a
# cluster node that does not hold the key. (READONLY, OOM and LOADING do pass.) Searched, not
# matched at the start: a pipeline wraps them ("Command # 1 (SADD ...) of pipeline caused error: ...").
_PERMANENT = re.compile(r"\b(WRONGTYPE|NOPERM|MOVED|ASK|CROSSSLOT|NOAUTH|WRONGPASS)\b|\bERR unknown command")


def is_permanent(exc: RedisError) -> bool:
    return isinstance(exc, ResponseError) and _PERMANENT.search(str(exc)) is not None


class RedisGaveUp(Exception):
    """A Redis call was abandoned (the worker is stopping); whatever it was for is recovered later."""


class RedisGuard:
    def __init__(
        self,
        log: Any,
        stopping: Stopping,
        *,
        events: WorkerEvents | None = None,
        drain_patience_s: float = 30.0,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self._log = log
        self._stopping = stopping
        self._events = events or WorkerEvents()
        self._patience_s = drain_patience_s
        # Retries pace on an event of their own, set only by close(): a stop must not cut short
        # the writes that settle tasks.
        self._closed = threading.Event()
        self._wait = wait or self._closed.wait
        self.draining = False
        self.recoveries = 0
        self.last_error = ""
        self.gave_up = ""  # why a drain stopped on Redis, when it did

    def read(self, fn: Callable[[], T], action: str) -> T:
        return self._call(fn, action, write=False)

    def write(self, fn: Callable[[], T], action: str) -> T:
        return self._call(fn, action, write=True)

    def close(self) -> None:
        """The worker is done: a retry still waiting gives up now."""
        self._closed.set()

    def _call(self, fn: Callable[[], T], action: str, *, write: bool) -> T:
        delay_s = BACKOFF_FIRST_S
        failed_since: float | None = None
        while True:
            try:
                result = fn()
            except RedisError as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                failed_since = time.monotonic() if failed_since is None else failed_since
                if self._give_up(write, time.monotonic() - failed_since, is_permanent(exc)):
                    raise RedisGaveUp(action) from exc
                event = "redis.unavailable" if isinstance(exc, OUTAGES) else "redis.command_failed"
                self._log.warning(event, action=action, error=str(exc), retry_in_s=delay_s)
                self._events.redis_waiting(str(exc))
                self._wait(delay_s)
                delay_s = min(delay_s * 2, BACKOFF_MAX_S)
                continue
            if failed_since is not None:
                self.recoveries += 1
                self._log.info("redis.reconnected", action=action)
            return result

    def _give_up(self, write: bool, failing_for_s: float, permanent: bool) -> bool:
        if (
            self.draining
            and not self._stopping.requested
            and (permanent or failing_for_s >= self._patience_s)
        ):
            waited = "" if permanent else f" for {failing_for_s:.0f} s"
            self.gave_up = f"Redis kept failing{waited}: {self.last_error}"
            self._stopping.request()
        if not self._stopping.requested:
            return False
        return not write or self._stopping.past_deadline() or self._closed.is_set()


class WorkerRedis:
    """The Redis calls one worker makes, each typed, and each a read or a write under ``guard``.

    A read is given up at once once stopping; a write only at the shutdown deadline (see
    ``RedisGuard``). The worker's collaborators get this, never the client: which calls may be
    abandoned is decided here, once, not at each call site. Two uses of Redis keep policies of
    their own, each said where it lives: the heartbeat thread (``Liveness``) and the shared rate
    limit (``RateLimiter``: with Redis away a request goes out unpaced rather than every send
    waiting out the outage).
    """

    def __init__(self, queue: RedisQueue, guard: RedisGuard, worker_id: str) -> None:
        self._queue = queue
        self._guard = guard
        self._progress = Progress(queue.client)
        self.keys = queue.keys
        self.worker_id = worker_id

    @property
    def recoveries(self) -> int:
        """Calls that failed and then went through: a reply may have been lost (reconcile.py)."""
        return self._guard.recoveries

    # -- reads ---------------------------------------------------------------------------------

    def claim(self, block_s: float) -> bytes | None:
        return self._guard.read(lambda: self._queue.claim(self.worker_id, block_s), "claim")

    def take(self, plan: Sequence[tuple[str, int]], total: int) -> Taken:
        return self._guard.read(lambda: self._queue.take(self.worker_id, plan, total), "claim")

    def wait_for_push(self, block_s: float) -> bool:
        return self._guard.read(lambda: self._queue.wait_for_push(block_s), "claim")

    def cancelled(self, task_id: str | None, campaign: str | None) -> bool:
        return self._guard.read(lambda: self._queue.cancelled(task_id, campaign), "check cancelled")

    def processing(self) -> list[bytes]:
        return self._guard.read(lambda: self._queue.processing(self.worker_id), "reconcile")

    def holds(self, element: bytes) -> bool:
        return self._guard.read(lambda: self._queue.holds(self.worker_id, element), "check owner")

    def heartbeats(self, worker_ids: Sequence[str]) -> dict[str, bytes | None]:
        return self._guard.read(lambda: self._queue.heartbeats(worker_ids), "check holders")

    def length(self) -> int:
        return self._guard.read(self._queue.length, "length")

    def queued(self, paused: Collection[str] = ()) -> int:
        """Tasks waiting in the queue and every lane that ``paused`` does not hold."""
        return self._guard.read(lambda: self._queue.queued(paused), "length")

    def unregister(self) -> int:
        """Leave the workers set, with nothing claimed: not worth waiting for Redis when stopping."""
        return self._guard.read(lambda: self._queue.requeue_worker(self.worker_id), "unregister")

    # -- writes --------------------------------------------------------------------------------

    def requeue_mine(self) -> int:
        """Put everything in this worker's processing list back at the front of the queue."""
        return self._guard.write(lambda: self._queue.requeue_worker(self.worker_id), "requeue")

    def requeue_orphans(self, elements: Sequence[bytes]) -> int:
        return self._guard.write(lambda: self._queue.requeue_orphans(self.worker_id, elements), "put back")

    def stamp(self, element: bytes, stamped: bytes) -> bool:
        return self._guard.write(lambda: self._queue.stamp_claimed(self.worker_id, element, stamped), "stamp")

    def settle(
        self, batch: int, ops: Sequence[SettleOp], *, receipt_ttl_s: int, changes_max: int = 0
    ) -> list[bool]:
        return self._guard.write(
            lambda: self._queue.settle(
                self.worker_id, batch, ops, receipt_ttl_s=receipt_ttl_s, changes_max=changes_max
            ),
            "settle",
        )

    def reserve(self, key: str, reservation: str, mobiles: Sequence[str]) -> Reserved:
        return self._guard.write(lambda: self._progress.reserve(key, reservation, mobiles), "reserve")

    def finish(self, marks: Sequence[Mark]) -> None:
        self._guard.write(lambda: self._progress.finish_many(marks), "mark sent")

    def steal(self, key: str, reservation: str, held: Mapping[str, str]) -> None:
        self._guard.write(lambda: self._progress.steal(key, reservation, held), "reserve")
