"""Settling tasks: outcomes recorded, failures dead-lettered, one summary logged per task.

One thread commits for the whole worker: whatever finished while the previous commit was in flight
goes in the next one, so a busy worker pays one Redis round trip for many tasks and an idle one
pays no extra latency. Batches are numbered, so one retried after a lost reply is recognised in
Redis and recorded once (``lua.SETTLE``). A task another worker took over meanwhile (this one was
frozen past its heartbeat) is not recorded here: it is logged as ``task.settle_skipped``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smsworker.deadletter import Failure, build_envelope
from smsworker.errors import InvalidTask
from smsworker.inflight import TaskInFlight
from smsworker.outages import OutageGuard, RedisGaveUp
from smsworker.queue import RedisQueue, SettleOp
from smsworker.task import SmsTask

# Bounds one transaction (and the envelopes it carries) under a flood of finished tasks.
MAX_BATCH = 256
# Finished tasks waiting to be recorded, past which the worker claims no more: when settles fail and
# claims do not (a dead-letter key of the wrong type), memory and the tasks held stay bounded.
MAX_BACKLOG = 4 * MAX_BATCH


@dataclass(frozen=True)
class _Pending:
    op: SettleOp
    log_event: str
    log_fields: dict[str, Any]
    done: Callable[[], None]


class Settler:
    def __init__(self, queue: RedisQueue, worker_id: str, log: Any, guard: OutageGuard) -> None:
        self.queue = queue
        self.worker_id = worker_id
        self.log = log
        self.guard = guard
        self._pending: list[_Pending] = []
        self._batches = 0
        self._committing = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="smsworker-settle", daemon=True)
        self._thread.start()

    def settle(self, flight: TaskInFlight, done: Callable[[], None]) -> None:
        """Queue a finished task for the next commit; ``done`` runs once it is recorded.

        A task abandoned at shutdown (already put back on the queue) is not settled.
        """
        task = flight.task
        op = SettleOp(
            element=flight.element,
            progress_key=flight.progress_key,
            keep_progress=task.task_id is not None,
            envelopes=tuple(self._envelopes(flight.raw, task, flight.failed)),
            sent=len(flight.sent),
            dead=len(flight.failed),
            segments=flight.segments,
        )
        fields = {
            "task_id": task.task_id,
            "template_id": task.template_id,
            "recipients": len(task.mobiles) + len(task.invalid_mobiles),
            "sent": len(flight.sent),
            "dead": len(flight.failed),
            "skipped": flight.skipped,
            "segments": flight.segments,
            "attempts": flight.attempts,
            "reasons": sorted({f.reason for f in flight.failed.values()}) or None,
            "duration_ms": round((time.monotonic() - flight.started) * 1000, 1),
        }
        with flight.lock:  # shutdown takes this lock to abandon the task: one or the other wins
            if not flight.abandoned:
                self._add(_Pending(op, "task.settled", fields, done))

    def settle_invalid(self, element: bytes, raw: bytes, exc: InvalidTask, done: Callable[[], None]) -> None:
        """Dead-letter an element that is not a task at all."""
        envelopes = self._envelopes(raw, None, {"": Failure(exc.reason, exc.error)})
        op = SettleOp(element=element, envelopes=tuple(envelopes), dead=1)
        fields = {"reason": exc.reason, "error": exc.error, "payload_bytes": len(raw)}
        self._add(_Pending(op, "task.dead_lettered", fields, done))

    def has_room(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the backlog to be under ``MAX_BACKLOG``."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._pending) < MAX_BACKLOG, timeout_s)

    def flush(self, timeout_s: float | None) -> bool:
        """Wait until everything queued so far is committed (or given up); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._committing, timeout_s)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _add(self, pending: _Pending) -> None:
        with self._cond:
            self._pending.append(pending)
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                self._committing = True
            try:
                self._commit(batch)
            finally:
                with self._cond:
                    self._committing = False
                    self._cond.notify_all()

    def _commit(self, batch: list[_Pending]) -> None:
        self._batches += 1
        number = self._batches
        ops = [p.op for p in batch]
        try:
            applied = self.guard.call(lambda: self.queue.settle(self.worker_id, number, ops), "settle")
        except RedisGaveUp:
            return  # stopping with Redis away: the tasks stay in the processing list, recovered later
        except Exception:
            self.log.exception("settle.failed", tasks=len(batch))
            return
        for index, pending in enumerate(batch):
            self._report(pending, index < len(applied) and applied[index])

    def _report(self, pending: _Pending, recorded: bool) -> None:
        if not recorded:
            self.log.warning(
                "task.settle_skipped",
                note="no longer in this worker's processing list: recovered by another worker "
                "while this one was cut off; that worker settles it",
                **{k: pending.log_fields.get(k) for k in ("task_id", "sent", "dead")},
            )
        elif pending.log_event == "task.settled":
            self.log.info(pending.log_event, **pending.log_fields)
        else:
            self.log.warning(pending.log_event, **pending.log_fields)
        try:
            pending.done()
        except Exception:  # the caller's bookkeeping must not stop the thread that settles
            self.log.exception("settle.callback_failed")

    def _envelopes(self, raw: bytes, task: SmsTask | None, failed: dict[str, Failure]) -> list[bytes]:
        if not failed:
            return []
        return build_envelope(
            raw=raw, task=task, failed=failed, worker=self.worker_id, queue=self.queue.queue
        )
