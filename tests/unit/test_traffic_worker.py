"""Traffic control through the whole worker on fakeredis: lanes in priority order, the floor that
keeps a lower lane moving, scheduled and quiet-hour sending with a clock the test moves, pause,
cancel, campaigns, and a lane's own senders."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import fakeredis

from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.store.control import TrafficControl
from smsworker.store.queue import RedisQueue
from smsworker.testing import FakeProvider
from smsworker.worker.lanes import Lane, LanePlanner
from smsworker.worker.loop import Worker
from smsworker.worker.slots import Slots
from tests.support.waiting import wait_until

MakeWorker = Callable[..., tuple[Worker, FakeProvider]]
LANES = (Lane("otp", templates=("1",)), Lane("bulk", min_share=10, templates=("2",)), Lane("default"))


class Clock:
    def __init__(self, at: float = 1_800_000_000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def push(r: fakeredis.FakeRedis, key: str = "sms_queue", **task: Any) -> bytes:
    task.setdefault("content", "hello")
    payload = json.dumps(task).encode()
    r.lpush(key, payload)
    return payload


def sent_numbers(provider: FakeProvider) -> list[str]:
    return [n for request in provider.requests for n in request.mobiles]


def number(n: int) -> str:
    return f"+86138{n:08d}"


def test_codes_go_before_the_campaign_queued_ahead_of_them(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    for i in range(20):
        push(fake_redis, template_id=2, mobiles=[number(i)])
    push(fake_redis, template_id=1, mobiles=[number(100)])
    worker, provider = make_worker(concurrency=1, lanes=LANES)
    worker.drain()
    assert sent_numbers(provider)[0] == number(100)
    assert sorted(sent_numbers(provider)) == sorted([number(i) for i in range(20)] + [number(100)])


def test_a_flood_of_codes_leaves_the_lower_lane_its_floor() -> None:
    planner = LanePlanner(LANES)
    taken: list[str] = []
    lengths = {"otp": 1000, "bulk": 1000, "default": 0}
    for _ in range(500):
        # One element a claim, as a worker with one free sender takes: the first lane that has work.
        lane = next(name for name, most in planner.plan(1) if most and lengths[name])
        taken.append(lane)
        planner.record([lane], lengths)
    share = taken[-200:].count("bulk") / 200
    assert 0.09 <= share <= 0.2
    assert taken[:10] == ["otp"] * 10  # nothing taken yet from bulk says nothing: priority first


def test_a_lane_field_naming_no_lane_is_dead_lettered_with_its_reason(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    push(fake_redis, template_id=1, lane="nope", mobiles=[number(1)])
    worker, provider = make_worker(lanes=LANES)
    worker.drain()
    [envelope] = [json.loads(e) for e in fake_redis.lrange("{sms_queue}:dead", 0, -1)]
    assert envelope["reason"] == "invalid_task" and "'nope'" in envelope["error"]
    assert provider.requests == []


def test_a_task_due_later_waits_then_is_sent_once_when_due(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    clock = Clock()
    push(fake_redis, template_id=2, id="later", mobiles=[number(1)], send_at=clock.at + 3600)
    push(fake_redis, template_id=2, mobiles=[number(2)])
    worker, provider = make_worker(lanes=LANES, now=clock)
    worker.drain()
    assert sent_numbers(provider) == [number(2)]
    state = json.loads(fake_redis.hget("{sms_queue}:status:later", number(1)) or b"")
    assert state["state"] == "scheduled" and state["until"] == clock.at + 3600
    assert fake_redis.zcard("{sms_queue}:scheduled") == 1
    clock.at += 3599
    worker, provider = make_worker(lanes=LANES, now=clock)
    worker.drain()
    assert provider.requests == []  # not a second early
    clock.at += 1
    worker, provider = make_worker(lanes=LANES, now=clock)
    worker.drain()
    assert sent_numbers(provider) == [number(1)]
    assert fake_redis.zcard("{sms_queue}:scheduled") == 0


def test_send_at_more_than_a_year_ahead_is_dead_lettered(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    clock = Clock()
    push(fake_redis, template_id=2, mobiles=[number(1)], send_at=(clock.at + 400 * 86400) * 1000)
    worker, _ = make_worker(now=clock)
    worker.drain()
    [envelope] = [json.loads(e) for e in fake_redis.lrange("{sms_queue}:dead", 0, -1)]
    assert envelope["reason"] == "invalid_task" and "366 days" in envelope["error"]


def test_recipients_in_their_quiet_hours_wait_apart_and_the_rest_go_now(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    clock = Clock()
    quiet = {number(1): clock.at + 60, number(2): clock.at + 120}
    lanes = (
        Lane(
            "bulk", templates=("2",), quiet_until=lambda n, now: q if (q := quiet.get(n, 0)) > now else None
        ),
    )
    push(fake_redis, template_id=2, id="t", campaign="spring", mobiles=[number(1), number(2), number(3)])
    worker, provider = make_worker(lanes=lanes, now=clock)
    worker.drain()
    assert sent_numbers(provider) == [number(3)]
    assert json.loads(fake_redis.hget("{sms_queue}:status:t", number(2)) or b"")["state"] == "deferred"
    counts = fake_redis.hgetall("{sms_queue}:campaign:spring")
    assert counts[b"scheduled"] == b"2" and counts[b"sent"] == b"1"
    for step, expected in ((60, [number(1)]), (60, [number(2)])):
        clock.at += step
        worker, provider = make_worker(lanes=lanes, now=clock)
        worker.drain()
        assert sent_numbers(provider) == expected
    assert fake_redis.hget("{sms_queue}:campaign:spring", "scheduled") == b"0"
    assert json.loads(fake_redis.hget("{sms_queue}:status:t", number(2)) or b"")["state"] == "sent"


def test_nothing_is_sent_on_a_paused_lane_and_everything_after_resume(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    control = TrafficControl.of(queue)
    control.pause("lane:bulk", "test")
    push(fake_redis, template_id=2, mobiles=[number(1)])
    push(fake_redis, template_id=1, mobiles=[number(2)])
    worker, provider = make_worker(lanes=LANES)
    worker.drain()  # ends: what is paused stays queued
    assert sent_numbers(provider) == [number(2)]
    assert fake_redis.llen("{sms_queue}:lane:bulk") == 1
    control.resume("lane:bulk")
    worker, provider = make_worker(lanes=LANES)
    worker.drain()
    assert sent_numbers(provider) == [number(1)]
    assert fake_redis.llen("{sms_queue}:dead") == 0


def test_pausing_everything_holds_a_worker_without_lanes_too(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    TrafficControl.of(queue).pause("all", "test")
    push(fake_redis, template_id=2, mobiles=[number(1)])
    worker, provider = make_worker()
    worker.drain()
    assert provider.requests == [] and fake_redis.llen("sms_queue") == 1


def test_a_cancelled_task_and_campaign_end_cancelled_and_unsent(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    control = TrafficControl.of(queue)
    push(fake_redis, template_id=2, id="gone", mobiles=[number(1), number(2)])
    for i in range(3, 6):
        push(fake_redis, template_id=2, campaign="spring", mobiles=[number(i)])
    push(fake_redis, template_id=2, mobiles=[number(9)])
    control.cancel_task("gone", "test")
    control.cancel_campaign("spring", "test")
    worker, provider = make_worker(lanes=LANES)
    worker.drain()
    assert sent_numbers(provider) == [number(9)]
    assert fake_redis.hget("{sms_queue}:stats", "cancelled") == b"5"
    assert json.loads(fake_redis.hget("{sms_queue}:status:gone", number(1)) or b"")["state"] == "cancelled"
    assert fake_redis.hget("{sms_queue}:campaign:spring", "cancelled") == b"3"
    assert fake_redis.llen("{sms_queue}:dead") == 0


def test_a_paused_campaign_is_parked_and_sent_in_order_on_resume(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    control = TrafficControl.of(queue)
    control.pause("campaign:spring", "test")
    for i in range(4):
        push(fake_redis, template_id=2, campaign="spring", mobiles=[number(i)])
    push(fake_redis, template_id=2, mobiles=[number(9)])
    worker, provider = make_worker(concurrency=1, lanes=LANES)
    worker.drain()
    assert sent_numbers(provider) == [number(9)]
    assert fake_redis.llen("{sms_queue}:parked:spring") == 4
    control.resume("campaign:spring")
    worker, provider = make_worker(concurrency=1, lanes=LANES)
    worker.drain()
    assert sent_numbers(provider) == [number(i) for i in range(4)]


def test_a_lanes_reserved_senders_are_its_own() -> None:
    slots = Slots(1, {"otp": 1})
    never = lambda: False  # noqa: E731 - a stop that does not come
    shared = slots.take("bulk", tick_s=0.01, on_tick=lambda: None, stop=never)
    assert shared is not None and shared.lane is None
    assert slots.free_for("bulk") == 0 and slots.free_for("otp") == 1
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 2:
            slots.give(shared)

    # bulk must wait for the shared slot back: otp's is not its own.
    again = slots.take("bulk", tick_s=0.01, on_tick=tick, stop=never)
    assert again is not None and again.lane is None and len(ticks) == 2
    kept = slots.take("otp", tick_s=0.01, on_tick=lambda: None, stop=never)
    assert kept is not None and kept.lane == "otp"


def test_a_lane_whose_every_provider_is_paused_waits_and_the_drain_still_ends(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    control = TrafficControl.of(queue)
    control.pause("provider:fake", "test")
    push(fake_redis, template_id=2, mobiles=[number(1)])
    worker, provider = make_worker(lanes=LANES)
    worker.drain()
    assert provider.requests == [] and fake_redis.llen("{sms_queue}:lane:bulk") == 1
    assert not fake_redis.keys("{sms_queue}:processing:*")  # taken by nobody, so held by nobody
    control.resume("provider:fake")
    worker, provider = make_worker(lanes=LANES)
    worker.drain()
    assert sent_numbers(provider) == [number(1)]


def test_tasks_left_in_a_lane_no_longer_declared_are_sent_all_the_same(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    push(fake_redis, "{sms_queue}:lane:gone", template_id=2, mobiles=[number(1)])
    push(fake_redis, "{sms_queue}:lane:otp", template_id=1, mobiles=[number(2)])
    worker, provider = make_worker(lanes=LANES)
    worker.drain()
    assert sorted(sent_numbers(provider)) == [number(1), number(2)]
    push(fake_redis, "{sms_queue}:lane:otp", template_id=1, mobiles=[number(3)])
    worker, provider = make_worker()  # the lanes removed from the settings
    worker.drain()
    assert sent_numbers(provider) == [number(3)]
    assert not fake_redis.keys("{sms_queue}:lane:*")


class CampaignHeldProvider(FakeProvider):
    """Holds every request of template 2 (the campaign) until ``release``; codes go at once."""

    def __init__(self) -> None:
        super().__init__(max_batch_size=10)  # a claim may take more than there are senders
        self.release = threading.Event()
        self.holding = 0  # campaign requests waiting for the release

    def send(self, message: OutgoingMessage) -> SendResult:
        if message.template_id == 2:
            self.holding += 1
            self.release.wait(60)
        return super().send(message)


def test_a_code_takes_its_lanes_own_sender_while_the_campaign_holds_every_other(
    make_worker: MakeWorker, fake_redis: fakeredis.FakeRedis
) -> None:
    lanes = (Lane("otp", templates=("1",), concurrency=1), Lane("bulk", templates=("2",)))
    for i in range(4):  # each its own text: a request each, so the campaign needs every sender
        push(fake_redis, template_id=2, content=f"sale {i}", mobiles=[number(i)])
    provider = CampaignHeldProvider()
    worker, _ = make_worker(provider=provider, concurrency=2, lanes=lanes)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        # The one shared sender holds a campaign request, and the fetch thread waits for it with
        # the next ones in hand (a claim takes up to a request's worth of tasks a sender): the
        # code is taken and sent by otp's own sender meanwhile.
        wait_until(lambda: provider.holding == 1, what="the campaign to hold the shared sender")
        push(fake_redis, template_id=1, mobiles=[number(100)])
        wait_until(lambda: number(100) in provider.sent_to(), what="the code to be sent")
        assert provider.holding == 1 and provider.requests == [provider.requests[0]]
    finally:
        provider.release.set()
        worker.request_stop()
        thread.join(10)
    assert number(100) in provider.sent_to()
