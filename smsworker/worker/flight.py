"""A claimed task while its recipients are being sent: what has settled, and whether it is done."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from smsworker.outcome import Acceptance, Failure, UnitOutcome
from smsworker.task import SmsTask


class Claimed(Protocol):
    """An element this worker claimed, and since when (monotonic) it has counted on holding it."""

    @property
    def element(self) -> bytes: ...

    @property
    def started(self) -> float: ...


@dataclass(frozen=True)
class Claim:
    """An element just claimed, not read yet."""

    element: bytes
    started: float


@dataclass(eq=False)
class TaskInFlight:
    element: bytes  # exactly as it sits in the processing list (possibly stamped)
    raw: bytes  # the producer's bytes
    task: SmsTask
    progress_key: str | None
    units_expected: int
    # Written into the progress hash before each request (see progress.py); "" without a key.
    reservation: str = ""
    # Recipients already sent under the progress key (a previous run, a duplicate), with who took them.
    skipped: dict[str, Acceptance] = field(default_factory=dict)
    segments_each: int = 1  # SMS parts one message of this task costs
    failed: dict[str, Failure] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    accepted: dict[str, Acceptance] = field(default_factory=dict)  # who took each of ``sent``, and its id
    attempts: int = 0
    tasks_per_request: int = 1  # the most tasks that shared one of its requests (grouping.py)
    started: float = field(default_factory=time.monotonic)
    units_done: int = 0
    unsettled: bool = False
    # Found in another worker's hands (see UnitOutcome.taken_over): settled without writing to Redis.
    taken_over: bool = False
    # Set at shutdown once the task has been put back on the queue: it must not settle after that.
    abandoned: bool = False
    lane: str = "default"  # the lane it was taken from
    # Recipients due later (send_at, quiet hours): (when, the scheduled set's member, the numbers,
    # "scheduled" or "deferred").
    later: list[tuple[float, bytes, tuple[str, ...], str]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)  # recipients not sent: the task was cancelled
    parked: bool = False  # its campaign is paused: the whole task waits in the campaign's parked list
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def segments(self) -> int:
        """SMS parts billed for the messages sent so far."""
        return self.segments_each * len(self.sent)

    def record(self, outcome: UnitOutcome) -> bool:
        """Add one unit's outcome; True when every unit is in and the task can be settled."""
        with self.lock:
            self.sent.extend(outcome.sent)
            self.accepted.update(outcome.accepted)
            self.skipped.update(outcome.skipped)
            self.failed.update(outcome.failed)
            self.attempts = max(self.attempts, outcome.attempts)
            self.tasks_per_request = max(self.tasks_per_request, outcome.tasks_per_request)
            self.unsettled = self.unsettled or bool(outcome.unsettled)
            self.taken_over = self.taken_over or outcome.taken_over
            self.units_done += 1
            return self.units_done == self.units_expected and not self.unsettled


class FlightRegistry:
    """The tasks in flight, so shutdown can fence them off once it stops waiting for them."""

    def __init__(self) -> None:
        self._flights: set[TaskInFlight] = set()
        self._lock = threading.Lock()

    def add(self, flight: TaskInFlight) -> None:
        with self._lock:
            self._flights.add(flight)

    def remove(self, flight: TaskInFlight) -> None:
        with self._lock:
            self._flights.discard(flight)

    def abandon_all(self) -> None:
        """Mark every task in flight as put back: none may settle after this."""
        with self._lock:
            flights = list(self._flights)
        for flight in flights:
            with flight.lock:
                flight.abandoned = True


class Holdings:
    """The elements this worker holds: claimed, and not yet settled or put back. A multiset, since
    identical elements may be claimed together.

    What sits in the worker's processing list and is not held here is an orphan: a claim Redis
    executed but whose reply was lost. ``Reconciler`` compares the two from the fetch thread, the only
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
