"""Settling a task: its outcome recorded, its failures dead-lettered, its summary logged."""

from __future__ import annotations

import time
from typing import Any

from smsworker.deadletter import Failure, build_envelope
from smsworker.errors import InvalidTask
from smsworker.inflight import TaskInFlight
from smsworker.outages import OutageGuard
from smsworker.queue import RedisQueue


class Settler:
    def __init__(self, queue: RedisQueue, worker_id: str, log: Any, guard: OutageGuard) -> None:
        self.queue = queue
        self.worker_id = worker_id
        self.log = log
        self.guard = guard

    def settle(self, flight: TaskInFlight) -> bool:
        """Record a finished task; False if it was abandoned (requeued at shutdown) meanwhile."""
        task = flight.task
        envelopes = self._envelopes(flight.raw, flight.task, flight.failed)
        with flight.lock:  # shutdown takes this lock to abandon the task: one or the other wins
            if flight.abandoned:
                return False
            self.guard.call(
                lambda: self.queue.settle(
                    self.worker_id,
                    flight.element,
                    progress_key=flight.progress_key,
                    keep_progress=task.task_id is not None,
                    envelopes=envelopes,
                    sent=len(flight.sent),
                    dead=len(flight.failed),
                ),
                "settle",
            )
        self.log.info(
            "task.settled",
            task_id=task.task_id,
            template_id=task.template_id,
            recipients=len(task.mobiles) + len(task.invalid_mobiles),
            sent=len(flight.sent),
            dead=len(flight.failed),
            skipped=flight.skipped,
            attempts=flight.attempts,
            reasons=sorted({f.reason for f in flight.failed.values()}) or None,
            duration_ms=round((time.monotonic() - flight.started) * 1000, 1),
        )
        return True

    def settle_invalid(self, element: bytes, raw: bytes, exc: InvalidTask) -> None:
        """Dead-letter an element that is not a task at all."""
        envelopes = self._envelopes(raw, None, {"": Failure(exc.reason, exc.error)})
        self.guard.call(
            lambda: self.queue.settle(
                self.worker_id,
                element,
                progress_key=None,
                keep_progress=False,
                envelopes=envelopes,
                sent=0,
                dead=1,
            ),
            "settle",
        )
        self.log.warning("task.dead_lettered", reason=exc.reason, error=exc.error, payload_bytes=len(raw))

    def _envelopes(self, raw: bytes, task: Any, failed: dict[str, Failure]) -> list[bytes]:
        if not failed:
            return []
        return build_envelope(
            raw=raw, task=task, failed=failed, worker=self.worker_id, queue=self.queue.queue
        )
