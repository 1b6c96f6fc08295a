"""The worker loop end to end on fakeredis with the in-process FakeProvider."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any

import fakeredis
import pytest

from smsworker.errors import PermanentProviderError, TransientProviderError
from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.store.queue import RedisQueue
from smsworker.store.stamps import stamp
from smsworker.task import TaskParser
from smsworker.testing import FakeProvider
from smsworker.worker.loop import Worker
from smsworker.worker.options import WorkerOptions
from tests.support.logs import LogCapture
from tests.support.waiting import wait_until
from tests.support.worker_redis import tenth_of_backoff

MakeWorker = Callable[..., tuple[Worker, FakeProvider]]


def push(r: fakeredis.FakeRedis, **task: Any) -> bytes:
    payload = json.dumps(task).encode()
    r.lpush("sms_queue", payload)
    return payload


def dead(r: fakeredis.FakeRedis) -> list[dict[str, Any]]:
    return [json.loads(e) for e in r.lrange("{sms_queue}:dead", 0, -1)]


def numbers(start: int, count: int) -> list[str]:
    return [f"138{n:08d}" for n in range(start, start + count)]


def test_drain_sends_in_order_and_settles(make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis) -> None:
    for i in range(5):
        push(fake_redis, template_id=i, mobiles=[f"1380013800{i}"], content="x")
    worker, provider = make_worker(concurrency=1)
    totals = worker.drain()
    assert [r.template_id for r in provider.requests] == [0, 1, 2, 3, 4]
    assert (totals.tasks, totals.sent, totals.dead) == (5, 5, 0)
    assert fake_redis.llen("sms_queue") == 0
    assert not fake_redis.keys("{sms_queue}:processing:*")
    assert not fake_redis.keys("{sms_queue}:progress:*")


def test_partly_failed_task_dead_letters_only_the_failed(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, logs: LogCapture
) -> None:
    payload = push(
        fake_redis,
        template_id="9",
        content="x",
        note="kept",
        mobiles=["13800138000", "13800138001", "12345", "13800138002"],
    )
    worker, provider = make_worker()
    provider.fail("+8613800138001", PermanentProviderError("HTTP 400: blocked", code="400"))
    provider.fail("+8613800138002", *[TransientProviderError("HTTP 503", code="503")] * 3)
    worker.drain()
    assert sorted(provider.sent_to()) == sorted(["+8613800138000", "+8613800138001"] + ["+8613800138002"] * 3)
    envelopes = {e["reason"]: e for e in dead(fake_redis)}
    assert set(envelopes) == {"invalid_mobile", "provider_rejected", "retries_exhausted"}
    rejected = envelopes["provider_rejected"]
    assert rejected["payload"] == payload.decode()
    assert rejected["task"] == {
        "template_id": "9",
        "mobiles": ["13800138001"],
        "content": "x",
        "note": "kept",
    }
    assert rejected["failed_mobiles"] == ["13800138001"]
    assert rejected["provider_code"] == "400" and rejected["attempts"] == 1
    assert rejected["queue"] == "sms_queue" and rejected["worker"] == worker.id
    assert rejected["failed_at"].endswith("Z")
    assert envelopes["retries_exhausted"]["attempts"] == 3
    assert envelopes["invalid_mobile"]["failed_mobiles"] == ["12345"]
    [summary] = logs.events("task.settled")
    assert (summary["sent"], summary["dead"], summary["recipients"]) == (1, 3, 4)


def test_garbage_never_stops_the_worker(make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"\xff\xfe\x00garbage", b"[]", b"x" * 2_000_000)
    push(fake_redis, template_id=1, mobiles=["13800138000"], content="after the garbage")
    worker, provider = make_worker()
    totals = worker.drain()
    assert provider.sent_to() == ["+8613800138000"]
    envelopes = dead(fake_redis)
    assert sorted(e["reason"] for e in envelopes) == ["invalid_json", "invalid_task", "too_large"]
    binary = next(e for e in envelopes if "payload_b64" in e)
    assert base64.b64decode(binary["payload_b64"]) == b"\xff\xfe\x00garbage"
    assert "payload" not in binary and binary["task"] is None
    assert totals.dead == 3


def test_recovered_task_does_not_resend_confirmed_recipients(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    # What a worker killed half-way through a stamped task leaves behind.
    mobiles = numbers(0, 6)
    raw = json.dumps({"template_id": 1, "mobiles": mobiles, "content": "x"}).encode()
    token = "0123456789abcdef"
    fake_redis.lpush("{sms_queue}:processing:otherhost:1:abc", stamp(raw, token))
    fake_redis.sadd("{sms_queue}:workers", "otherhost:1:abc")  # no heartbeat: expired
    fake_redis.hset(
        f"{{sms_queue}}:progress:d:{token}", mapping=dict.fromkeys(["+86" + m for m in mobiles[:4]], 1)
    )
    worker, provider = make_worker()
    totals = worker.drain()
    assert sorted(provider.sent_to()) == ["+86" + m for m in mobiles[4:]]
    assert totals.sent == 2
    assert not fake_redis.exists(
        "{sms_queue}:processing:otherhost:1:abc", f"{{sms_queue}}:progress:d:{token}"
    )


def test_identical_tasks_pushed_on_purpose_are_both_delivered(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    for _ in range(2):
        push(fake_redis, template_id=1, mobiles=numbers(0, 3), content="twice")
    worker, provider = make_worker(concurrency=2)
    worker.drain()
    assert sorted(provider.sent_to()) == sorted(["+86" + m for m in numbers(0, 3)] * 2)


def test_idempotency_id_skips_recipients_already_sent(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, logs: LogCapture
) -> None:
    push(fake_redis, template_id=1, mobiles=["13800138000"], content="x", id="order-42")
    push(fake_redis, template_id=1, mobiles=["13800138000", "13800138001"], content="x", id="order-42")
    worker, provider = make_worker(concurrency=1)
    worker.drain()
    assert provider.sent_to() == ["+8613800138000", "+8613800138001"]
    assert [e["skipped"] for e in logs.events("task.settled")] == [0, 1]


def test_a_big_task_is_spread_over_all_senders(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    push(fake_redis, template_id=1, mobiles=numbers(0, 200), content="bulk")
    worker, provider = make_worker(concurrency=8)
    provider.gate.clear()
    drained = threading.Thread(target=worker.drain)
    drained.start()
    wait_until(lambda: provider.in_flight == 8, what="8 sends in flight at once")
    provider.gate.set()
    drained.join(timeout=30)
    assert provider.max_in_flight == 8
    assert len(set(provider.sent_to())) == 200


def test_batches_follow_the_provider_batch_size(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    push(fake_redis, template_id=1, mobiles=numbers(0, 25), content="x")
    worker, provider = make_worker(provider=FakeProvider(max_batch_size=10))
    worker.drain()
    assert sorted(len(r.mobiles) for r in provider.requests) == [5, 10, 10]


def test_stop_finishes_in_flight_and_requeues_the_rest(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    push(fake_redis, template_id=1, mobiles=numbers(0, 20), content="x")
    worker, provider = make_worker(concurrency=4)
    provider.gate.clear()
    running = threading.Thread(target=worker.run)
    running.start()
    wait_until(lambda: provider.in_flight == 4, what="4 sends in flight")
    worker.request_stop()
    provider.gate.set()
    running.join(timeout=30)
    assert not running.is_alive()
    first = provider.sent_to()
    assert len(first) == 4
    assert worker.totals.requeued == 1
    assert fake_redis.llen("sms_queue") == 1  # back at the front, stamped, with progress
    again, provider2 = make_worker()
    again.drain()
    assert sorted(first + provider2.sent_to()) == sorted("+86" + m for m in numbers(0, 20))
    assert dead(fake_redis) == []


def test_stop_during_backoff_requeues_instead_of_dead_lettering(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    push(fake_redis, template_id=1, mobiles=["13800138000"], content="x")
    worker, provider = make_worker(max_attempts=5, backoff_base_s=3600, backoff_max_s=3600)
    provider.fail_requests(TransientProviderError("HTTP 503"))
    running = threading.Thread(target=worker.run)
    running.start()
    wait_until(lambda: len(provider.requests) == 1, what="the first attempt")
    worker.request_stop()
    running.join(timeout=10)
    assert not running.is_alive()
    assert dead(fake_redis) == []
    assert fake_redis.lrange("sms_queue", 0, -1) == [
        json.dumps({"template_id": 1, "mobiles": ["13800138000"], "content": "x"}).encode()
    ]


def test_a_parser_bug_costs_one_task_not_the_worker(
    make_worker: MakeWorker,
    fake_redis: fakeredis.FakeRedis,
    parser: TaskParser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    push(fake_redis, template_id=1, mobiles=["13800138000"], content="boom")
    push(fake_redis, template_id=2, mobiles=["13800138001"], content="fine")
    worker, provider = make_worker(concurrency=1)
    real_parse = parser.parse

    def parse(raw: bytes) -> Any:
        if b"boom" in raw:
            raise IndexError("a bug")
        return real_parse(raw)

    monkeypatch.setattr(parser, "parse", parse)
    worker.drain()
    assert provider.sent_to() == ["+8613800138001"]
    [envelope] = dead(fake_redis)
    assert envelope["reason"] == "internal_error" and "IndexError" in envelope["error"]
    assert envelope["payload"] == json.dumps(
        {"template_id": 1, "mobiles": ["13800138000"], "content": "boom"}
    )


def test_a_wrong_type_queue_key_is_reported_not_fatal(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, logs: LogCapture
) -> None:
    fake_redis.set("sms_queue", "not a list")
    worker, _ = make_worker()
    running = threading.Thread(target=worker.run)
    running.start()
    wait_until(lambda: logs.events("redis.command_failed"), what="the WRONGTYPE error to be logged")
    assert running.is_alive()
    worker.request_stop()
    running.join(timeout=10)
    assert "WRONGTYPE" in logs.events("redis.command_failed")[0]["error"]


def test_segments_are_counted_per_sent_message(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, logs: LogCapture, queue: RedisQueue
) -> None:
    push(fake_redis, template_id=1, mobiles=["13800138000", "13800138001", "12345"], content="验" * 71)
    worker, _ = make_worker()
    worker.drain()
    [summary] = logs.events("task.settled")
    assert summary["segments"] == 4  # 71 UCS-2 characters: 2 parts, for each of the 2 sent
    assert queue.stats().segments_total == 4


def test_a_task_workers_keep_dying_on_is_quarantined_unread(
    make_worker: MakeWorker,
    fake_redis: fakeredis.FakeRedis,
    parser: TaskParser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poison = json.dumps({"template_id": 1, "mobiles": ["13800138000"], "content": "kills"}).encode()
    fake_redis.lpush("{sms_queue}:processing:host:1:dead", stamp(poison, "0123456789abcdef", crashes=2))
    push(fake_redis, template_id=2, mobiles=["13800138001"], content="fine")
    worker, provider = make_worker()
    parsed: list[bytes] = []
    real_parse = parser.parse

    def parse(raw: bytes) -> Any:
        parsed.append(raw)
        return real_parse(raw)

    monkeypatch.setattr(parser, "parse", parse)
    worker.drain()  # recovery counts the third death, then the element is set aside
    assert provider.sent_to() == ["+8613800138001"]
    assert poison not in parsed, "a poison pill must not even be parsed again"
    [envelope] = dead(fake_redis)
    assert envelope["reason"] == "poison" and envelope["payload"] == poison.decode()
    assert "died 3 times" in envelope["error"] and envelope["task"] is None
    from smsworker.deadletters import replayable_task

    assert replayable_task(envelope) == poison  # dlq replay pushes it back as it was pushed


class Watching(FakeProvider):
    """Records, for each request, what else was in flight when it started."""

    def __init__(self) -> None:
        super().__init__()
        self.alongside: dict[str, int] = {}
        self.gate.clear()

    def send(self, message: OutgoingMessage) -> SendResult:
        with self._lock:
            self.alongside[message.mobiles[0]] = self.in_flight
        return super().send(message)


def test_a_task_a_worker_died_holding_is_handled_alone(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    suspect = json.dumps({"template_id": 1, "mobiles": ["13800138000"], "content": "suspect"}).encode()
    for n in range(1, 4):
        push(fake_redis, template_id=2, mobiles=[f"1380013800{n}"], content="fine")
    fake_redis.rpush("sms_queue", stamp(suspect, "0123456789abcdef", crashes=1))  # fetched first
    provider = Watching()
    worker, _ = make_worker(provider=provider, concurrency=4)
    running = threading.Thread(target=worker.drain)
    running.start()
    wait_until(lambda: provider.in_flight == 1, what="the suspect in flight")
    assert fake_redis.llen("sms_queue") == 3  # the rest of its claim went back, unheld
    provider.gate.set()
    running.join(timeout=30)
    assert provider.alongside["+8613800138000"] == 0  # nothing else was held while it ran
    assert sorted(provider.sent_to()) == [f"+86138001380{n:02d}" for n in range(4)]


def test_a_drain_gives_up_on_a_redis_that_stays_away(parser: TaskParser, logs: LogCapture) -> None:
    server = fakeredis.FakeServer()
    server.connected = False  # every command: ConnectionError
    queue = RedisQueue(fakeredis.FakeRedis(server=server), "sms_queue", "{sms_queue}:dead", use_blmove=True)
    options = WorkerOptions(drain_patience_s=0.1, shutdown_timeout_s=0.5)
    totals = Worker(queue, [FakeProvider()], parser, options, logs.logger, wait=tenth_of_backoff).drain()
    assert not totals.drained
    assert totals.gave_up.startswith("Redis kept failing for ") and "ConnectionError" in totals.gave_up
    assert logs.events("redis.unavailable")


def test_no_more_is_claimed_while_outcomes_cannot_be_recorded(
    make_worker: MakeWorker,
    fake_redis: fakeredis.FakeRedis,
    logs: LogCapture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from smsworker.worker import settle

    monkeypatch.setattr(settle, "MAX_BACKLOG", 5)
    fake_redis.set("{sms_queue}:dead", "not a list")  # every settle with a dead letter fails
    for n in range(30):
        push(fake_redis, template_id=n, mobiles=["12345"], content="x")  # each one dead letter
    worker, _ = make_worker(concurrency=2)
    running = threading.Thread(target=worker.run)
    running.start()
    # Three failed settles take 0.15 s of backoff (a tenth of the real one): long enough to have
    # claimed everything, unchecked.
    wait_until(lambda: len(logs.events("redis.command_failed")) >= 3, what="settles failing")
    # Held: the batch being retried and a backlog of 5, plus what the senders have, at most.
    assert fake_redis.llen("{sms_queue}:processing:" + worker.id) <= 5 + 5 + 2 * 2
    assert fake_redis.llen("sms_queue") >= 30 - 14
    fake_redis.delete("{sms_queue}:dead")
    wait_until(lambda: fake_redis.llen("{sms_queue}:dead") == 30, timeout_s=30, what="all recorded")
    worker.request_stop()
    running.join(timeout=10)
    assert fake_redis.llen("sms_queue") == 0
