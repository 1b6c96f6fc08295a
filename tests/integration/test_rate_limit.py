"""--rate-limit is shared by every worker on the same Redis (GCRA in one Lua script)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable

from smsworker.logs import make_logger
from smsworker.store.queue import RedisQueue
from smsworker.store.ratelimit import RateLimiter
from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

Start = Callable[..., WorkerProcess]


def test_the_limiter_spaces_requests_on_a_real_redis(redis_server: RedisServer, redis_url: str) -> None:
    queue = RedisQueue(redis_server.client(), "sms_queue", "{sms_queue}:dead")
    limiter = RateLimiter(queue, {"http": 20.0}, make_logger(fmt="json"))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    for _ in range(6):
        limiter.wait_turn("http", sleep)
    limiter.wait_turn("log", sleep)  # no limit for it: no wait
    assert len(waits) >= 5  # the first goes at once, the others wait their 50 ms turn
    assert all(0 < w <= 0.051 for w in waits)


def test_three_workers_together_stay_under_the_limit(
    start_worker: Start, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    workers = [
        start_worker("--provider", "http", "--http-url", fake_api.url, "--rate-limit", "http=20/s")
        for _ in range(3)
    ]
    for worker in workers:
        worker.wait_for_event("worker.started")
    tasks = [json.dumps({"template_id": 1, "mobiles": [f"136{n:08d}"], "content": "x"}) for n in range(60)]
    redis_server.client().lpush("sms_queue", *tasks)
    wait_until(lambda: len(fake_api.delivered) == 60, timeout_s=30, what="60 sends")
    for worker in workers:
        worker.send(signal.SIGTERM)
        assert worker.wait(timeout_s=15) == 0
    assert len({e["worker"] for w in workers for e in w.events("task.settled")}) >= 2  # they shared the work
    # GCRA at 20/s admits one request every 50 ms: no second holds more than 20 (+1 at its edge).
    assert fake_api.busiest_second() <= 21
