"""Upgrading a single-server deployment from the layout before 0.2 (``sms_queue:dead``…) loses
nothing: two workers of this version start at the same moment on a Redis holding the old keys (a
dead-letter list, the processing list of a worker that died, its registration, counters, the
progress of a half-sent task); every key is found under its new name, moved once, the dead
worker's tasks are recovered and sent, and a recipient sent before the upgrade is not sent again."""

from __future__ import annotations

import json
from collections.abc import Callable

import redis

from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

Start = Callable[..., WorkerProcess]
DEAD_WORKER = "oldhost:4242:abcdef"


def test_two_workers_starting_at_once_move_the_old_keys_once_and_lose_nothing(
    start_worker: Start, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    r = redis_server.client()
    envelopes = [json.dumps({"reason": "invalid_mobile", "n": n}).encode() for n in range(2)]
    r.rpush("sms_queue:dead", *envelopes)
    half_sent = json.dumps(
        {"template_id": 1, "mobiles": ["13900000001", "13900000002"], "content": "x", "id": "o1"}
    )
    untouched = json.dumps({"template_id": 1, "mobiles": ["13900000003"], "content": "x"})
    r.rpush(f"sms_queue:processing:{DEAD_WORKER}", half_sent, untouched)
    r.sadd("sms_queue:workers", DEAD_WORKER)
    r.hset("sms_queue:stats", mapping={"sent": 5, "tasks": 3})
    r.hset("sms_queue:progress:id:o1", "+8613900000001", "1")  # sent before the upgrade
    old_keys = set(r.keys("sms_queue:*"))

    args = ("--provider", "http", "--http-url", fake_api.url, "--heartbeat-ttl", "3")
    workers = [start_worker(*args), start_worker(*args)]

    wait_until(lambda: len(fake_api.delivered) >= 2, timeout_s=30, what="the dead worker's tasks sent")
    wait_until(lambda: r.llen(f"{{sms_queue}}:processing:{DEAD_WORKER}") == 0, what="nothing left held")
    assert sorted(fake_api.delivered) == ["+8613900000002", "+8613900000003"]  # 0001 was sent before
    assert r.lrange("{sms_queue}:dead", 0, -1) == envelopes
    wait_until(lambda: r.hget("{sms_queue}:stats", "sent") == b"7", what="the counters carried over")
    assert r.hget("{sms_queue}:stats", "tasks") == b"5"
    assert r.keys("sms_queue:*") == []
    moved = sum(e["keys"] for w in workers for e in w.events("redis.layout_upgraded"))
    assert moved == len(old_keys) == 5  # each moved once, by one of the two
    assert r.get("{sms_queue}:layout") is not None


def test_check_says_what_the_next_start_will_move(
    cli: Callable[..., object], redis_server: RedisServer
) -> None:
    r: redis.Redis = redis_server.client()
    r.rpush("sms_queue:dead", b"{}")
    said = cli("check")
    assert "note: 1 key of the layout before 0.2" in said.stdout  # type: ignore[attr-defined]
    assert r.llen("sms_queue:dead") == 1  # check moves nothing
    assert "sms_queue:dead" not in cli("stats").stdout  # type: ignore[attr-defined]
    assert r.llen("{sms_queue}:dead") == 1 and not r.exists("sms_queue:dead")
