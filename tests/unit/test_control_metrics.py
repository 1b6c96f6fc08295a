"""``smsworker_paused``: one series per paused lane or provider scope, read at scrape time."""

from __future__ import annotations

import fakeredis

from smsworker.daemon.metrics import PrometheusMetrics
from smsworker.store.control import TrafficControl
from smsworker.store.queue import RedisQueue


def paused_series(metrics: PrometheusMetrics) -> dict[tuple[str, str], float]:
    return {
        (sample.labels["lane"], sample.labels["provider"]): sample.value
        for family in metrics.registry.collect()
        if family.name == "smsworker_paused"
        for sample in family.samples
    }


def test_each_paused_lane_or_provider_is_a_series_and_a_campaign_is_not(queue: RedisQueue) -> None:
    metrics = PrometheusMetrics()
    metrics.watch(queue, lambda: 0)
    assert paused_series(metrics) == {}
    control = TrafficControl.of(queue)
    for scope in ("all", "lane:otp", "provider:aliyun", "campaign:spring"):
        control.pause(scope, "me")
    assert paused_series(metrics) == {("*", "*"): 1, ("otp", "*"): 1, ("*", "aliyun"): 1}
    control.resume("all")
    assert paused_series(metrics) == {("otp", "*"): 1, ("*", "aliyun"): 1}


def test_a_hand_written_scope_of_no_known_kind_is_left_out(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.hset(queue.keys.paused, "everything", "{}")
    metrics = PrometheusMetrics()
    metrics.watch(queue, lambda: 0)
    assert paused_series(metrics) == {}
