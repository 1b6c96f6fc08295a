"""Traffic control's Redis side (``store/control.py``): pauses, cancels, campaigns, and the parked tasks
of a paused campaign going back to the front of their lanes exactly once."""

from __future__ import annotations

import json
import time
from typing import Any

import fakeredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsworker.receipts import state_json
from smsworker.store.control import TrafficControl, parse_scope
from smsworker.store.keys import CANCEL_TTL_S
from smsworker.store.queue import RedisQueue


@pytest.fixture
def control(queue: RedisQueue) -> TrafficControl:
    return TrafficControl.of(queue, receipt_ttl_s=3600)


def test_a_pause_is_new_once_and_a_resume_ends_it(control: TrafficControl) -> None:
    assert control.pause("lane:otp", "cli ops@host")
    assert not control.pause("lane:otp", "someone else")  # the first pause's time and author stay
    assert control.pause("all", "dashboard ana")
    pauses = control.paused()
    assert [p.scope for p in pauses] == ["lane:otp", "all"]
    assert pauses[0].by == "cli ops@host" and abs(pauses[0].at - time.time()) < 5
    assert control.resume("lane:otp")
    assert not control.resume("lane:otp")
    assert [p.scope for p in control.paused()] == ["all"]


def test_a_pause_written_by_hand_still_counts(
    control: TrafficControl, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.hset(control.keys.paused, "provider:aliyun", "yes")
    assert [(p.scope, p.at, p.by) for p in control.paused()] == [("provider:aliyun", 0.0, "")]


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "everything",
        "lane:",
        "lane:OTP",
        "lane:-x",
        "lane:" + "a" * 33,
        "provider:a b",
        "campaign:",
        "campaign:" + "x" * 65,
        "campaign:a\nb",
        "queue:x",
    ],
)
def test_a_bad_scope_is_refused_with_what_is_expected(control: TrafficControl, scope: str) -> None:
    with pytest.raises(ValueError, match=r"invalid (scope|lane name|provider name|campaign name)") as caught:
        control.pause(scope, "me")
    assert "\n" not in str(caught.value).replace(repr(scope), "")


@given(name=st.from_regex(r"[a-z0-9][a-z0-9_-]{0,31}", fullmatch=True))
def test_every_name_of_the_pattern_is_a_lane_scope(name: str) -> None:
    assert parse_scope(f"lane:{name}") == ("lane", name)
    assert parse_scope(f"provider:{name}") == ("provider", name)


def test_resume_of_a_paused_campaign_moves_its_parked_tasks_to_the_front_of_their_lanes_once(
    control: TrafficControl, queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    keys = control.keys
    fake_redis.lpush(keys.lane("bulk"), b"b-queued-2", b"b-queued-1")  # b-queued-2 is next (right end)
    fake_redis.lpush(keys.lane("otp"), b"o-queued")
    fake_redis.lpush(keys.queue, b"q-queued")
    assert control.pause("campaign:spring", "cli ops@host")
    # Parked as workers park: newest on the left. Oldest parked first: bulk-1, then otp-1, bulk-2, plain.
    for element in (b"bulk\nbulk-1", b"otp\notp-1", b"bulk\nbulk-2", b"\nplain-1"):
        fake_redis.lpush(keys.parked("spring"), element)
    fake_redis.lpush(keys.parked("other"), b"bulk\nother-1")

    assert control.resume("campaign:spring")

    def taken_order(key: str) -> list[Any]:
        return list(reversed(fake_redis.lrange(key, 0, -1)))  # workers take from the right

    assert taken_order(keys.lane("bulk")) == [b"bulk-1", b"bulk-2", b"b-queued-2", b"b-queued-1"]
    assert taken_order(keys.lane("otp")) == [b"otp-1", b"o-queued"]
    assert taken_order(keys.queue) == [b"plain-1", b"q-queued"]
    assert not fake_redis.exists(keys.parked("spring"))
    assert fake_redis.llen(keys.parked("other")) == 1  # another campaign's stay
    assert control.paused() == []
    # Again: nothing parked, nothing paused: nothing moves twice.
    assert not control.resume("campaign:spring")
    assert fake_redis.llen(keys.lane("bulk")) == 4 and fake_redis.llen(keys.queue) == 2


def test_a_task_parked_under_a_new_lane_between_the_read_and_the_move_is_moved_too(
    control: TrafficControl, fake_redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = control.keys
    fake_redis.lpush(keys.parked("c"), b"bulk\nb-1")
    real = fake_redis.lrange
    calls = 0

    def lrange_then_park(name: str, start: int, end: int) -> list[Any]:
        nonlocal calls
        calls += 1
        seen: list[Any] = real(name, start, end)
        if calls == 1:  # a worker parks under a lane the first read did not see
            fake_redis.lpush(keys.parked("c"), b"otp\no-1")
        return seen

    monkeypatch.setattr(fake_redis, "lrange", lrange_then_park)
    control.pause("campaign:c", "me")
    assert control.resume("campaign:c")
    monkeypatch.undo()
    assert calls == 2
    assert fake_redis.lrange(keys.lane("bulk"), 0, -1) == [b"b-1"]
    assert fake_redis.lrange(keys.lane("otp"), 0, -1) == [b"o-1"]


def test_cancel_of_a_task_marks_the_waiting_and_reports_the_sent_and_twice_is_the_same(
    control: TrafficControl, fake_redis: fakeredis.FakeRedis
) -> None:
    status = control.keys.status("order-7")
    fake_redis.hset(
        status,
        mapping={
            "13800138000": state_json("queued", 1.0),
            "+8613800138001": state_json("sent", 2.0, provider="aliyun", message_id="m1"),
            "+8613800138002": state_json("delivered", 3.0),
            "+8613800138003": state_json("scheduled", 4.0, until=9e9),
            "+8613800138004": state_json("deferred", 4.0, until=9e9),
            "+8613800138005": state_json("dead", 5.0, reason="provider_rejected"),
        },
    )
    fake_redis.expire(status, 500)
    first = control.cancel_task("order-7", "cli ops@host")
    assert first.cancelled
    assert first.sent == ("+8613800138001", "+8613800138002")
    assert first.pending == ("+8613800138003", "+8613800138004", "13800138000")
    assert first.dead == ("+8613800138005",)
    for number in first.pending:
        assert json.loads(fake_redis.hget(status, number) or b"")["state"] == "cancelled"
    assert json.loads(fake_redis.hget(status, "+8613800138001") or b"")["state"] == "sent"
    cancel = fake_redis.get(control.keys.cancel_id("order-7"))
    assert cancel is not None and json.loads(cancel)["by"] == "cli ops@host"
    assert CANCEL_TTL_S - 10 <= fake_redis.ttl(control.keys.cancel_id("order-7")) <= CANCEL_TTL_S
    assert 0 < fake_redis.ttl(status) <= 500  # the status hash keeps its own TTL

    second = control.cancel_task("order-7", "dashboard ana")
    assert not second.cancelled
    assert (second.sent, second.pending, second.dead) == (first.sent, first.pending, first.dead)
    assert fake_redis.get(control.keys.cancel_id("order-7")) == cancel  # the first cancel's author stays


def test_cancel_of_a_task_nothing_is_known_of_still_cancels_it(control: TrafficControl) -> None:
    report = control.cancel_task("not-pushed-yet", "php")
    assert report.cancelled and report.sent == report.pending == report.dead == ()


def test_cancel_of_a_campaign_moves_its_parked_tasks_back_ends_its_pause_and_is_idempotent(
    control: TrafficControl, fake_redis: fakeredis.FakeRedis
) -> None:
    keys = control.keys
    control.pause("campaign:spring", "me")
    fake_redis.lpush(keys.parked("spring"), b"bulk\nb-1", b"bulk\nb-2")
    assert control.cancel_campaign("spring", "cli ops@host")
    assert fake_redis.lrange(keys.lane("bulk"), 0, -1) == [b"b-2", b"b-1"]  # b-1, parked first, is next
    assert control.paused() == []
    assert CANCEL_TTL_S - 10 <= fake_redis.ttl(keys.cancel_campaign("spring")) <= CANCEL_TTL_S
    first = fake_redis.get(keys.cancel_campaign("spring"))
    assert not control.cancel_campaign("spring", "someone else")
    assert fake_redis.get(keys.cancel_campaign("spring")) == first
    assert fake_redis.llen(keys.lane("bulk")) == 2


def test_campaigns_newest_first_with_their_counts_and_the_expired_ones_dropped(
    control: TrafficControl, fake_redis: fakeredis.FakeRedis
) -> None:
    keys = control.keys
    now = time.time()
    fake_redis.zadd(keys.campaigns, {"old": now - 4000, "spring": now - 100, "summer": now - 10})
    fake_redis.hset(
        keys.campaign("spring"), mapping={"tasks": 3, "sent": 250, "delivered": 240, "segments": 300}
    )
    fake_redis.hset(keys.campaign("summer"), mapping={"tasks": 1, "scheduled": 50})
    control.pause("campaign:summer", "me")
    control.cancel_campaign("spring", "me")

    found = control.campaigns(now)
    assert [c.name for c in found] == ["summer", "spring"]
    assert fake_redis.zscore(keys.campaigns, "old") is None
    summer, spring = found
    assert summer.paused and summer.scheduled == 50 and summer.cancelled_at is None
    assert (spring.tasks, spring.sent, spring.delivered, spring.segments) == (3, 250, 240, 300)
    assert spring.cancelled_at is not None and abs(spring.cancelled_at - now) < 5
    assert spring.last_at == pytest.approx(now - 100)
    assert control.campaign("spring") == spring
    assert control.campaign("never") is None
