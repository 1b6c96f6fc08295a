"""``--processes N``: several workers under one parent."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from typing import Any

from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.scrape import scrape
from tests.support.waiting import wait_until

Start = Callable[..., WorkerProcess]


def tasks(count: int) -> list[str]:
    return [json.dumps({"template_id": 1, "mobiles": [f"137{n:08d}"], "content": "x"}) for n in range(count)]


def live_workers(server: RedisServer) -> set[bytes]:
    r: Any = server.client()  # redis-py's stubs do not know replies are bytes
    return {w for w in r.smembers("{sms_queue}:workers") if r.exists(b"{sms_queue}:heartbeat:" + w)}


def test_run_with_processes_spreads_work_and_stops_cleanly(
    start_worker: Start, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    supervisor = start_worker("--provider", "http", "--http-url", fake_api.url, "--processes", "2")
    wait_until(lambda: len(live_workers(redis_server)) == 2, what="two worker processes")
    redis_server.client().lpush("sms_queue", *tasks(200))
    wait_until(lambda: len(fake_api.delivered) == 200, what="200 sends")
    senders = {e["worker"] for e in supervisor.events("task.settled")}
    assert len(senders) == 2  # both processes took work
    supervisor.send(signal.SIGTERM)
    assert supervisor.wait(timeout_s=20) == 0
    assert supervisor.events("supervisor.stopped")
    assert redis_server.client().smembers("{sms_queue}:workers") == set()
    assert sorted(set(fake_api.delivered)) == sorted(fake_api.delivered)


def test_a_child_that_dies_is_restarted_and_its_task_recovered(
    start_worker: Start, redis_server: RedisServer
) -> None:
    r: Any = redis_server.client()
    with FakeSmsApi(delay_s=0.3) as api:
        supervisor = start_worker("--provider", "http", "--http-url", api.url, "--processes", "2")
        pids: list[int] = supervisor.wait_for_event("supervisor.started")["pids"]
        wait_until(lambda: len(live_workers(redis_server)) == 2, what="two worker processes")
        r.lpush("sms_queue", *tasks(1))
        wait_until(lambda: api.arrived, what="the send to be in flight")
        owner = next(k for k in r.keys("{sms_queue}:processing:*") if r.llen(k))
        victim = int(owner.decode().rsplit(":", 2)[1])
        assert victim in pids
        os.kill(victim, signal.SIGKILL)
        died = supervisor.wait_for_event("supervisor.child_died")
        assert died["pid"] == victim and died["exit_code"] == -signal.SIGKILL
        wait_until(lambda: len(live_workers(redis_server)) == 2, timeout_s=20, what="a replacement worker")
        wait_until(lambda: "+8613700000000" in api.delivered, timeout_s=20, what="the task to be recovered")
        supervisor.send(signal.SIGTERM)
        assert supervisor.wait(timeout_s=20) == 0


def test_drain_with_processes_adds_up_the_summary(start_worker: Start, redis_server: RedisServer) -> None:
    redis_server.client().lpush("sms_queue", *tasks(300))
    drained = start_worker("--processes", "2", command="drain")
    assert drained.wait(timeout_s=60) == 0
    assert drained.stdout().startswith("drained 300 tasks (300 recipients: 300 sent, 0 dead-lettered) in ")


def test_metrics_of_every_process_on_the_one_port_of_the_parent(
    start_worker: Start, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    from tests.support.redis_server import free_port

    port = free_port()
    supervisor = start_worker(
        "--provider", "http", "--http-url", fake_api.url, "--processes", "2", "--metrics-port", str(port)
    )
    wait_until(lambda: len(live_workers(redis_server)) == 2, what="two worker processes")
    redis_server.client().lpush("sms_queue", *tasks(100))
    wait_until(lambda: len(fake_api.delivered) == 100, what="100 sends")

    url = f"http://127.0.0.1:{port}/metrics"
    senders = {e["worker"] for e in supervisor.events("task.settled")}
    assert len(senders) == 2  # both processes sent, and the one port counts both
    wait_until(
        lambda: scrape(url).get(("smsworker_tasks_total", (("outcome", "settled"),))) == 100, what="100 tasks"
    )
    samples = scrape(url)
    assert samples[("smsworker_recipients_total", (("outcome", "sent"), ("reason", "")))] == 100
    assert samples[("smsworker_list_length", (("list", "queue"),))] == 0
    # Every request either process made, retries included (a loopback connection may be reset
    # under load, and the request is then made again).
    retried = len(supervisor.events("provider.retry_scheduled"))
    assert samples[("smsworker_provider_request_seconds_count", (("provider", "http"),))] == 100 + retried
    supervisor.send(signal.SIGTERM)
    assert supervisor.wait(timeout_s=20) == 0


def test_children_stop_cleanly_when_their_parent_is_killed(
    start_worker: Start, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    supervisor = start_worker("--provider", "http", "--http-url", fake_api.url, "--processes", "2")
    pids: list[int] = supervisor.wait_for_event("supervisor.started")["pids"]
    wait_until(lambda: len(live_workers(redis_server)) == 2, what="two worker processes")
    supervisor.send(signal.SIGKILL)  # no chance to forward anything
    supervisor.wait()

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(lambda: all(gone(pid) for pid in pids), timeout_s=20, what="the orphaned children to stop")
    # They stopped as on SIGTERM: deregistered, nothing left held.
    assert redis_server.client().smembers("{sms_queue}:workers") == set()
