"""A delivery report on a campaign's recipient counts in the campaign: its hash, its TTL, its place in
``campaign list``."""

from __future__ import annotations

import json
import time

import fakeredis

from smsworker.store.control import TrafficControl
from smsworker.store.queue import RedisQueue
from smsworker.store.receipts import ReceiptStore, Report

A, B, C = "+8613800138000", "+8613800138001", "+8613800138002"


def record(fake_redis: fakeredis.FakeRedis, queue: RedisQueue, number: str, **extra: object) -> None:
    key = queue.keys.receipt("fake", f"m-{number}", number)
    fake_redis.set(key, json.dumps({"id": None, "number": number, "at": time.time() - 5, **extra}), ex=600)


def test_reports_count_in_their_campaign_once_and_refresh_it(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    keys = queue.keys
    record(fake_redis, queue, A, campaign="spring")
    record(fake_redis, queue, B, campaign="spring")
    record(fake_redis, queue, C)  # no campaign: counts in the stats only
    fake_redis.hset(keys.campaign("spring"), "sent", 2)
    fake_redis.expire(keys.campaign("spring"), 10)
    fake_redis.zadd(keys.campaigns, {"spring": 1.0})
    store = ReceiptStore(queue, receipt_ttl_s=3600)
    for number, delivered in ((A, True), (B, False), (C, True), (A, True)):  # the last: a repeat
        store.apply(Report("fake", f"m-{number}", number, delivered=delivered))

    spring = TrafficControl.of(queue, receipt_ttl_s=3600).campaign("spring")
    assert spring is not None
    assert (spring.sent, spring.delivered, spring.undelivered) == (2, 1, 1)
    assert abs(spring.last_at - time.time()) < 5
    assert 3590 <= fake_redis.ttl(keys.campaign("spring")) <= 3600
    assert fake_redis.zrange(keys.campaigns, 0, -1) == [b"spring"]
    assert (queue.stats().delivered_total, queue.stats().undelivered_total) == (2, 1)


def test_a_record_with_a_campaign_that_is_no_name_counts_nowhere_else(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    record(fake_redis, queue, A, campaign="")
    record(fake_redis, queue, B, campaign=["spring"])
    store = ReceiptStore(queue)
    assert store.apply(Report("fake", f"m-{A}", A, delivered=True)).outcome == "delivered"
    assert store.apply(Report("fake", f"m-{B}", B, delivered=True)).outcome == "delivered"
    assert fake_redis.zcard(queue.keys.campaigns) == 0
