"""One unit of a task (up to one provider batch of its recipients): send, record progress.

The recipients of a task with a progress key were reserved when it was read in (``intake.py``).
Two kinds of unit reserve again right before each request (``progress.py``): a contested unit,
whose recipients another claimant held (they are waited for while it lives, taken over once it is
dead, skipped once sent), and any unit of a task whose worker's heartbeat lapsed since the task was
read in (not renewed for half its TTL: the worker or Redis was frozen, and another worker may have
taken its tasks over meanwhile).
Whatever goes wrong in here that is not Redis (a provider or a bug) ends the unit's recipients as
``internal_error`` failures: the task still settles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from smsworker.delivery import RetryPolicy, deliver
from smsworker.errors import ShutdownRequested, TakenOver
from smsworker.outcome import Failure, UnitOutcome
from smsworker.providers.base import OutgoingMessage, Provider
from smsworker.store.progress import Mark, Reserved, holder
from smsworker.worker.events import WorkerEvents
from smsworker.worker.flight import Claimed, TaskInFlight
from smsworker.worker.grouping import Member
from smsworker.worker.guarded import RedisGaveUp, WorkerRedis
from smsworker.worker.intake import Unit
from smsworker.worker.marks import ProgressMarks
from smsworker.worker.pauses import PauseView

# How long a claimant waits before asking again about recipients a live worker is sending.
WAIT_FIRST_S = 0.2
WAIT_MAX_S = 2.0


class UnitSender:
    def __init__(
        self,
        redis: WorkerRedis,
        providers: Sequence[Provider],
        policy: RetryPolicy,
        *,
        events: WorkerEvents,
        pace: Callable[[str], None],
        sleep: Callable[[float], None],
        lease_lapsed: Callable[[float], bool],
        still_ours: Callable[[Claimed], bool],
        settle: Callable[[TaskInFlight], None],
        marks: ProgressMarks,
        log: Any,
        pauses: PauseView | None = None,
        chains: Mapping[str, Sequence[Provider]] | None = None,
        lane_pace: Callable[[str], None] | None = None,
    ) -> None:
        """``pauses``: what is paused (None: nothing ever is); ``chains``: a lane's own provider
        chain, where it has one; ``lane_pace``: a lane's own rate limit, taken after the provider's."""
        self._pauses = pauses
        self._chains = dict(chains or {})
        self._lane_pace = lane_pace
        self._redis = redis
        self._marks = marks  # progress marks, written in groups
        self._providers = providers
        self._policy = policy
        self._events = events
        self._pace = pace  # before each request: the shared rate limit
        self._settle = settle  # a task whose every unit is in
        self._sleep = sleep  # raises ShutdownRequested once the worker stops
        self._lease_lapsed = lease_lapsed  # since a moment: see Liveness.lapsed_since
        self._still_ours = still_ours  # see Ownership.still_ours
        self._log = log

    def run(self, flight: TaskInFlight, unit: Unit) -> None:
        """Send one unit and record its outcome; settle the task if it was the last unit."""
        try:
            outcome = self.send(flight, unit)
        except RedisGaveUp:
            return  # Redis stayed away past the shutdown deadline; the task is recovered later
        if flight.record(outcome):
            self._settle(flight)

    def run_group(self, members: Sequence[Member]) -> None:
        """Send units of several tasks that carry the same message (``grouping.py``) in shared
        requests; each task records its own share of the answer, and settles on its own."""
        if len(members) == 1:
            self.run(members[0].flight, members[0].unit)
            return
        try:
            outcomes = self.send_group(members)
        except RedisGaveUp:
            return  # as in run: the tasks stay in the processing list and are recovered later
        for member, outcome in zip(members, outcomes, strict=True):
            if member.flight.record(outcome):
                self._settle(member.flight)

    def send_group(self, members: Sequence[Member]) -> list[UnitOutcome]:
        """One outcome per member. A member whose worker's heartbeat lapsed since its task was read
        goes on its own (``send``: it may have been taken over). No member has a progress key, so
        none waits for another claimant here."""
        alone = [self._lease_lapsed(m.flight.started) for m in members]
        together = [m for m, lapsed in zip(members, alone, strict=True) if not lapsed]
        shared = iter(self._send_shared(together) if together else [])
        return [
            self.send(m.flight, m.unit) if lapsed else next(shared)
            for m, lapsed in zip(members, alone, strict=True)
        ]

    def _send_shared(self, members: Sequence[Member]) -> list[UnitOutcome]:
        first = members[0].flight.task
        mobiles = tuple(n for member in members for n in member.unit.mobiles)
        message = OutgoingMessage(first.template_id, first.content, mobiles, first.params, None)
        lost: set[int] = set()  # members found taken over while waiting for a retry
        flights = [m.flight for m in members]
        outcome = self._deliver_contained(message, self._retry_sleep(flights, lost), flights)
        parts = []
        for i, member in enumerate(members):
            numbers = member.unit.mobiles
            part = outcome.share(numbers, tasks=len(members))
            # Members have no progress key (grouping.py): nothing to mark. Left undecided when a
            # retry stopped because a member was taken over: a lost member's numbers are the other
            # worker's now; the others' are sent on their own.
            part.taken_over = i in lost
            rest = [] if i in lost else [n for n in numbers if n not in part.settled()]
            if rest:
                part.merge(self.send(member.flight, Unit(rest)))
            parts.append(part)
        return parts

    def send(self, flight: TaskInFlight, unit: Unit) -> UnitOutcome:
        key = flight.progress_key
        lapsed = self._lease_lapsed(flight.started)
        if not self._still_ours(flight):
            part = UnitOutcome(taken_over=True)
        elif key is not None and (unit.contested or lapsed):
            return self._reserving(flight, key, unit.mobiles)
        else:
            part = self._request(flight, unit.mobiles)
        if key is not None:
            self._finish(key, flight.reservation, part, unit.mobiles)
        return part

    def _reserving(self, flight: TaskInFlight, key: str, mobiles: list[str]) -> UnitOutcome:
        """Reserve, send what is ours, wait for what a live claimant holds, take over from a dead one."""
        outcome = UnitOutcome()
        pending, wait_s = mobiles, WAIT_FIRST_S
        while pending:
            found = self._reserve(key, flight.reservation, pending)
            outcome.skipped.update(found.sent)
            if found.ours:
                part = self._request(flight, found.ours)
                self._finish(key, flight.reservation, part, found.ours)
                outcome.merge(part)
                if part.taken_over:  # what others hold is not ours to wait for any more
                    return outcome
                if part.unsettled:  # stopping: the rest waits for the task's next claimant
                    outcome.unsettled.extend(found.held)
                    return outcome
            pending = list(found.held)
            if pending and not self._take_over_dead(key, flight.reservation, found.held):
                try:
                    self._sleep(wait_s)
                except ShutdownRequested:
                    outcome.unsettled.extend(pending)
                    return outcome
                wait_s = min(wait_s * 2, WAIT_MAX_S)
        return outcome

    def _finish(self, key: str, reservation: str, part: UnitOutcome, mobiles: list[str]) -> None:
        """Mark what was sent; release our reservations on the rest (failed, left for later, or
        another worker's since it took the task over), so that whoever sends them next need not
        wait for this worker, which is alive and would hold them for good."""
        sent = set(part.sent)
        accepted = tuple((m, a) for m, a in part.accepted.items() if a.message_id)
        self._marks.write(
            Mark(key, reservation, tuple(part.sent), tuple(m for m in mobiles if m not in sent), accepted)
        )

    def _reserve(self, key: str, reservation: str, mobiles: list[str]) -> Reserved:
        return self._redis.reserve(key, reservation, mobiles)

    def _take_over_dead(self, key: str, reservation: str, held: dict[str, str]) -> bool:
        """Take over what dead workers held; True if there was any (then ask again at once)."""
        holders = sorted({h for h in map(holder, held.values()) if h is not None})
        beats = self._redis.heartbeats(holders) if holders else {}
        dead = {m: r for m, r in held.items() if holder(r) is None or beats.get(holder(r) or "") is None}
        if dead:
            self._log.warning("progress.taken_over", recipients=len(dead), holders=sorted(set(dead.values())))
            self._redis.steal(key, reservation, dead)
        return bool(dead)

    def _request(self, flight: TaskInFlight, mobiles: list[str]) -> UnitOutcome:
        """Requests for ``mobiles`` of one task alone: its id travels with them."""
        task = flight.task
        message = OutgoingMessage(task.template_id, task.content, tuple(mobiles), task.params, task.task_id)
        return self._deliver_contained(message, self._retry_sleep([flight], set()), [flight])

    def _retry_sleep(self, flights: Sequence[TaskInFlight], lost: set[int]) -> Callable[[float], None]:
        """The wait before a retry, then the question whether ``flights`` are still ours: the indices
        of those that are not go into ``lost``, and the retries stop (``TakenOver``)."""

        def sleep(seconds: float) -> None:
            self._sleep(seconds)
            lost.update(i for i, f in enumerate(flights) if i not in lost and not self._still_ours(f))
            if lost:
                raise TakenOver()

        return sleep

    def _open_chain(self, flights: Sequence[TaskInFlight]) -> Sequence[Provider] | None:
        """The providers these tasks' lane sends through, once nothing of theirs is paused (all,
        the lane, their campaigns, every provider of the chain); a paused provider is left out of
        the chain. None: the worker stopped while waiting."""
        lane = flights[0].lane  # units of one lane only share a request (grouping.py)
        chain = self._chains.get(lane) or self._providers
        pauses = self._pauses
        if pauses is None:
            return chain
        names = [p.name for p in chain]
        if not pauses.wait_open(
            lambda: any(pauses.blocks(f.lane, names, f.task.campaign) for f in flights), self._sleep
        ):
            return None
        return [p for p in chain if not pauses.provider_paused(p.name)] or chain

    def _deliver_contained(
        self, message: OutgoingMessage, sleep: Callable[[float], None], flights: Sequence[TaskInFlight]
    ) -> UnitOutcome:
        """``deliver`` with containment: a bug while sending costs these recipients
        (``internal_error``), not the task. Waits first while what it sends is paused; a stop
        meanwhile leaves them unsettled, for the task's next claimant."""
        chain = self._open_chain(flights)
        if chain is None:
            return UnitOutcome(unsettled=list(message.mobiles))
        lane, lane_pace = flights[0].lane, self._lane_pace

        def pace(provider: str) -> None:
            self._pace(provider)
            if lane_pace is not None:
                lane_pace(lane)

        try:
            return deliver(
                chain,
                message,
                self._policy,
                sleep=sleep,
                log=self._log,
                events=self._events,
                pace=pace,
            )
        except Exception as exc:
            self._log.exception(
                "worker.send_failed", task_id=message.task_id, recipients=len(message.mobiles)
            )
            error = f"{type(exc).__name__} while sending: {exc}"[:500]
            return UnitOutcome(failed={m: Failure("internal_error", error) for m in message.mobiles})
