"""What a settle records for the producer (each recipient's state) and for delivery reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import fakeredis
from hypothesis import given
from hypothesis import strategies as st

from smsworker.outcome import Acceptance, Failure
from smsworker.receipts import parse_state, recipient_states, state_json
from smsworker.store.keys import RECEIPT_TTL_S
from smsworker.store.queue import RedisQueue, SettleOp
from smsworker.store.receipts import ReceiptStore, Report
from smsworker.store.status import StatusBook
from smsworker.testing import FakeProvider
from smsworker.worker.loop import Worker

MakeWorker = Callable[..., tuple[Worker, FakeProvider]]
A, B = "+8613800138000", "+8613800138001"


def push(r: fakeredis.FakeRedis, **task: Any) -> None:
    r.lpush("sms_queue", json.dumps(task))


def states(queue: RedisQueue, task_id: str) -> dict[str, dict[str, Any]]:
    return {number: parse_state(raw) for number, raw in StatusBook(queue).statuses(task_id).items()}


def test_a_task_with_an_id_gets_each_recipients_state_and_receipts(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    push(
        fake_redis, template_id=1, mobiles=["13800138000", "13800138001", "12345"], content="x", id="order-1"
    )
    worker, provider = make_worker()
    provider.reject([B], code="isv.BLACK_KEY_CONTROL_LIMIT")
    worker.drain()
    found = states(queue, "order-1")
    assert set(found) == {A, B, "12345"}
    assert found[A]["state"] == "sent" and found[A]["provider"] == "fake"
    assert found[A]["message_id"].startswith("fake-")
    assert (found[B]["state"], found[B]["reason"], found[B]["code"]) == (
        "dead",
        "provider_rejected",
        "isv.BLACK_KEY_CONTROL_LIMIT",
    )
    assert (found["12345"]["state"], found["12345"]["reason"]) == ("dead", "invalid_mobile")
    assert 0 < fake_redis.ttl("{sms_queue}:status:order-1") <= RECEIPT_TTL_S
    receipt_key = f"{{sms_queue}}:receipt:fake:{found[A]['message_id']}:{A}"
    assert json.loads(fake_redis.get(receipt_key) or b"null") | {"at": 0} == {
        "id": "order-1",
        "number": A,
        "at": 0,
    }
    assert 0 < fake_redis.ttl(receipt_key) <= RECEIPT_TTL_S
    assert fake_redis.keys("{sms_queue}:receipt:*") == [receipt_key.encode()]  # none for the dead ones


def test_without_an_id_there_is_no_status_but_reports_can_still_be_matched(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    push(fake_redis, template_id=1, mobiles=["13800138000"], content="x")
    make_worker()[0].drain()
    assert fake_redis.keys("{sms_queue}:status:*") == []
    [key] = fake_redis.keys("{sms_queue}:receipt:*")
    assert json.loads(fake_redis.get(key) or b"{}")["id"] is None


def test_a_task_taken_over_by_another_worker_writes_no_state(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    op = SettleOp(
        b"not ours any more",
        sent=1,
        status_key="{sms_queue}:status:k",
        statuses=((A, state_json("sent", 1.0, provider="fake")),),
        receipts=(("{sms_queue}:receipt:fake:m:" + A, b"{}"),),
    )
    assert queue.settle("w1", 1, [op]) == [False]
    assert fake_redis.keys("{sms_queue}:status:*") == [] and fake_redis.keys("{sms_queue}:receipt:*") == []


def test_states_of_several_tasks_in_one_batch_go_to_their_own_keys(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.lpush("{sms_queue}:processing:w1", b"one", b"two")
    ops = [
        SettleOp(
            element,
            sent=1,
            status_key=f"{{sms_queue}}:status:{element.decode()}",
            statuses=((A, state_json("sent", 1.0, provider=element.decode())),),
        )
        for element in (b"one", b"two")
    ]
    assert queue.settle("w1", 1, ops, receipt_ttl_s=600) == [True, True]
    assert states(queue, "one")[A]["provider"] == "one" and states(queue, "two")[A]["provider"] == "two"
    assert 0 < fake_redis.ttl("{sms_queue}:status:two") <= 600


@given(error=st.text(), code=st.one_of(st.none(), st.text()), message_id=st.text())
def test_every_state_is_strict_json_whatever_the_texts_hold(
    error: str, code: str | None, message_id: str
) -> None:
    for _, raw in recipient_states(
        [A],
        {A: Acceptance("fake", message_id)},
        {B: Failure("provider_rejected", error, provider_code=code)},
        2.5,
    ):
        value = json.loads(raw.decode("utf-8"), parse_constant=lambda name: 1 / 0)
        assert value["state"] in ("sent", "dead") and value["at"] == 2.5


def test_every_state_of_one_number_is_found_with_or_without_an_id(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    push(fake_redis, template_id=1, mobiles=["13800138000", "13800138001"], content="x", id="order-1")
    push(fake_redis, template_id=1, mobiles=["13800138000"], content="y")  # no id
    push(fake_redis, template_id=1, mobiles=["13800138002"], content="z", id="order-3")  # another number
    make_worker()[0].drain()
    keys: list[bytes] = fake_redis.keys("{sms_queue}:receipt:*")  # type: ignore[assignment]
    records = {k.decode(): json.loads(fake_redis.get(k) or b"{}") for k in keys}
    [no_id_key] = [k for k, record in records.items() if record["number"] == A and record["id"] is None]
    parsed = queue.keys.parse_receipt(no_id_key)
    assert parsed is not None
    ReceiptStore(queue).apply(Report(parsed[0], parsed[1], A, delivered=True))
    found = sorted(StatusBook(queue).states_of_number(A), key=lambda item: item[0] or "")
    assert [(task_id, state["state"]) for task_id, state in found] == [
        (None, "delivered"),
        ("order-1", "sent"),
    ]
    assert found[0][1]["provider"] == "fake" and found[0][1]["message_id"] == parsed[1]
    assert StatusBook(queue).states_of_number("+8613900000000") == []


def test_recipients_are_queued_until_the_settle_moves_them_to_their_e164_states(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    payload = json.dumps(
        {
            "template_id": 1,
            "mobiles": ["13800138000", "12345", "+8613800138001"],
            "content": "x",
            "id": "order-1",
        }
    ).encode()
    fake_redis.hset(queue.keys.status("order-1"), "+8613800138001", state_json("delivered", 1.0))
    StatusBook(queue).push_with_id(payload, "order-1", ["13800138000", "12345", "+8613800138001"], 600)
    before = states(queue, "order-1")
    assert before["13800138000"]["state"] == before["12345"]["state"] == "queued"
    assert before["+8613800138001"]["state"] == "delivered"  # known already (the id pushed again): kept
    assert 0 < fake_redis.ttl(queue.keys.status("order-1")) <= 600
    make_worker()[0].drain()
    after = states(queue, "order-1")
    assert sorted(after) == ["+8613800138000", "+8613800138001", "12345"]  # no queued left behind
    assert after["+8613800138000"]["state"] == "sent" and after["12345"]["state"] == "dead"


def test_with_the_changes_list_every_state_written_is_pushed_too_and_capped(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    push(fake_redis, template_id=1, mobiles=["13800138000", "12345"], content="x", id="order-1")
    push(fake_redis, template_id=1, mobiles=["13800138001"], content="x")  # no id: no status, no change
    make_worker(changes_max=2)[0].drain()
    changes = [json.loads(c) for c in reversed(fake_redis.lrange(queue.keys.changes, 0, -1))]
    assert [(c["id"], c["number"], c["state"]) for c in changes] == [
        ("order-1", A, "sent"),
        ("order-1", "12345", "dead"),
    ]
    receipt_keys: list[bytes] = fake_redis.keys("{sms_queue}:receipt:*")  # type: ignore[assignment]
    [key] = [k.decode() for k in receipt_keys if A.encode() in k]
    parsed = queue.keys.parse_receipt(key)
    assert parsed is not None
    ReceiptStore(queue, changes_max=2).apply(Report(parsed[0], parsed[1], A, delivered=True))
    newest = json.loads(fake_redis.lindex(queue.keys.changes, 0) or b"{}")
    assert (newest["id"], newest["number"], newest["state"]) == ("order-1", A, "delivered")
    assert fake_redis.llen(queue.keys.changes) == 2  # capped: the oldest went


def test_without_the_changes_list_nothing_is_pushed(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    push(fake_redis, template_id=1, mobiles=["13800138000"], content="x", id="order-1")
    make_worker()[0].drain()
    assert not fake_redis.exists(queue.keys.changes)
