"""What became of a recipient: the reason vocabulary, one recipient's failure, one unit's outcome.

Shared by the code that sends (``delivery.py``, ``worker/``) and the code that writes and reads
dead letters (``deadletters.py``), so neither has to import the other for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Every reason a dead letter can carry; docs/task-contract.md says when each is given.
REASONS = (
    "invalid_json",
    "invalid_task",
    "invalid_mobile",
    "provider_rejected",
    "retries_exhausted",
    "too_large",
    "unsendable",
    "internal_error",
    "poison",
    "undelivered",  # the vendor's delivery report said so (--dead-letter-undelivered)
)
# Envelopes of these may carry no parsed task: a replay pushes the original element again.
WHOLE_ELEMENT_REASONS = frozenset({"internal_error", "poison"})


@dataclass(frozen=True)
class Failure:
    """Why one recipient could not be sent."""

    reason: str
    error: str
    attempts: int = 0
    provider_code: str | None = None
    recipient_fault: bool = False  # the number's own problem: no other provider would take it


@dataclass(frozen=True)
class Acceptance:
    """A recipient a provider accepted: which provider, and its id for the message ("" if none),
    which its delivery report will name."""

    provider: str
    message_id: str = ""


@dataclass
class UnitOutcome:
    """What became of the recipients of one unit (one provider batch) of a task."""

    sent: list[str] = field(default_factory=list)
    accepted: dict[str, Acceptance] = field(default_factory=dict)  # for each of ``sent``
    failed: dict[str, Failure] = field(default_factory=dict)
    # Left for another time: the worker is stopping. The task goes back to the queue.
    unsettled: list[str] = field(default_factory=list)
    # Already sent under the task's progress key (by an earlier run, or a concurrent duplicate), with
    # who accepted each as the progress hash recorded it (Acceptance("") where it did not).
    skipped: dict[str, Acceptance] = field(default_factory=dict)
    attempts: int = 0
    # Another worker has the task now (this one's heartbeat lapsed and it was recovered): the rest
    # of its recipients are that worker's, and this worker must not record the task at all.
    taken_over: bool = False
    # Tasks whose units shared this unit's requests, itself included (cross-task batching).
    tasks_per_request: int = 1

    def settled(self) -> set[str]:
        """The numbers this outcome decides: sent, failed or left for later."""
        return {*self.sent, *self.failed, *self.unsettled}

    def share(self, mobiles: Sequence[str], *, tasks: int) -> UnitOutcome:
        """The part of a shared request's outcome that is about ``mobiles`` (one task's unit)."""
        sent, unsettled = set(self.sent), set(self.unsettled)
        mine = [m for m in mobiles if m in sent]
        return UnitOutcome(
            sent=mine,
            accepted={m: self.accepted[m] for m in mine if m in self.accepted},
            failed={m: self.failed[m] for m in mobiles if m in self.failed},
            unsettled=[m for m in mobiles if m in unsettled],
            attempts=self.attempts,
            tasks_per_request=tasks,
        )

    def merge(self, other: UnitOutcome) -> None:
        self.sent.extend(other.sent)
        self.accepted.update(other.accepted)
        self.failed.update(other.failed)
        self.unsettled.extend(other.unsettled)
        self.skipped.update(other.skipped)
        self.attempts += other.attempts
        self.taken_over = self.taken_over or other.taken_over
        self.tasks_per_request = max(self.tasks_per_request, other.tasks_per_request)
