"""A claimed element becomes a task in flight and its units, or a rejection with a reason.

Before parsing, the stamp is read: an element that workers kept dying on (``poison_after`` crashes)
is rejected unread, so whatever in it kills a process (a parser or library bug, a segfault, an OOM)
cannot kill the next one. The caller turns any exception from ``take`` into a rejection too.

After parsing, in this order, what decides whether and when it is sent: a ``lane`` field naming no
declared lane is rejected; a task cancelled (by its id or its campaign) ends ``cancelled``; one of a
paused campaign is parked whole; one whose ``send_at`` is ahead waits in the scheduled set; and
recipients in their quiet hours (the lane's) wait there until the hours end, each group of them a
copy of the task with only them. Only what is left is reserved and sent now.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smsworker.errors import InvalidTask
from smsworker.outcome import Acceptance, Failure
from smsworker.providers.base import Provider, batches
from smsworker.send_time import check_horizon
from smsworker.store.progress import Mark, reservation
from smsworker.store.stamps import PREFIX, new_token, stamp, unstamp
from smsworker.task import SmsTask, TaskParser
from smsworker.worker.flight import TaskInFlight
from smsworker.worker.guarded import RedisGaveUp, WorkerRedis
from smsworker.worker.lanes import DEFAULT, Lane
from smsworker.worker.pauses import PauseView


@dataclass(frozen=True)
class Rejected:
    """An element to dead-letter whole."""

    element: bytes  # as it sits in the processing list
    raw: bytes  # the producer's bytes
    problem: InvalidTask


@dataclass(frozen=True)
class Unit:
    """Recipients for one sender: one provider batch, or those another claimant holds (contested:
    reserved again before each request, after waiting for the holder)."""

    mobiles: list[str]
    contested: bool = False


@dataclass(frozen=True)
class Accepted:
    flight: TaskInFlight
    units: list[Unit]


class Intake:
    def __init__(
        self,
        redis: WorkerRedis,
        parser: TaskParser,
        provider: Provider,
        *,
        poison_after: int,
        log: Any,
        lanes: Mapping[str, Lane] | None = None,
        pauses: PauseView | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        """``lanes``: the declared lanes by name (None or empty: none declared); ``pauses``: what is
        paused (None: nothing ever is); ``now``: the clock of send_at and quiet hours."""
        self._lanes = dict(lanes or {})
        self._pauses = pauses
        self._now = now
        self._redis = redis
        self._parser = parser
        self._provider = provider  # the first of the chain sets the batch size and the segments
        self._poison_after = poison_after
        self._log = log

    def suspect(self, element: bytes) -> bool:
        """Whether a worker died holding ``element`` before, and it is read all the same: then it is
        best started alone. At ``poison_after`` it is set aside unread, which cannot kill anything."""
        return 0 < unstamp(element).crashes < self._poison_after

    def read(self, element: bytes, lane: str = "default") -> Accepted | Rejected:
        """Whatever the element holds ends here as a task in flight or a rejection: an exception
        while reading it (a bug, a library choking on odd input) is contained as ``internal_error``.
        Only ``RedisGaveUp`` passes: the element then stays in the processing list."""
        try:
            return self._read(element, lane)
        except RedisGaveUp:
            raise
        except Exception as exc:
            self._log.exception("task.intake_failed")
            error = f"{type(exc).__name__} while reading the task: {exc}"[:500]
            return Rejected(element, unstamp(element).raw, InvalidTask("internal_error", error))

    def _read(self, element: bytes, lane_name: str) -> Accepted | Rejected:
        stamped = unstamp(element)
        if stamped.crashes >= self._poison_after:
            return Rejected(element, stamped.raw, poisoned(stamped.crashes))
        if stamped.token is None and element.startswith(PREFIX):
            return Rejected(element, element, FORGED)
        try:
            task = self._parser.parse(stamped.raw)
            self._check_lane(task)
            now = self._now() if self._now is not None else 0.0
            if task.send_at is not None and self._now is not None:
                check_horizon(task.send_at, now)
        except InvalidTask as exc:
            return Rejected(element, stamped.raw, exc)
        lane = self._lanes.get(lane_name, DEFAULT)
        decided = self._decide(element, stamped.token, stamped.raw, task, lane, now)
        if decided is not None:
            return Accepted(decided, [])
        return self._to_send(element, stamped.token, stamped.raw, task, lane, now)

    def _check_lane(self, task: SmsTask) -> None:
        if task.lane is None or task.lane in self._lanes or (not self._lanes and task.lane == "default"):
            return
        declared = ", ".join(self._lanes) or "default (no lanes are declared)"
        raise InvalidTask("invalid_task", f"lane {task.lane!r} is not declared; the lanes are: {declared}")

    def _decide(
        self, element: bytes, token: str | None, raw: bytes, task: SmsTask, lane: Lane, now: float
    ) -> TaskInFlight | None:
        """A task that sends nothing now (cancelled, parked, scheduled); None: it is to be sent."""

        def settled_now() -> TaskInFlight:  # made only for such a task: most are sent
            return TaskInFlight(element, raw, task, None, 0, lane=lane.name, failed=self._invalid(task))

        if (task.task_id is not None or task.campaign is not None) and self._redis.cancelled(
            task.task_id, task.campaign
        ):
            flight = settled_now()
            self._cancel(flight, token)
            return flight
        paused = self._pauses.scopes if self._pauses is not None else frozenset()
        if task.campaign is not None and f"campaign:{task.campaign}" in paused:
            flight = settled_now()
            flight.parked = True
            return flight
        if task.send_at is not None and self._now is not None and task.send_at > now:
            flight = settled_now()
            mobiles = tuple(task.mobiles)
            flight.later = [(task.send_at, self._member(lane, task, len(mobiles), raw), mobiles, "scheduled")]
            return flight
        return None

    def _cancel(self, flight: TaskInFlight, token: str | None) -> None:
        """End a cancelled task's recipients ``cancelled``, but for those an earlier run of it (or a
        task with its id) sent already: they stay sent, and are recorded so."""
        task = flight.task
        progress_key = self._redis.keys.progress(task.task_id, token)
        if progress_key is None:
            flight.cancelled = list(task.mobiles)
            return
        flight.progress_key = progress_key
        flight.reservation = reservation(self._redis.worker_id, secrets.token_hex(4))
        found = self._redis.reserve(progress_key, flight.reservation, list(task.mobiles))
        flight.skipped = found.sent
        # Held by another claimant (a worker that was taken for dead mid-send): a cancel cannot
        # know whether that request went out; it is recorded cancelled, as a cancel meant.
        flight.cancelled = found.ours + list(found.held)

    def _quiet(
        self, task: SmsTask, lane: Lane, now: float, mobiles: list[str]
    ) -> list[tuple[float, bytes, tuple[str, ...], str]]:
        """Of ``mobiles``, those in their quiet hours, by when the hours end: each group a copy of
        the task with only them, due then."""
        if lane.quiet_until is None or self._now is None:
            return []
        waiting: defaultdict[float, list[str]] = defaultdict(list)
        for mobile in mobiles:
            until = lane.quiet_until(mobile, now)
            if until is not None:
                waiting[until].append(mobile)
        return [
            (until, self._member(lane, task, len(ms), task.deferred_copy(ms, until)), tuple(ms), "deferred")
            for until, ms in sorted(waiting.items())
        ]

    def _member(self, lane: Lane, task: SmsTask, recipients: int, raw: bytes) -> bytes:
        """The scheduled set's member for ``raw``: a token (each its own), the lane to enter (none
        without lanes: the queue), the campaign, how many recipients, the bytes."""
        lane_name = lane.name if self._lanes else ""
        head = f"{secrets.token_hex(8)}\n{lane_name}\n{task.campaign or ''}\n{recipients}\n"
        return head.encode("utf-8") + raw

    def _to_send(
        self,
        element: bytes,
        token: str | None,
        raw: bytes,
        task: SmsTask,
        lane: Lane,
        now: float,
    ) -> Accepted:
        progress_key = self._redis.keys.progress(task.task_id, token)
        reservation_id = reservation(self._redis.worker_id, secrets.token_hex(4))
        todo, held, skipped = self._reserve(progress_key, reservation_id, list(task.mobiles))
        # Only what is ours to send now may wait for its quiet hours: what an earlier run sent stays
        # sent (a copy would send it again), and a deferred number's reservation is given back, for
        # the copy to take when due.
        later = self._quiet(task, lane, now, todo)
        waiting = {m for _, _, ms, _ in later for m in ms}
        if waiting:
            todo = [m for m in todo if m not in waiting]
            if progress_key is not None:
                self._redis.finish([Mark(progress_key, reservation_id, (), tuple(sorted(waiting)))])
        units = [Unit(chunk) for chunk in batches(todo, self._provider.max_batch_size)]
        if len(units) > 1 and progress_key is None:
            element, progress_key = self._stamp(element, raw)  # a fresh token: nobody else has it
        if held:
            units.append(Unit(held, contested=True))
        flight = TaskInFlight(
            element,
            raw,
            task,
            progress_key,
            len(units),
            reservation=reservation_id if progress_key else "",
            skipped=skipped,
            failed=self._invalid(task),
            segments_each=self._provider.segments(task.content),
            lane=lane.name,
            later=later,
        )
        return Accepted(flight, units)

    def _reserve(
        self, progress_key: str | None, reservation_id: str, mobiles: list[str]
    ) -> tuple[list[str], list[str], dict[str, Acceptance]]:
        """The recipients to send, those another claimant holds, and those sent already.

        Someone else may be on them: a task pushed with the same id, or the previous owner of a task
        that was put back. So all are reserved now, in one call; without a progress key, all are ours.
        """
        if progress_key is None:
            return mobiles, [], {}
        found = self._redis.reserve(progress_key, reservation_id, mobiles)
        return found.ours, list(found.held), found.sent

    def _invalid(self, task: SmsTask) -> dict[str, Failure]:
        region = self._parser.default_region
        return {
            m: Failure("invalid_mobile", f"{m} is not a valid phone number (default region {region})")
            for m in task.invalid_mobiles
        }

    def _stamp(self, element: bytes, raw: bytes) -> tuple[bytes, str | None]:
        """Stamp a task that takes several requests, so its progress can be recorded."""
        token = new_token()
        stamped = stamp(raw, token)
        # The same token on a retry: a stamp whose reply was lost is recognised, not done twice.
        done = self._redis.stamp(element, stamped)
        if not done:
            self._log.warning("task.not_stamped", note="progress is not recorded for this task")
            return element, None
        return stamped, self._redis.keys.progress(None, token)


FORGED = InvalidTask(
    "invalid_json",
    "starts with smsworker's internal stamp prefix but carries no valid stamp: not a task. (A task "
    "stamped by smsworker 0.1 and put back during the upgrade looks like this: its JSON follows "
    "the first line; push that again.)",
)


def poisoned(crashes: int) -> InvalidTask:
    return InvalidTask(
        "poison",
        f"a worker died {crashes} times while holding this task (killed, out of memory or crashed); "
        "it is set aside unread so the others get sent. Find the cause in the logs, then "
        "`smsworker dlq replay --reason poison`.",
    )
