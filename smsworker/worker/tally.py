"""What this worker has settled: its running totals, each step reported as events."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from smsworker.worker.events import WorkerEvents
from smsworker.worker.flight import TaskInFlight


@dataclass
class Totals:
    tasks: int = 0
    sent: int = 0
    dead: int = 0
    requeued: int = 0
    # Provider calls still running when the shutdown timeout ran out; the caller should exit hard.
    abandoned_sends: bool = False
    # Drain only: the queue was seen empty with nothing left in flight.
    drained: bool = False
    # Why the worker gave up on Redis, when it did.
    gave_up: str = ""


class Tally:
    def __init__(self, events: WorkerEvents) -> None:
        self.totals = Totals()
        self._events = events
        self._lock = threading.Lock()

    def settled(self, flight: TaskInFlight) -> None:
        dead_reasons = [f.reason for f in flight.failed.values()]
        self._events.task_settled(sent=len(flight.sent), dead_reasons=dead_reasons, segments=flight.segments)
        self._count(sent=len(flight.sent), dead=len(flight.failed))

    def rejected(self, reason: str) -> None:
        self._events.task_rejected(reason)
        self._count(sent=0, dead=1)

    def _count(self, *, sent: int, dead: int) -> None:
        with self._lock:
            self.totals.tasks += 1
            self.totals.sent += sent
            self.totals.dead += dead
            tasks, sent, dead = self.totals.tasks, self.totals.sent, self.totals.dead
        self._events.progressed(tasks=tasks, sent=sent, dead=dead)
