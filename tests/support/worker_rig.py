"""One worker's collaborators, wired as ``Worker`` wires them, driven one step at a time.

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
from smsworker.worker.flight import FlightRegistry, Holdings, TaskInFlight
from smsworker.worker.grouping import Grouper
from smsworker.worker.guarded import RedisGuard, WorkerRedis
from smsworker.worker.intake import Intake, Rejected, Unit
from smsworker.worker.liveness import Ownership
from smsworker.worker.marks import ProgressMarks
from smsworker.worker.send_unit import UnitSender
from smsworker.worker.settle import Settler
from smsworker.worker.stopping import Stopping
from smsworker.worker.tally import Tally
from tests.support.logs import LogCapture

ME = "me:1:aaaa"
STEPS = ("claim", "send", "recover", "commit")


@dataclass
class Rig:
    """One worker's collaborators, wired as ``Worker`` wires them, driven one step at a time."""

    queue: RedisQueue
    provider: FakeProvider
    logs: LogCapture = field(default_factory=LogCapture)
    worker_id: str = ME
    lapsed: bool = False  # what the next unit is told about this worker's heartbeat
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

    def __post_init__(self) -> None:
        log = self.logs.logger
        self.redis = WorkerRedis(
            self.queue, RedisGuard(log, Stopping(5.0), wait=lambda s: None), self.worker_id
        )
        self.holdings, self.flights = Holdings(), FlightRegistry()
        self.settler = Settler(
            self.redis, log, holdings=self.holdings, flights=self.flights, tally=Tally(WorkerEvents())
        )
        # A closed settler's thread commits what is pending, then ends: so each ``commit`` below is
        # one commit, at the moment the test chooses, and outcomes wait for it as they would wait
        # behind a slow Redis.
        self.settler.close()
        self.beat()
        parser = TaskParser(default_region="CN", max_payload_bytes=65536, max_recipients=100)
        self.intake = Intake(self.redis, parser, self.provider, poison_after=5, log=log)
        self.sender = UnitSender(
            self.redis,
            [self.provider],
            RetryPolicy(2, 0.001, 0.001),
            events=WorkerEvents(),
            pace=lambda provider: None,
            sleep=self.meanwhile,
            lease_lapsed=lambda since: self.lapsed,
            still_ours=Ownership(lambda since: self.lapsed, self.redis.holds, log).still_ours,
            settle=self.settle,
            marks=ProgressMarks(self.redis),
            log=log,
        )

    def settle(self, flight: TaskInFlight) -> None:
        self.settling.append(flight)
        self.settler.settle(flight)

    def step(self, step: str, data: st.DataObject) -> None:
        if step == "claim":
            self.claim()
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

    def claim(self) -> bool:
        """What ``Worker._claim`` and ``_start`` do for one element; False if the queue is empty."""
        claimed = self.queue.claim_many(self.worker_id, 1)
        if not claimed:
            return False
        [element] = claimed
        self.holdings.add(element)
        taken = self.intake.take(element)
        if isinstance(taken, Rejected):
            self.settler.reject(taken)
            return True
        if taken.flight.element != element:
            self.holdings.replace(element, taken.flight.element)
        self.flights.add(taken.flight)
        if not taken.units:  # all its recipients were sent before
            self.settle(taken.flight)
        self.pending += [(taken.flight, unit) for unit in taken.units]
        return True

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
        self.sender.run_group(first)

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
        self.settler.start()
        assert self.settler.flush(10)
        self.committed += self.settling
        self.settling = []
