"""A task that kills the worker every time (here: the provider end kills the process that sends
it, as an OOM killer or a segfault would), under a restart loop as systemd runs one: after
``--poison-after`` deaths it is set aside as ``poison`` and everything else is sent; the tasks that
happened to be claimed beside it are not quarantined with it."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable

import pytest

from tests.support.loopback import Answer, Request, serve
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

Start = Callable[..., WorkerProcess]
POISON = "+8613500000000"


def test_a_task_that_kills_every_worker_is_quarantined_and_the_rest_is_sent(
    start_worker: Start, redis_server: RedisServer
) -> None:
    r = redis_server.client()
    poison = json.dumps({"template_id": 1, "mobiles": ["13500000000"], "content": "boom"}).encode()
    good = [f"1350000{n:04d}" for n in range(1, 9)]
    r.lpush(
        "sms_queue", poison, *[json.dumps({"template_id": 1, "mobiles": [m], "content": "ok"}) for m in good]
    )
    current: list[WorkerProcess] = []
    requests: list[str] = []

    def provider(request: Request) -> Answer:
        mobile = json.loads(request.body)["mobile"]
        requests.append(mobile)
        if mobile == POISON:
            os.kill(current[-1].pid, signal.SIGKILL)  # the process holding it dies, every time
        else:
            time.sleep(0.3)  # slow enough that tasks claimed beside it are still held at the kill
        return Answer(200)

    with serve(provider) as base_url:
        for life in range(1, 5):  # what Restart=always does
            current.append(
                start_worker("--provider", "http", "--http-url", base_url + "/sms", "--concurrency", "4")
            )
            if life < 4:
                assert current[-1].wait(timeout_s=30) == -signal.SIGKILL
        worker = current[-1]
        wait_until(lambda: r.llen("{sms_queue}:dead") == 1 and r.llen("sms_queue") == 0, timeout_s=30)
        wait_until(lambda: not r.keys("{sms_queue}:processing:*"), timeout_s=10, what="nothing held")
        assert worker.process.poll() is None, "the fourth worker must keep serving"
        worker.send(signal.SIGTERM)
        assert worker.wait() == 0
    assert requests.count(POISON) == 3
    assert {"+86" + m for m in good} <= set(requests)
    [envelope] = [json.loads(e) for e in r.lrange("{sms_queue}:dead", 0, -1)]
    assert envelope["reason"] == "poison" and envelope["payload"] == poison.decode()
    assert worker.events("task.dead_lettered")[0]["reason"] == "poison"
