"""One unit of a task (up to one provider batch of its recipients): send, record progress.

The recipients of a task with a progress key were reserved when it was taken (``intake.py``).
Two kinds of unit reserve again right before each request (``progress.py``): a contested unit,
whose recipients another claimant held (they are waited for while it lives, taken over once it is
dead, skipped once sent), and any unit of a task whose worker's heartbeat lapsed since the task was
taken (not renewed for half its TTL: the worker or Redis was frozen, and another worker may have
taken its tasks over meanwhile).
Whatever goes wrong in here that is not Redis (a provider or a bug) ends the unit's recipients as
``internal_error`` failures: the task still settles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from smsworker.deadletter import Failure
from smsworker.delivery import Hooks, RetryPolicy, UnitOutcome, deliver
from smsworker.errors import ShutdownRequested, TakenOver
from smsworker.inflight import TaskInFlight
from smsworker.intake import Unit
from smsworker.outages import OutageGuard
from smsworker.progress import Progress, Reserved, holder
from smsworker.providers.base import OutgoingMessage, Provider
from smsworker.queue import RedisQueue

# How long a claimant waits before asking again about recipients a live worker is sending.
WAIT_FIRST_S = 0.2
WAIT_MAX_S = 2.0


class UnitSender:
    def __init__(
        self,
        queue: RedisQueue,
        guard: OutageGuard,
        providers: Sequence[Provider],
        policy: RetryPolicy,
        *,
        worker_id: str,
        hooks: Hooks,
        sleep: Callable[[float], None],
        lease_lapsed: Callable[[float], bool],
        log: Any,
    ) -> None:
        self._queue = queue
        self._worker_id = worker_id
        self._progress = Progress(queue.client)
        self._guard = guard
        self._providers = providers
        self._policy = policy
        self._hooks = hooks
        self._sleep = sleep  # raises ShutdownRequested once the worker stops
        self._lease_lapsed = lease_lapsed  # since a moment: see Liveness.lapsed_since
        self._log = log

    def send(self, flight: TaskInFlight, unit: Unit) -> UnitOutcome:
        key = flight.progress_key
        lapsed = self._lease_lapsed(flight.started)
        if lapsed and self._taken_over(flight):
            return UnitOutcome(skipped=list(unit.mobiles))
        if key is None:
            return self._deliver(flight, unit.mobiles)
        if unit.contested or lapsed:
            return self._reserving(flight, key, unit.mobiles)
        part = self._deliver(flight, unit.mobiles)
        self._finish(key, flight.reservation, part)
        return part

    def _reserving(self, flight: TaskInFlight, key: str, mobiles: list[str]) -> UnitOutcome:
        """Reserve, send what is ours, wait for what a live claimant holds, take over from a dead one."""
        outcome = UnitOutcome()
        pending, wait_s = mobiles, WAIT_FIRST_S
        while pending:
            found = self._reserve(key, flight.reservation, pending)
            outcome.skipped.extend(found.sent)
            if found.mine:
                part = self._deliver(flight, found.mine)
                self._finish(key, flight.reservation, part)
                outcome.merge(part)
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

    def _taken_over(self, flight: TaskInFlight) -> bool:
        """Whether another worker has the task now. Asked only after this worker's heartbeat lapsed:
        the other may have sent it, settled it and deleted its progress, so only the processing
        list still says whose it is."""
        if self._guard.call(lambda: self._queue.holds(self._worker_id, flight.element), "reserve"):
            return False
        note = "another worker took it over while this one's heartbeat had lapsed"
        self._log.warning("task.taken_over", task_id=flight.task.task_id, note=note)
        return True

    def _finish(self, key: str, mine: str, part: UnitOutcome) -> None:
        release = [*part.failed, *part.unsettled]
        self._guard.call(lambda: self._progress.finish(key, mine, part.sent, release), "mark sent")

    def _reserve(self, key: str, mine: str, mobiles: list[str]) -> Reserved:
        return self._guard.call(lambda: self._progress.reserve(key, mine, mobiles), "reserve")

    def _take_over_dead(self, key: str, mine: str, held: dict[str, str]) -> bool:
        """Take over what dead workers held; True if there was any (then ask again at once)."""
        holders = sorted({h for h in map(holder, held.values()) if h is not None})
        beats = self._guard.call(lambda: self._queue.heartbeats(holders), "reserve") if holders else {}
        dead = {m: r for m, r in held.items() if holder(r) is None or beats.get(holder(r) or "") is None}
        if dead:
            self._log.warning("progress.taken_over", recipients=len(dead), holders=sorted(set(dead.values())))
            self._guard.call(lambda: self._progress.steal(key, mine, dead), "reserve")
        return bool(dead)

    def _deliver(self, flight: TaskInFlight, mobiles: list[str]) -> UnitOutcome:
        task = flight.task
        message = OutgoingMessage(task.template_id, task.content, tuple(mobiles), task.params, task.task_id)

        def sleep(seconds: float) -> None:  # before a retry: is the task still ours?
            self._sleep(seconds)
            if self._lease_lapsed(flight.started) and self._taken_over(flight):
                raise TakenOver()

        try:
            return deliver(self._providers, message, self._policy, sleep=sleep, log=self._log,
                           hooks=self._hooks)  # fmt: skip
        except Exception as exc:  # containment: a bug costs this unit's recipients, not the task
            self._log.exception("worker.send_failed", task_id=task.task_id, recipients=len(mobiles))
            error = f"{type(exc).__name__} while sending: {exc}"[:500]
            return UnitOutcome(failed={m: Failure("internal_error", error) for m in mobiles})
