"""A claimed task while its recipients are being sent: what has settled, and whether it is done."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from smsworker.deadletter import Failure
from smsworker.delivery import UnitOutcome
from smsworker.task import SmsTask


@dataclass(eq=False)
class TaskInFlight:
    element: bytes  # exactly as it sits in the processing list (possibly stamped)
    raw: bytes  # the producer's bytes
    task: SmsTask
    progress_key: str | None
    units_expected: int
    # Written into the progress hash before each request (see progress.py); "" without a key.
    reservation: str = ""
    skipped: int = 0  # recipients already sent under the progress key (a previous run, a duplicate)
    segments_each: int = 1  # SMS parts one message of this task costs
    failed: dict[str, Failure] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    attempts: int = 0
    started: float = field(default_factory=time.monotonic)
    units_done: int = 0
    unsettled: bool = False
    # Set at shutdown once the task has been put back on the queue: it must not settle after that.
    abandoned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def segments(self) -> int:
        """SMS parts billed for the messages sent so far."""
        return self.segments_each * len(self.sent)

    def record(self, outcome: UnitOutcome) -> bool:
        """Add one unit's outcome; True when every unit is in and the task can be settled."""
        with self.lock:
            self.sent.extend(outcome.sent)
            self.skipped += len(outcome.skipped)
            self.failed.update(outcome.failed)
            self.attempts = max(self.attempts, outcome.attempts)
            self.unsettled = self.unsettled or bool(outcome.unsettled)
            self.units_done += 1
            return self.units_done == self.units_expected and not self.unsettled


class FlightRegistry:
    """The tasks in flight, so shutdown can wait for them and then fence them off."""

    def __init__(self) -> None:
        self._flights: set[TaskInFlight] = set()
        self._units = 0
        self._cond = threading.Condition()

    def add(self, flight: TaskInFlight) -> None:
        with self._cond:
            self._flights.add(flight)

    def remove(self, flight: TaskInFlight) -> None:
        with self._cond:
            self._flights.discard(flight)
            self._cond.notify_all()

    def unit_started(self) -> None:
        with self._cond:
            self._units += 1

    def unit_finished(self) -> None:
        with self._cond:
            self._units -= 1
            self._cond.notify_all()

    def units_in_flight(self) -> int:
        with self._cond:
            return self._units

    def wait_idle(self, timeout_s: float | None) -> bool:
        """Wait until no unit is being sent; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._units == 0, timeout=timeout_s)

    def abandon_all(self) -> None:
        with self._cond:
            flights = list(self._flights)
        for flight in flights:
            with flight.lock:
                flight.abandoned = True


class Holdings:
    """The elements this worker holds: claimed, and not yet settled or put back. A multiset, since
    identical elements may be claimed together.

    What sits in the worker's processing list and is not held here is an orphan: a claim Redis
    executed but whose reply was lost. ``Worker`` compares the two from its fetch thread, the only
    one that claims, so no claim is ever half-way through when it looks; it takes the snapshot
    before reading the list, because an element leaves the list before it leaves the holdings.
    """

    def __init__(self) -> None:
        self._held: Counter[bytes] = Counter()
        self._lock = threading.Lock()

    def add(self, element: bytes) -> None:
        with self._lock:
            self._held[element] += 1

    def remove(self, element: bytes) -> None:
        with self._lock:
            self._held[element] -= 1
            if self._held[element] <= 0:
                del self._held[element]

    def replace(self, old: bytes, new: bytes) -> None:
        with self._lock:
            self._held[old] -= 1
            if self._held[old] <= 0:
                del self._held[old]
            self._held[new] += 1

    def snapshot(self) -> Counter[bytes]:
        with self._lock:
            return Counter(self._held)

    def clear(self) -> None:
        with self._lock:
            self._held.clear()
