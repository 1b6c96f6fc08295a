"""One worker's parts, built by the worker's own wiring (``build_parts``), driven one step at a time.

For property tests that search interleavings the worker's threads would only make by chance: a
claim, one unit's send (alone or sharing a request), a commit of what finished, a recovery of the
worker's processing list by another worker, each at a moment the test chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import strategies as st

from smsworker.delivery import RetryPolicy
from smsworker.store.queue import RedisQueue
from smsworker.task import TaskParser
from smsworker.testing import FakeProvider
from smsworker.worker.events import WorkerEvents
from smsworker.worker.flight import TaskInFlight
from smsworker.worker.grouping import Grouper, Member
from smsworker.worker.intake import Unit
from smsworker.worker.options import WorkerOptions
from smsworker.worker.parts import Seams, build_parts
from tests.support.logs import LogCapture

ME = "me:1:aaaa"
STEPS = ("claim", "read", "send", "recover", "commit")


@dataclass
class Rig:
    """One worker's parts, wired as ``Worker`` wires them, driven one step at a time."""

    queue: RedisQueue
    provider: FakeProvider
    logs: LogCapture = field(default_factory=LogCapture)
    worker_id: str = ME
    lapsed: bool = False  # what the parts are told about this worker's heartbeat
    unread: list[bytes] = field(default_factory=list)  # claimed, not read in yet
    pending: list[tuple[TaskInFlight, Unit]] = field(default_factory=list)
    idle_waits: int = 0
    # Tasks handed to the settler and not yet committed, and those committed.
    settling: list[TaskInFlight] = field(default_factory=list)
    committed: list[TaskInFlight] = field(default_factory=list)
    # What else happens while a unit waits before a retry (other threads, other processes).
    elsewhere: Callable[[], None] = lambda: None
    # Whether a unit waiting may run a contested unit meanwhile. On threads, a contested unit waits
    # for its holder and the holder goes on; here the holder may be the unit below on the stack,
    # waiting for its retry, and would never go on: a wait no real worker has. Off where retries are.
    nest_contested: bool = True
    # The worker's options (lanes, clock); None: two quick attempts, poison after five crashes.
    options: WorkerOptions | None = None
    # The groups being sent, innermost last (a unit waiting runs others meanwhile): what a fake
    # provider may ask about the request it is given.
    sending: list[list[Member]] = field(default_factory=list)

    def __post_init__(self) -> None:
        options = self.options or WorkerOptions(
            retry=RetryPolicy(2, 0.001, 0.001), poison_after=5, shutdown_timeout_s=5.0
        )
        parser = TaskParser(default_region="CN", max_payload_bytes=65536, max_recipients=100)
        seams = Seams(
            redis_wait=lambda s: None,
            sleep=self.meanwhile,
            lapsed_since=self.lapsed_since,
            settled=lambda flight: self.settling.append(flight),
        )
        self.parts = build_parts(
            self.queue,
            [self.provider],
            parser,
            options,
            self.logs.logger,
            worker_id=self.worker_id,
            events=WorkerEvents(),
            seams=seams,
        )
        # A closed settler's thread commits what is pending, then ends: so each ``commit`` below is
        # one commit, at the moment the test chooses, and outcomes wait for it as they would wait
        # behind a slow Redis.
        self.parts.settler.close()
        self.parts.ticker.tick()  # what is paused, read as the worker reads it before its first claim
        self.beat()

    def lapsed_since(self, since: float) -> bool:
        """What the parts are told about this worker's heartbeat since ``since`` (monotonic)."""
        return self.lapsed

    def step(self, step: str, data: st.DataObject) -> None:
        if step == "claim":
            self.claim(read=data.draw(st.booleans(), label="read at once"))
        elif step == "read":
            self.lapsed = data.draw(st.booleans(), label="lapsed")
            self.read()
        elif step == "send" and self.pending:
            self.send(
                data.draw(st.integers(0, 100), label="unit"),
                lapsed=data.draw(st.booleans(), label="lapsed"),
                together=data.draw(st.integers(1, 3), label="together"),
            )
        elif step == "recover":
            self.recover(stamped=data.draw(st.booleans(), label="stamped"))
        elif step == "commit":
            self.commit()

    def claim(self, *, read: bool = True) -> bool:
        """Claim one element, as the fetch thread does, and read it in unless ``read`` is False
        (then ``read`` does, later); False if the queue is empty. What an earlier claim brought is
        read in first: the fetch thread reads a claim in whole before it claims again."""
        self.read()
        elements = self.parts.claims.claim(1, block=False)
        self.unread += elements
        if elements and read:
            self.read()
        return bool(elements)

    def read(self) -> None:
        """Read in what was claimed and not read yet; its units wait to be sent."""
        grouper = Grouper(self.provider.max_batch_size)
        for element in self.unread:
            self.parts.claims.read_in(element, grouper)
        self.unread = []
        # One task's units never share a request with each other: one member per group.
        self.pending += [(m.flight, m.unit) for group in grouper.take_all() for m in group]

    def send(self, index: int, *, lapsed: bool, together: int = 1) -> None:
        """Send one unit, or (``together`` > 1) it and the next pending units that may share its
        request, as the fetch loop groups them (``grouping.py``)."""
        self.lapsed, self.idle_waits = lapsed, 0
        flight, unit = self.pending.pop(index % len(self.pending))
        grouper = Grouper(self.provider.max_batch_size)
        grouper.add(flight, unit)
        others, self.pending = self.pending[: together - 1], self.pending[together - 1 :]
        for other in others:
            grouper.add(*other)
        first, *rest = grouper.take_all()
        self.pending += [(m.flight, m.unit) for group in rest for m in group]
        self.sending.append(first)
        try:
            self.parts.sender.run_group(first)
        finally:
            self.sending.pop()

    def meanwhile(self, seconds: float) -> None:
        """A unit waits (for recipients another claimant holds, or before a retry): the other units
        run meanwhile, as they would on the other threads. With none left, the wait must end."""
        self.elsewhere()
        runnable = [
            i for i, (_, unit) in enumerate(self.pending) if self.nest_contested or not unit.contested
        ]
        if runnable:
            self.send(runnable[0], lapsed=self.lapsed)
            return
        self.idle_waits += 1
        assert self.idle_waits < 50, "waits for recipients that nothing will ever release"

    def beat(self) -> None:
        self.queue.heartbeat(self.worker_id, 60, "{}")

    def recover(self, *, stamped: bool) -> None:
        """Another worker judged this one dead and put its processing list back on the queue; this
        one, alive, beats again."""
        self.queue.requeue_worker(self.worker_id, crashed=stamped)
        self.beat()

    def commit(self) -> None:
        self.parts.settler.start()
        assert self.parts.settler.flush(10)
        self.committed += self.settling
        self.settling = []


@dataclass
class TrafficRig(Rig):
    """The rig, told the truth about its heartbeat: lapsed since a moment if it was recovered after."""

    recovered_at: list[float] = field(default_factory=list)
    unblock: Callable[[], None] = lambda: None  # what the operators do when every unit waits on a pause

    def lapsed_since(self, since: float) -> bool:
        return any(r >= since for r in self.recovered_at)

    def blocked(self, flight: TaskInFlight) -> bool:
        return self.parts.pauses.blocks(flight.lane, [self.provider.name], flight.task.campaign)

    def meanwhile(self, seconds: float) -> None:
        """A unit waits: an open unit runs meanwhile; if every one waits on a pause, it is resumed."""
        self.elsewhere()
        open_units = [i for i, (flight, _) in enumerate(self.pending) if not self.blocked(flight)]
        if open_units:
            self.send(open_units[0], lapsed=False)
        elif self.parts.pauses.scopes:
            self.unblock()
        else:
            self.idle_waits += 1
            assert self.idle_waits < 50, "waits for recipients that nothing will ever release"
