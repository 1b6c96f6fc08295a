"""One traffic run: the queue, the operators, the clock and one worker at a time (``TrafficRig``),
driven by steps (``traffic_steps.py``), with what the test saw and the checks at its end."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict

import fakeredis

from smsworker.delivery import RetryPolicy
from smsworker.errors import PermanentProviderError
from smsworker.providers.base import OutgoingMessage
from smsworker.store.control import TrafficControl
from smsworker.store.queue import RedisQueue
from smsworker.store.stamps import unstamp
from smsworker.worker.flight import TaskInFlight
from smsworker.worker.lanes import Lane
from smsworker.worker.options import WorkerOptions
from tests.support.dead_letters import dead_lettered_mobiles
from tests.support.traffic_steps import (
    FAR,
    LANE_OF,
    MAX_RECOVERIES,
    T0,
    Cancel,
    CancelCampaign,
    Claim,
    Clock,
    Commit,
    Crash,
    Pause,
    Push,
    Pushed,
    Read,
    Resume,
    Send,
    Step,
    Takeover,
    Tick,
    Watched,
    number,
    quiet_until,
    task_index,
)
from tests.support.worker_rig import TrafficRig


class Traffic:
    """The queue, the operators, the clock and the worker of one run, and what the test saw."""

    def __init__(self, batch: int, *, strict: bool = True) -> None:
        """``strict`` False: what a recovery cannot know (``KNOWN`` in the test) is let
        pass, so a search finds others."""
        self.strict = strict
        self.now = float(T0)
        self.redis = fakeredis.FakeRedis()
        self.queue = RedisQueue(self.redis, "sms_queue", "{sms_queue}:dead", use_blmove=True)
        self.control = TrafficControl.of(self.queue)
        self.provider = Watched(batch, self.check)
        lanes = (
            Lane("otp", templates=("1",)),
            Lane("bulk", templates=("2",), quiet_until=quiet_until),
            Lane("default"),
        )
        self.options = WorkerOptions(
            retry=RetryPolicy(2, 0.001, 0.001),
            poison_after=5,
            shutdown_timeout_s=5.0,
            lanes=lanes,
            now=self.clock,
        )
        self.tasks: list[Pushed] = []
        self.step_no = 0
        self.violations: list[str] = []
        # E.164 numbers a recovered worker may have sent unrecorded: once more for each recovery.
        self.again: Counter[str] = Counter()
        self.known: set[str] = set()  # numbers the known fault may end both sent and cancelled
        self.recoveries = 0
        self.first_claims: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        self.cancelled_at: dict[str, int] = {}  # "id:<id>" | "campaign:<name>" -> step
        self.read_at: dict[TaskInFlight, tuple[float, int]] = {}  # clock and step of its read
        self.rig = self.new_rig()

    def clock(self) -> float:
        return self.now

    def new_rig(self) -> TrafficRig:
        worker = f"w{self.recoveries}:1:aaaa"
        rig = TrafficRig(self.queue, self.provider, worker_id=worker, options=self.options)
        rig.unblock = self.resume_all
        return rig

    def run(self, steps: list[Step]) -> None:
        for step in steps:
            self.step_no += 1
            self.apply(step)
        self.drain()
        self.check_ends()

    def apply(self, step: Step) -> None:  # noqa: C901 - one arm per step, nothing else
        rig = self.rig
        match step:
            case Push():
                self.push(step)
            case Claim(read=read):
                self.claim(read=read)
            case Read():
                self.read()
            case Send(unit=unit, together=together):
                if rig.pending:  # one that waits on a pause runs others meanwhile (TrafficRig)
                    rig.send(unit, lapsed=False, together=together)
            case Commit():
                rig.commit()
            case Crash():
                self.crash()
            case Takeover(stamped=stamped):
                self.takeover(stamped)
            case Pause(scope=scope):
                self.control.pause(scope, "test")
                rig.parts.ticker.tick()
            case Resume(scope=scope, tick=tick):
                self.control.resume(scope)
                if tick:
                    rig.parts.ticker.tick()
            case Cancel(task=k):
                with_id = [t.task_id for t in self.tasks if t.task_id is not None]
                if with_id:
                    task_id = with_id[k % len(with_id)]
                    self.control.cancel_task(task_id, "test")
                    self.cancelled_at.setdefault(f"id:{task_id}", self.step_no)
            case CancelCampaign(name=name):
                self.control.cancel_campaign(name, "test")
                self.cancelled_at.setdefault(f"campaign:{name}", self.step_no)
            case Clock(seconds=seconds):
                self.now += seconds
            case Tick():
                rig.parts.ticker.tick()

    def push(self, step: Push) -> None:
        index = len(self.tasks)
        mobiles = [number(index, r) for r in range(step.size)]
        template = {"t1": 1, "t2": 2}.get(step.how, 3)
        data: dict[str, object] = {"template_id": template, "mobiles": mobiles, "content": "x"}
        if step.how.startswith("field:"):
            data["lane"] = step.how.removeprefix("field:")
        task_id = f"task-{index}" if step.with_id else None
        if task_id is not None:
            data["id"] = task_id
        send_at = None if step.send_in is None else self.now + step.send_in
        if send_at is not None:
            data["send_at"] = send_at
        if step.campaign is not None:
            data["campaign"] = step.campaign
        if step.refused:
            self.provider.fail("+86" + mobiles[0], *[PermanentProviderError("refused", code="R")] * 50)
        raw = json.dumps(data).encode()
        if step.how.startswith("direct:"):
            lane, path = step.how.removeprefix("direct:"), "direct"
            self.redis.lpush(self.queue.keys.lane(lane), raw)
        else:
            lane, path = LANE_OF[step.how], "queue"
            self.queue.push(raw)
        invalid = step.how == "field:nope" or step.send_in == FAR
        self.tasks.append(Pushed(index, mobiles, lane, path, task_id, send_at, step.campaign, invalid))

    def claim(self, *, read: bool) -> bool:
        """Claim one element (what an earlier claim brought is read in first); note each task's
        first claim in its lane."""
        self.read()
        got = self.rig.claim(read=False)
        for element in self.rig.unread:
            task = self.tasks[self.index_of(element)]
            firsts = self.first_claims[(task.lane, task.path)]
            if all(task.index not in f for f in self.first_claims.values()):
                firsts.append(task.index)
        if read:
            self.read()
        return got

    def read(self) -> None:
        self.rig.read()
        for flight, _ in self.rig.pending:
            self.read_at.setdefault(flight, (self.now, self.step_no))

    @staticmethod
    def index_of(element: bytes) -> int:
        mobiles = json.loads(unstamp(element).raw)["mobiles"]
        return task_index(str(mobiles[0]))

    def crash(self) -> None:
        if self.recoveries >= MAX_RECOVERIES:
            return
        self.recoveries += 1
        self.note_in_flight(self.rig.worker_id, sent_only=True)
        self.queue.requeue_worker(self.rig.worker_id, crashed=True)
        self.rig = self.new_rig()

    def takeover(self, stamped: bool) -> None:
        if self.recoveries >= MAX_RECOVERIES:
            return
        self.recoveries += 1
        self.note_in_flight(self.rig.worker_id, sent_only=False)
        self.rig.recovered_at.append(time.monotonic())
        self.rig.recover(stamped=stamped)

    def note_in_flight(self, worker_id: str, *, sent_only: bool) -> None:
        """The numbers of the tasks in a recovered list without progress marks (no id, one request):
        sent already and not recorded (``sent_only``), or about to be sent by a live worker's unit
        that does not yet know, they may be sent once more."""
        for element in self.queue.processing(worker_id):
            stamped = unstamp(element)
            task = json.loads(stamped.raw)
            numbers = {"+86" + m for m in task["mobiles"]}
            if stamped.token is not None or "id" in task:
                if not self.strict:
                    self.known |= numbers
                    if "id" not in task:  # what its next run may send again, or count again
                        self.again.update(m for m in numbers if m in self.provider.accepted)
                continue
            self.again.update(m for m in numbers if m in self.provider.accepted or not sent_only)

    def resume_all(self) -> None:
        for scope in self.queue.paused_scopes():
            self.control.resume(scope)
        self.rig.parts.ticker.tick()

    def check(self, message: OutgoingMessage) -> None:
        """Before the provider takes a request: nothing of it paused, early, quiet or cancelled.
        (What goes wrong in here is noted: raised, the worker would take it for the provider's.)"""
        try:
            self.check_request(message)
        except Exception as exc:
            self.violations.append(f"the check failed: {exc!r}")

    def check_request(self, message: OutgoingMessage) -> None:
        members = self.rig.sending[-1] if self.rig.sending else []
        paused = set(self.queue.paused_scopes())
        for mobile in message.mobiles:
            task = self.tasks[task_index(mobile)]
            owners = [m.flight for m in members if mobile in m.unit.mobiles]
            scopes = {"all", f"lane:{task.lane}", "provider:fake", f"campaign:{task.campaign}"}
            if scopes & paused:
                self.violations.append(f"{mobile} sent while {sorted(scopes & paused)} paused")
            if task.send_at is not None and self.now < task.send_at:
                self.violations.append(f"{mobile} sent at {self.now}, before its send_at {task.send_at}")
            if len(owners) != 1:
                self.violations.append(f"{mobile} sent by {len(owners)} units of the group being sent")
            for flight in owners:
                self.check_flight(mobile, task, flight)

    def check_flight(self, mobile: str, task: Pushed, flight: TaskInFlight) -> None:
        read_now, read_step = self.read_at[flight]
        if flight.task.send_at is not None and self.now < flight.task.send_at:
            self.violations.append(f"{mobile} sent at {self.now}, before {flight.task.send_at}")
        if task.lane == "bulk" and quiet_until(mobile, read_now) is not None:
            self.violations.append(f"{mobile} read in at {read_now}, inside its quiet hours, and sent")
        for key in (f"id:{task.task_id}", f"campaign:{task.campaign}"):
            if self.cancelled_at.get(key, read_step) < read_step:
                self.violations.append(f"{mobile} read in after its {key} was cancelled, and sent")

    def drain(self) -> None:
        """Everything resumed, the worker finishes what it holds and takes everything left; the
        clock jumps to each scheduled task's time."""
        self.resume_all()
        rig = self.rig
        for _ in range(1000):
            self.read()
            while rig.pending:
                rig.send(0, lapsed=False)
            rig.commit()
            if self.claim(read=True):
                continue
            due = self.redis.zrange(self.queue.keys.scheduled, 0, 0, withscores=True)
            if not due:
                return
            self.now = max(self.now, float(due[0][1]))
            rig.parts.ticker.tick()
        raise AssertionError("the queue did not drain")

    def check_ends(self) -> None:
        assert self.violations == []
        keys, r = self.queue.keys, self.redis
        waiting = [keys.queue, keys.scheduled, *(keys.lane(n) for n in ("otp", "bulk", "default"))]
        waiting += [keys.parked(c) for c in ("c1", "c2")]
        waiting += [keys.processing(f"w{n}:1:aaaa") for n in range(self.recoveries + 1)]
        assert {k: r.exists(k) for k in waiting} == dict.fromkeys(waiting, 0), "left waiting"
        for (lane, path), firsts in self.first_claims.items():
            pushed = [t.index for t in self.tasks if (t.lane, t.path) == (lane, path)]
            assert firsts == pushed, f"lane {lane} ({path} pushes) handed out out of order"
        dead: Counter[str] = Counter()
        for envelope in self.queue.dead_letters():
            dead.update("+86" + m for m in dead_lettered_mobiles([envelope]))
        cancelled = self.check_each(dead)
        counted = int(r.hget(keys.stats, "cancelled") or 0)
        loose = len(set(self.again) | self.known)
        assert cancelled <= counted <= cancelled + loose, f"{counted} counted cancelled, {cancelled} were"
        # A recovered task's counts after a crash: exact in the explicit cases (strict), loose in the
        # search, where a task without marks may be sent again and counted once.
        if self.strict or not self.recoveries:
            self.check_campaigns(dead)

    def ended(self, task: Pushed, dead: Counter[str]) -> dict[str, str]:
        """Each number of ``task`` (E.164) and how it ended; asserts it ended once."""
        ends = {}
        for m in ("+86" + n for n in task.mobiles):
            sent, died = self.provider.accepted[m], dead[m]
            if sent + died == 0:
                cancels = {f"id:{task.task_id}", f"campaign:{task.campaign}"} & set(self.cancelled_at)
                assert cancels, f"{m} neither sent, nor dead-lettered, nor cancelled"
                ends[m] = "cancelled"
            else:
                most = 1 + self.again[m]
                assert sent + died <= most, f"{m} sent {sent} times and dead-lettered {died} times"
                ends[m] = "sent" if sent else "dead"
        return ends

    def check_each(self, dead: Counter[str]) -> int:
        """Each recipient ended once, as its task's status hash says; how many were cancelled."""
        cancelled = 0
        for task in self.tasks:
            ends = self.ended(task, dead)
            cancelled += sum(1 for end in ends.values() if end == "cancelled")
            if task.task_id is None or task.invalid:
                continue
            status = self.redis.hgetall(self.queue.keys.status(task.task_id))
            for m, end in ends.items():
                if m not in self.again and m not in self.known:
                    state = json.loads(status.get(m.encode(), b"{}")).get("state")
                    assert state == end, f"{m} ended {end}, its status says {state}"
        return cancelled

    def check_campaigns(self, dead: Counter[str]) -> None:
        for name in ("c1", "c2"):
            ends: Counter[str] = Counter()
            for task in self.tasks:
                if task.campaign == name and not task.invalid:
                    ends.update(self.ended(task, dead).values())
            counts = self.redis.hgetall(self.queue.keys.campaign(name))
            got = {k: int(counts.get(k.encode(), 0)) for k in ("sent", "dead", "cancelled", "scheduled")}
            assert got == {
                "sent": ends["sent"],
                "dead": ends["dead"],
                "cancelled": ends["cancelled"],
                "scheduled": 0,
            }
