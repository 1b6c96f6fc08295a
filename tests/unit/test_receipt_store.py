"""Applying delivery reports: each moves a recipient once; repeats, strangers and races do no harm."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import fakeredis
from hypothesis import given, settings
from hypothesis import strategies as st

from smsworker.deadletters import replay
from smsworker.receipts import is_time, parse_state
from smsworker.store.keys import RECEIPT_TTL_S
from smsworker.store.queue import RedisQueue
from smsworker.store.receipts import ReceiptStore, Report
from smsworker.store.status import StatusBook
from smsworker.task import TaskParser
from smsworker.testing import FakeProvider
from smsworker.worker.loop import Worker

MakeWorker = Callable[..., tuple[Worker, FakeProvider]]
A, B = "+8613800138000", "+8613800138001"


def sent_task(
    make_worker: MakeWorker, r: fakeredis.FakeRedis, task_id: str | None = "order-1"
) -> dict[str, str]:
    """Send a task to A and B through the fake provider; the message id each was accepted under."""
    task: dict[str, Any] = {"template_id": 1, "mobiles": ["13800138000", "13800138001"], "content": "x"}
    if task_id is not None:
        task["id"] = task_id
    r.lpush("sms_queue", json.dumps(task))
    make_worker(concurrency=1)[0].drain()
    ids: dict[str, str] = {}
    keys: list[bytes] = r.keys("{sms_queue}:receipt:fake:*")  # type: ignore[assignment]
    for key in keys:
        _, _, _, message_id, number = key.decode().split(":", 4)
        ids[number] = message_id
    return ids


def test_a_report_moves_the_recipients_state_and_keeps_the_way_there(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    ids = sent_task(make_worker, fake_redis)
    store = ReceiptStore(queue)
    assert store.apply(Report("fake", ids[A], A, delivered=True, at=1_000.0)).outcome == "delivered"
    assert (
        store.apply(Report("fake", ids[B], B, delivered=False, code="MK:0001", text="blocked")).outcome
        == "undelivered"
    )
    states = {n: parse_state(raw) for n, raw in StatusBook(queue).statuses("order-1").items()}
    assert states[A]["state"] == "delivered" and states[A]["at"] == 1_000.0
    assert states[A]["provider"] == "fake" and states[A]["message_id"] == ids[A]
    assert [h["state"] for h in states[A]["history"]] == ["sent"]
    assert (states[B]["state"], states[B]["code"], states[B]["text"]) == ("undelivered", "MK:0001", "blocked")
    figures = queue.stats()
    assert (figures.delivered_total, figures.undelivered_total, figures.unmatched_reports) == (1, 1, 0)
    assert fake_redis.ttl("{sms_queue}:status:order-1") > 0  # a report never makes a key outlive its TTL


def test_repeats_change_nothing_and_strangers_are_counted(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    ids = sent_task(make_worker, fake_redis)
    store = ReceiptStore(queue)
    report = Report("fake", ids[A], A, delivered=True)
    assert [store.apply(report).outcome for _ in range(3)] == ["delivered", "duplicate", "duplicate"]
    assert store.apply(Report("fake", "never-sent", A, delivered=True)).outcome == "unmatched"
    assert (
        store.apply(Report("aliyun", ids[A], A, delivered=True)).outcome == "unmatched"
    )  # another vendor's id
    assert store.apply(Report("fake", ids[A], B, delivered=True)).outcome == "unmatched"  # A's id, B's number
    figures = queue.stats()
    assert (figures.delivered_total, figures.unmatched_reports) == (1, 3)
    assert (
        len(parse_state(StatusBook(queue).statuses("order-1")[A])["history"]) == 1
    )  # not grown by the repeats


def test_a_task_without_an_id_is_counted_but_has_no_status(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    ids = sent_task(make_worker, fake_redis, task_id=None)
    assert ReceiptStore(queue).apply(Report("fake", ids[A], A, delivered=True)).outcome == "delivered"
    assert fake_redis.keys("{sms_queue}:status:*") == [] and queue.stats().delivered_total == 1


def test_concurrent_reports_for_one_task_all_land(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    ids = sent_task(make_worker, fake_redis)
    store = ReceiptStore(queue)
    reports = [Report("fake", ids[n], n, delivered=True) for n in (A, B)] * 5
    threads = [threading.Thread(target=store.apply, args=(r,)) for r in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    states = {n: parse_state(raw)["state"] for n, raw in StatusBook(queue).statuses("order-1").items()}
    assert states == {A: "delivered", B: "delivered"} and queue.stats().delivered_total == 2


@settings(max_examples=50, deadline=None)
@given(code=st.text(), text=st.text(), at=st.one_of(st.none(), st.floats()))
def test_any_report_text_leaves_strict_json(code: str, text: str, at: float | None) -> None:
    r = fakeredis.FakeRedis()
    queue = RedisQueue(r, "sms_queue", "{sms_queue}:dead", use_blmove=True)
    r.set(queue.keys.receipt("fake", "m1", A), json.dumps({"id": "t", "number": A, "at": 1.0}), ex=60)
    r.hset(queue.keys.status("t"), A, b'{"state":"sent","at":1.0,"provider":"fake"}')
    assert ReceiptStore(queue).apply(Report("fake", "m1", A, False, at, code, text)).outcome == "undelivered"
    raw: bytes = r.hget(queue.keys.status("t"), A)  # type: ignore[assignment]
    value = json.loads(raw.decode("utf-8"), parse_constant=lambda c: 1 / 0)
    assert value["state"] == "undelivered" and is_time(value["at"])  # a date can always show it


def test_a_receipt_awaits_its_report_until_one_lands_or_the_ttl_passes(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    stale = queue.keys.receipt("fake", "long-ago", A)
    fake_redis.zadd(queue.keys.awaiting, {stale: time.time() - RECEIPT_TTL_S - 60})
    ids = sent_task(make_worker, fake_redis)
    members: list[bytes] = fake_redis.zrange(queue.keys.awaiting, 0, -1)  # type: ignore[assignment]
    waiting = {k.decode() for k in members}
    assert waiting == {queue.keys.receipt("fake", ids[n], n) for n in (A, B)}  # the stale one trimmed
    assert queue.stats().awaiting_receipt == 2
    assert queue.keys.parse_receipt(queue.keys.receipt("tencent", "2433:0001", A)) == (
        "tencent",
        "2433:0001",
        A,
    )
    store = ReceiptStore(queue)
    store.apply(Report("fake", ids[A], A, delivered=True))
    store.apply(Report("fake", ids[A], A, delivered=True))  # a repeat leaves the rest alone
    assert queue.stats().awaiting_receipt == 1
    assert 0 < fake_redis.ttl(queue.keys.awaiting) <= RECEIPT_TTL_S


def test_an_undelivered_recipient_can_be_dead_lettered_and_replayed_under_its_id(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue, parser: TaskParser
) -> None:
    task = {"template_id": 1, "mobiles": ["13800138000", "13800138001"], "content": "x", "id": "order-1"}
    fake_redis.lpush("sms_queue", json.dumps(task))
    worker, provider = make_worker(keep_payloads=True)
    worker.drain()
    [payload_key] = [k.decode() for k in fake_redis.keys("{sms_queue}:payload:*")]  # type: ignore[union-attr]
    assert 0 < fake_redis.ttl(payload_key) <= RECEIPT_TTL_S
    store = ReceiptStore(queue, undelivered_parser=parser)
    message_id = parse_state(StatusBook(queue).statuses("order-1")[B])["message_id"]
    store.apply(Report("fake", message_id, B, delivered=False, code="MK:0001", text="off"))
    [envelope] = [json.loads(e) for e in queue.dead_letters()]
    assert (envelope["reason"], envelope["failed_mobiles"], envelope["provider_code"]) == (
        "undelivered",
        ["13800138001"],
        "MK:0001",
    )
    assert envelope["task"] == {**task, "mobiles": ["13800138001"]} and "MK:0001: off" in envelope["error"]
    assert replay(queue, limit=None, reason="undelivered").replayed == 1
    make_worker(provider=provider)[0].drain()  # sent again under the same id: its progress was cleared
    assert provider.sent_to().count(B) == 2 and provider.sent_to().count(A) == 1
    assert parse_state(StatusBook(queue).statuses("order-1")[B])["state"] == "sent"


def test_without_the_option_an_undelivered_report_only_moves_the_state(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue, parser: TaskParser
) -> None:
    ids = sent_task(make_worker, fake_redis)
    assert fake_redis.keys("{sms_queue}:payload:*") == []  # nothing kept either
    store = ReceiptStore(queue, undelivered_parser=parser)  # the receiver has it, workers not
    assert store.apply(Report("fake", ids[B], B, delivered=False)).outcome == "undelivered"
    assert queue.dead_letters() == []
