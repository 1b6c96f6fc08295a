"""Delivery reports against a task's whole life, searched: none is lost, none is applied twice.

A task is claimed, its requests accepted (some after retries), its worker may die before it settles
and another take it over; the vendor reports on each number it accepted at any moment: before the
task settles, while another of its requests is being retried, after; pushed (Tencent's status
callback, through the receiver's web app) or pulled (PullSmsSendStatus, through the puller),
repeated, in any order. Every report for a number whose acceptance was recorded (the task settled,
or its progress mark was written before its worker died) ends applied exactly once. A report whose
acceptance died with its worker unrecorded (that number is sent again, and the second send's report
is the one applied) ends counted as unmatched once its hold expires: in a stated place either way.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import fakeredis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsworker.errors import TransientProviderError
from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.receipts import parse_record, parse_state
from smsworker.receiver.app import Sources, make_app
from smsworker.receiver.backlog import Backlog
from smsworker.receiver.held import HeldReports
from smsworker.receiver.pull import Puller
from smsworker.receiver.recorder import Recorder
from smsworker.store.awaiting import AwaitingReceipts
from smsworker.store.held import HeldStore
from smsworker.store.queue import RedisQueue
from smsworker.store.ratelimit import RateLimiter
from smsworker.store.receipts import ReceiptStore
from smsworker.store.status import StatusBook
from smsworker.testing import FakeProvider
from smsworker.worker.flight import TaskInFlight
from tests.support.logs import LogCapture
from tests.support.worker_rig import Rig

TOKEN = "path-token-0123456789"
HOLD_S = 10_000.0
STEPS = ("claim", "send", "commit", "crash", "push", "queue-pull", "pull", "held", "foreign")
MAX_CRASHES = 3  # fewer than the rig's poison_after: a task set aside as poison never settles
Acceptance = tuple[str, str]  # (message id, E.164 number)


class Vendor(FakeProvider):
    """The fake provider as Tencent: every number it accepts is owed a delivery report."""

    name = "tencent"

    def __init__(self, batch: int, undeliverable: set[str]) -> None:
        super().__init__(max_batch_size=batch)
        self.accepted: list[Acceptance] = []
        self.undeliverable = undeliverable
        self.unpulled: list[dict[str, Any]] = []  # what PullSmsSendStatus hands out next

    def send(self, message: OutgoingMessage) -> SendResult:
        result = super().send(message)
        self.accepted += [(message_id, number) for number, message_id in result.message_ids.items()]
        return result

    def delivered(self, number: str) -> bool:
        return number not in self.undeliverable

    def state(self, number: str) -> str:
        """What its report says."""
        return "delivered" if self.delivered(number) else "undelivered"

    def pushed(self, message_id: str, number: str) -> dict[str, Any]:
        """The status callback's report, as Tencent pushes it."""
        ok = self.delivered(number)
        return {
            "user_receive_time": "2026-11-21 10:00:07",
            "nationcode": "86",
            "mobile": number[3:],
            "report_status": "SUCCESS" if ok else "FAIL",
            "errmsg": "DELIVRD" if ok else "MN:0001",
            "description": "",
            "sid": message_id,
        }

    def pulled(self, message_id: str, number: str) -> dict[str, Any]:
        """The same report, as PullSmsSendStatus hands it out."""
        ok = self.delivered(number)
        return {
            "UserReceiveTime": 1795226407,
            "PhoneNumber": number,
            "SerialNo": message_id,
            "ReportStatus": "SUCCESS" if ok else "FAIL",
            "Description": "DELIVRD" if ok else "MN:0001",
        }

    def pull_statuses(self, limit: int = 100) -> list[dict[str, Any]]:
        taken, self.unpulled = self.unpulled[:limit], self.unpulled[limit:]
        return taken


class Life:
    """Workers (one alive at a time; a crash starts the next) and the receiver, over one Redis."""

    def __init__(self, queue: RedisQueue, vendor: Vendor, data: st.DataObject) -> None:
        self.queue, self.vendor, self.data = queue, vendor, data
        self.logs = LogCapture()
        self.now = time.time()  # the clock the store stamps held reports with
        store = ReceiptStore(queue, hold_max=10_000)
        recorder = Recorder(store, self.logs.logger)
        self.web: FlaskClient = make_app(
            recorder, Sources(path_token=TOKEN), log=self.logs.logger
        ).test_client()
        limiter = RateLimiter(queue, {}, self.logs.logger)
        backlog = Backlog(recorder, self.logs.logger)
        self.puller = Puller(
            recorder, AwaitingReceipts(queue), limiter, self.logs.logger, tencent=vendor, backlog=backlog
        )
        self.held = HeldReports(
            recorder, HeldStore(queue), self.logs.logger, hold_s=HOLD_S, clock=lambda: self.now
        )
        self.crashes = 0
        self.rig = self._worker()
        self.dead_rigs: list[Rig] = []
        # Acceptances recorded by a worker that died: their progress marks name them.
        self.marked: set[Acceptance] = set()
        self.arrived: set[tuple[Acceptance, str]] = set()  # (acceptance, channel) that reached us
        self.foreign = 0

    def _worker(self) -> Rig:
        rig = Rig(self.queue, self.vendor, worker_id=f"w{self.crashes}:1:aaaa", nest_contested=False)
        rig.elsewhere = self.meanwhile
        return rig

    def step(self, step: str) -> None:
        draw = self.data.draw
        if step == "claim":
            self.rig.claim()
        elif step == "send" and self.rig.pending:
            self.rig.send(
                draw(st.integers(0, 100), label="unit"),
                lapsed=False,
                together=draw(st.integers(1, 2), label="together"),
            )
        elif step == "commit":
            self.rig.commit()
        elif step == "crash" and self.crashes < MAX_CRASHES:
            self.crash()
        elif step in ("push", "queue-pull") and self.vendor.accepted:
            index = draw(st.integers(0, len(self.vendor.accepted) - 1), label="report")
            self.report(self.vendor.accepted[index], "push" if step == "push" else "pull")
        elif step == "pull":
            self.puller.round()
        elif step == "held":
            self.held.round()
        elif step == "foreign":
            self.foreign += 1
            self.report((f"foreign-{self.foreign}", "+8613900139000"), "push")

    def meanwhile(self) -> None:
        """While a request waits for its retry, a report may come in."""
        if not self.vendor.accepted:
            return
        if self.data.draw(st.booleans(), label="report meanwhile"):
            index = self.data.draw(st.integers(0, len(self.vendor.accepted) - 1), label="report")
            self.report(self.vendor.accepted[index], "push")

    def report(self, acceptance: Acceptance, channel: str) -> None:
        if channel == "push":
            body = json.dumps([self.vendor.pushed(*acceptance)]).encode()
            answer = self.web.post(f"/tencent/{TOKEN}", data=body)
            assert answer.status_code == 200, answer.get_data()
        else:
            self.vendor.unpulled.append(self.vendor.pulled(*acceptance))
        self.arrived.add((acceptance, channel))

    def crash(self) -> None:
        """The worker dies (SIGKILL): another worker's liveness check puts its processing list back.
        What its progress marks recorded survives it; what it held in memory does not."""
        dead = self.rig
        self.queue.requeue_worker(dead.worker_id, crashed=True)
        for flight in in_flight(dead):
            if flight.progress_key is not None:
                self.marked |= {(a.message_id, n) for n, a in flight.accepted.items() if a.message_id}
        self.dead_rigs.append(dead)
        self.crashes += 1
        self.rig = self._worker()

    def finish(self) -> None:
        """The last worker drains the queue; every report still owed comes in, late."""
        while self.rig.pending:
            self.rig.send(0, lapsed=False)
        self.rig.commit()
        while self.rig.claim():
            while self.rig.pending:
                self.rig.send(0, lapsed=False)
            self.rig.commit()
        assert self.queue.length() == 0 and self.queue.processing(self.rig.worker_id) == []
        for acceptance in self.vendor.accepted:
            if not any(a == acceptance for a, _ in self.arrived):
                self.report(acceptance, self.data.draw(st.sampled_from(["push", "pull"]), label="late"))
        self.puller.round()
        while self.queue.client.llen(self.queue.keys.held_due):
            self.held.round()

    def recorded(self) -> set[Acceptance]:
        """Acceptances whose link to their task was recorded: settled, or marked before a crash."""
        settled = {
            (a.message_id, n)
            for rig in (*self.dead_rigs, self.rig)
            for flight in rig.committed
            for n, a in (*flight.accepted.items(), *flight.skipped.items())
            if a.message_id
        }
        return settled | self.marked


def in_flight(rig: Rig) -> set[TaskInFlight]:
    return {flight for flight, _ in rig.pending} | set(rig.settling)


def number(task: int, recipient: int) -> str:
    return f"+8613800{task:03d}{recipient:03d}"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 3), min_size=1, max_size=5),
    with_id=st.lists(st.booleans(), min_size=5, max_size=5),
    batch=st.integers(1, 2),
    flaky=st.sets(st.tuples(st.integers(0, 4), st.integers(0, 2)), max_size=4),
    undeliverable=st.sets(st.tuples(st.integers(0, 4), st.integers(0, 2)), max_size=3),
    twice=st.sets(st.integers(0, 4), max_size=2),
    data=st.data(),
)
def test_every_report_for_an_accepted_recipient_is_applied_exactly_once(
    sizes: list[int],
    with_id: list[bool],
    batch: int,
    flaky: set[tuple[int, int]],
    undeliverable: set[tuple[int, int]],
    twice: set[int],
    data: st.DataObject,
) -> None:
    queue = RedisQueue(fakeredis.FakeRedis(), "sms_queue", "{sms_queue}:dead", use_blmove=True)
    vendor = Vendor(batch, {number(t, r) for t, r in undeliverable})
    for t, r in flaky:  # refused once, accepted when retried
        vendor.fail(number(t, r), TransientProviderError("busy"))
    ids = push_tasks(queue, sizes, with_id, twice)
    life = Life(queue, vendor, data)

    for _ in range(data.draw(st.integers(0, 40), label="steps")):
        life.step(data.draw(st.sampled_from(STEPS), label="step"))
    life.finish()

    recorded = life.recorded()
    assert recorded <= set(vendor.accepted)
    for message_id, mobile in recorded:
        record = parse_record(queue.client.get(queue.keys.receipt("tencent", message_id, mobile)))
        assert record is not None and record.get("reported") == vendor.state(mobile), (message_id, mobile)
    stats = queue.stats()
    states = Counter(vendor.state(n) for _, n in recorded)
    assert (stats.delivered_total, stats.undelivered_total) == (states["delivered"], states["undelivered"])
    for t, task_id in ids.items():
        shown = {n: parse_state(s)["state"] for n, s in StatusBook(queue).statuses(task_id).items()}
        for n in {n for _, n in recorded if n.startswith(number(t, 0)[:-3])}:
            assert shown.get(n) == vendor.state(n), (n, shown)

    # Past the hold, what never found its record is unmatched: the reports of acceptances that died
    # unrecorded with their worker, and the foreign ones. Nothing else, and nothing stays held.
    life.now += 2 * HOLD_S
    while queue.client.zcard(queue.keys.held_since):
        life.held.round()
    unrecorded = {(a, channel) for a, channel in life.arrived if a not in recorded}
    assert queue.stats().unmatched_reports == len(unrecorded)
    assert queue.client.hlen(queue.keys.held) == 0 and queue.client.llen(queue.keys.held_due) == 0


def push_tasks(queue: RedisQueue, sizes: list[int], with_id: list[bool], twice: set[int]) -> dict[int, str]:
    """A task of each size, some with an id, some of those pushed twice (the app retried: two
    claimants, one sending, one skipping); the ids, by task."""
    ids = {}
    for t, size in enumerate(sizes):
        task: dict[str, Any] = {"template_id": 1, "content": "x"}
        task["mobiles"] = [number(t, r)[3:] for r in range(size)]
        if with_id[t]:
            task["id"] = ids[t] = f"order-{t}"
        for _ in range(2 if with_id[t] and t in twice else 1):
            queue.push(json.dumps(task).encode())
    return ids
