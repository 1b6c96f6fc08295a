"""Reports that come before their receipt record: held, applied once the settle writes the record,
counted as unmatched once the hold is over; and what bounds the hold."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable

import fakeredis
import pytest

from smsworker.receipts import parse_record
from smsworker.receiver.held import HeldReports
from smsworker.receiver.recorder import Recorder
from smsworker.store.held import HeldStore
from smsworker.store.queue import RedisQueue
from smsworker.store.receipts import ReceiptStore, Report
from smsworker.testing import FakeProvider
from smsworker.worker.loop import Worker
from tests.support.logs import LogCapture

MakeWorker = Callable[..., tuple[Worker, FakeProvider]]
A = "+8613800138000"


class Rig:
    def __init__(self, queue: RedisQueue, *, hold_max: int = 100, hold_s: float = 60.0) -> None:
        self.queue = queue
        self.logs = LogCapture()
        self.now = time.time()
        self.store = ReceiptStore(queue, hold_max=hold_max)
        self.recorder = Recorder(self.store, self.logs.logger)
        self.held = HeldReports(
            self.recorder, HeldStore(queue), self.logs.logger, hold_s=hold_s, clock=lambda: self.now
        )

    def report(self, message_id: str, number: str = A, *, also: tuple[str, ...] = (), ok: bool = True) -> str:
        applied = self.recorder.record("aliyun", [Report("aliyun", message_id, number, ok, 1.0e9, also=also)])
        [outcome] = applied
        return outcome


def settle(queue: RedisQueue, message_id: str, number: str = A, task_id: str = "order-1") -> None:
    """What SETTLE does for one accepted number, through the real script."""
    from smsworker.store.queue import SettleOp

    element = json.dumps({"template_id": 1, "mobiles": [number], "content": "x", "n": message_id}).encode()
    queue.client.lpush(queue.keys.processing("w"), element)
    receipt = (
        queue.keys.receipt("aliyun", message_id, number),
        json.dumps({"id": task_id, "number": number, "at": 1.0e9 - 5}).encode(),
    )
    assert queue.settle("w", int(time.time() * 1000), [SettleOp(element, sent=1, receipts=(receipt,))]) == [
        True
    ]


@pytest.fixture
def queue() -> RedisQueue:
    return RedisQueue(fakeredis.FakeRedis(), "sms_queue", "{sms_queue}:dead", use_blmove=True)


def test_a_report_before_its_record_is_held_then_applied_when_the_settle_writes_it(queue: RedisQueue) -> None:
    rig = Rig(queue)
    assert rig.report("biz-1") == "held" and rig.report("biz-1") == "held"  # pushed again: held once
    assert queue.stats().held_reports == 1 and rig.held.round() == Counter()  # nothing due yet
    settle(queue, "biz-1")
    assert queue.client.lrange(queue.keys.held_due, 0, -1) == [
        queue.keys.receipt("aliyun", "biz-1", A).encode()
    ]
    assert rig.held.round() == Counter({"delivered": 1})
    record = parse_record(queue.client.get(queue.keys.receipt("aliyun", "biz-1", A)))
    assert record is not None and record["reported"] == "delivered"
    stats = queue.stats()
    assert (stats.delivered_total, stats.unmatched_reports, stats.held_reports) == (1, 0, 0)
    assert queue.client.hlen(queue.keys.held) == 0 and queue.client.llen(queue.keys.held_due) == 0
    assert [e["source"] for e in rig.logs.events("receipt.delivered")] == ["aliyun"]


def test_a_report_for_the_other_reading_of_the_number_is_found_under_it(queue: RedisQueue) -> None:
    """Alibaba writes +1 302 555 0123 as 13025550123, a mainland number's form too: the report is held
    under the likelier reading, and found when the settle writes the record under the other."""
    rig = Rig(queue)
    assert rig.report("biz-2", "+8613025550123", also=("+13025550123",)) == "held"
    assert queue.stats().held_reports == 1
    settle(queue, "biz-2", "+13025550123")
    assert rig.held.round() == Counter({"delivered": 1})
    assert queue.client.hlen(queue.keys.held) == 0 and queue.stats().held_reports == 0


def test_a_report_whose_record_never_comes_is_unmatched_once_the_hold_is_over(queue: RedisQueue) -> None:
    rig = Rig(queue, hold_s=60)
    assert rig.report("someone-elses") == "held"
    rig.now += 59
    assert rig.held.round() == Counter() and queue.stats().unmatched_reports == 0
    rig.now += 2
    assert rig.held.round() == Counter({"unmatched": 1})
    assert queue.stats().unmatched_reports == 1 and queue.client.hlen(queue.keys.held) == 0
    assert rig.logs.events("receipt.unmatched")


def test_the_last_look_at_expiry_still_finds_a_record_written_late(queue: RedisQueue) -> None:
    rig = Rig(queue, hold_s=60)
    rig.report("biz-3")
    settle(queue, "biz-3")
    queue.client.delete(queue.keys.held_due)  # the receiver died before it took the due entry
    rig.now += 61
    assert rig.held.round() == Counter({"delivered": 1}) and queue.stats().unmatched_reports == 0


def test_at_most_so_many_are_held_and_the_rest_counted_at_once(queue: RedisQueue) -> None:
    rig = Rig(queue, hold_max=2)
    assert [rig.report(f"m-{n}") for n in range(3)] == ["held", "held", "unmatched"]
    assert rig.report("m-0", ok=False) == "held"  # another report for one already held: still held
    assert queue.stats().unmatched_reports == 1 and queue.stats().held_reports == 2


def test_one_receiver_at_a_time_applies_held_reports(queue: RedisQueue) -> None:
    first, second = Rig(queue), Rig(queue)
    first.report("biz-4")
    settle(queue, "biz-4")
    assert second.held.round() == Counter({"delivered": 1})  # it took the lock first
    first.report("biz-5")
    settle(queue, "biz-5")
    assert first.held.round() == Counter()  # the other holds the lock, for its TTL
    assert second.held.round() == Counter({"delivered": 1})


def test_a_worker_settling_for_real_wakes_the_held_report(queue: RedisQueue, make_worker: MakeWorker) -> None:
    rig = Rig(queue)
    assert rig.store.apply(Report("fake", "fake-1", A, True, 1.0e9)).outcome == "held"  # the fake's first id
    queue.push(
        json.dumps({"template_id": 1, "mobiles": ["13800138000"], "content": "x", "id": "o-1"}).encode()
    )
    make_worker()[0].drain()
    assert rig.held.round() == Counter({"delivered": 1})
    shown = json.loads(queue.client.hget(queue.keys.status("o-1"), A) or b"{}")
    assert shown["state"] == "delivered" and [h["state"] for h in shown["history"]] == ["sent"]
