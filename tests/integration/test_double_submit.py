"""The same ``id`` pushed twice at once (a double-submitted form): each recipient is sent once, by
whichever worker reserves it first; the other waits for it and counts it as skipped."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable

import pytest

from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

Start = Callable[..., WorkerProcess]


def test_the_same_id_pushed_twice_to_two_workers_is_sent_once(
    start_worker: Start, redis_server: RedisServer
) -> None:
    r = redis_server.client()
    tasks = []
    for order in range(30):
        mobiles = [f"1360000{order:02d}{n:02d}" for n in range(3)]
        tasks.append(
            json.dumps({"template_id": 1, "mobiles": mobiles, "content": "x", "id": f"order-{order}"})
        )
    with FakeSmsApi(delay_s=0.05) as api:
        args = ("--provider", "http", "--http-url", api.url, "--concurrency", "6", "--http-batch-size", "2")
        workers = [start_worker(*args) for _ in range(2)]
        for worker in workers:
            worker.wait_for_event("worker.started")
        for payload in tasks:  # each twice, side by side: both workers take one at the same moment
            r.lpush("sms_queue", payload, payload)
        expected = {f"+861360000{order:02d}{n:02d}" for order in range(30) for n in range(3)}
        wait_until(lambda: set(api.delivered) == expected, timeout_s=60, what="every recipient sent")
        wait_until(
            lambda: sum(len(w.events("task.settled")) for w in workers) == 60, timeout_s=30, what="60 settled"
        )
        for worker in workers:
            worker.send(signal.SIGTERM)
            assert worker.wait() == 0
    assert sorted(api.delivered) == sorted(expected), "a recipient was sent twice under one id"
    settled = [e for w in workers for e in w.events("task.settled")]
    assert sum(e["sent"] for e in settled) == 90 and sum(e.get("skipped", 0) for e in settled) == 90
    assert all(w.events("task.settled") for w in workers)  # both workers took part
    assert r.llen("{sms_queue}:dead") == 0
