"""``smsworker run`` as a real process: blocking fetch, signals, SIGKILL, Redis restarts, recovery."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

Start = Callable[..., WorkerProcess]


def task(mobiles: list[str], **extra: Any) -> str:
    return json.dumps({"template_id": 1, "mobiles": mobiles, "content": "x", **extra})


def numbers(count: int) -> list[str]:
    return [f"139{n:08d}" for n in range(count)]


def e164(mobiles: list[str]) -> list[str]:
    return ["+86" + m for m in mobiles]


@pytest.fixture
def slow_api() -> Iterator[FakeSmsApi]:
    with FakeSmsApi(delay_s=0.02) as api:
        yield api


def http(api: FakeSmsApi, *more: str) -> tuple[str, ...]:
    return ("--provider", "http", "--http-url", api.url, *more)


def test_idle_worker_picks_up_a_task_at_once_and_stops_on_sigterm(
    start_worker: Start, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    worker = start_worker(*http(fake_api))
    worker.wait_for_event("worker.started")
    redis_server.client().lpush("sms_queue", task(["13800138000"]))
    wait_until(lambda: fake_api.delivered, what="the task to be sent")
    worker.send(signal.SIGTERM)
    assert worker.wait(timeout_s=10) == 0
    assert worker.events("worker.stopped")[0]["sent"] == 1
    assert redis_server.client().smembers("{sms_queue}:workers") == set()


def test_sigterm_under_load_loses_nothing_and_duplicates_nothing(
    start_worker: Start, redis_server: RedisServer, slow_api: FakeSmsApi
) -> None:
    r = redis_server.client()
    mobiles = numbers(300)
    r.lpush("sms_queue", task(mobiles[:150]), task(mobiles[150:]))
    worker = start_worker(*http(slow_api, "--concurrency", "4"))
    wait_until(lambda: len(slow_api.delivered) >= 40, what="40 sends")
    worker.send(signal.SIGTERM)
    assert worker.wait(timeout_s=15) == 0
    assert worker.events("worker.stopped")[0]["requeued"] >= 1
    assert r.keys("{sms_queue}:processing:*") == []
    drained = start_worker(*http(slow_api, "--concurrency", "8"), command="drain")
    assert drained.wait(timeout_s=60) == 0
    assert sorted(slow_api.delivered) == sorted(e164(mobiles))  # every one, exactly once
    assert r.llen("{sms_queue}:dead") == 0


def test_a_second_signal_exits_at_once_and_the_task_is_recovered(
    start_worker: Start, redis_server: RedisServer
) -> None:
    r = redis_server.client()
    with FakeSmsApi(delay_s=2.0) as stuck:
        r.lpush("sms_queue", task(["13800138000"]))
        worker = start_worker(*http(stuck, "--shutdown-timeout", "60"))
        wait_until(lambda: stuck.arrived, what="the provider call to be in flight")
        worker.send(signal.SIGTERM)
        worker.wait_for_event("worker.stopping")  # signals do not queue: let the first one land
        worker.send(signal.SIGTERM)
        # 128+SIGTERM, not 0: it did not wait for the provider call (2 s) or the 60 s timeout.
        assert worker.wait(timeout_s=5) == 128 + signal.SIGTERM
        assert len(r.keys("{sms_queue}:processing:*")) == 1  # safe, not lost
    with FakeSmsApi() as api:
        drained = start_worker(*http(api), command="drain")
        assert drained.wait(timeout_s=30) == 0
        assert drained.events("worker.recovered")[0]["tasks"] == 1
        assert api.delivered == ["+8613800138000"]


def test_sigkill_mid_batch_loses_nothing_and_resends_no_confirmed_recipient(
    start_worker: Start, redis_server: RedisServer, slow_api: FakeSmsApi
) -> None:
    r = redis_server.client()
    mobiles = numbers(400)
    r.lpush("sms_queue", task(mobiles))
    worker = start_worker(*http(slow_api, "--concurrency", "4"))
    wait_until(lambda: len(slow_api.delivered) >= 60, what="60 sends")
    worker.send(signal.SIGKILL)
    worker.wait()
    [progress_key] = r.keys("{sms_queue}:progress:d:*")
    # Confirmed are the "1"s; the rest are reservations of the sends in flight at the kill.
    progress = r.hgetall(progress_key)
    confirmed = {m.decode() for m, state in progress.items() if state == b"1"}  # type: ignore[union-attr]
    assert len(confirmed) >= 50
    drained = start_worker(*http(slow_api, "--concurrency", "8"), command="drain")
    assert drained.wait(timeout_s=60) == 0
    assert drained.events("worker.recovered")[0]["tasks"] == 1
    assert set(slow_api.delivered) == set(e164(mobiles))  # nothing lost
    for number in confirmed:
        assert slow_api.count(number) == 1, f"{number} was confirmed before the kill and sent again"
    duplicates = len(slow_api.delivered) - len(mobiles)
    assert duplicates <= 4  # at most the calls in flight (concurrency) at the kill
    assert r.keys("{sms_queue}:progress:*") == [] and r.keys("{sms_queue}:processing:*") == []


def test_the_worker_rides_out_a_redis_restart(
    start_worker: Start, tmp_path: Path, fake_api: FakeSmsApi
) -> None:
    server = RedisServer(tmp_path / "restartable", appendonly=True)
    server.start()
    try:
        worker = start_worker(*http(fake_api), url=server.url)
        worker.wait_for_event("worker.started")
        server.stop()
        worker.wait_for_event("redis.unavailable")
        server.start()
        server.client().lpush("sms_queue", task(["13800138000"]))
        wait_until(lambda: fake_api.delivered, timeout_s=30, what="a send after the restart")
        assert worker.events("redis.reconnected")
        assert worker.process.poll() is None
        worker.send(signal.SIGTERM)
        assert worker.wait(timeout_s=10) == 0
    finally:
        server.stop()


def test_a_worker_on_another_host_is_recovered_when_its_heartbeat_expires(
    start_worker: Start, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    r = redis_server.client()
    other = "otherhost:4242:abcdef"
    r.lpush(f"{{sms_queue}}:processing:{other}", task(["13800138000"]))
    r.sadd("{sms_queue}:workers", other)
    r.set(f"{{sms_queue}}:heartbeat:{other}", "{}", px=2500)
    worker = start_worker(*http(fake_api), "--heartbeat-ttl", "3")
    worker.wait_for_event("worker.started")
    assert r.llen(f"{{sms_queue}}:processing:{other}") == 1  # alive: left alone
    recovered = worker.wait_for_event("worker.recovered", timeout_s=15)
    assert recovered["dead_worker"] == other
    wait_until(lambda: fake_api.delivered == ["+8613800138000"], what="the recovered task to be sent")
    assert not r.exists(f"{{sms_queue}}:heartbeat:{other}")


def test_the_worker_keeps_its_heartbeat_alive(start_worker: Start, redis_server: RedisServer) -> None:
    r = redis_server.client()
    worker = start_worker("--heartbeat-ttl", "3")
    worker_id = worker.wait_for_event("worker.started")["worker"]
    key = f"{{sms_queue}}:heartbeat:{worker_id}"
    wait_until(lambda: r.exists(key), what="a heartbeat")
    assert 0 < r.pttl(key) <= 3000
    readings = [r.pttl(key)]

    def renewed() -> bool:
        # A renewal shows as the TTL jumping up between two consecutive readings.
        readings.append(r.pttl(key))
        return readings[-1] > readings[-2]

    wait_until(renewed, timeout_s=5, what="the heartbeat to be renewed")
    assert min(readings) > 0  # it never expired in between
    assert worker_id.encode() in r.smembers("{sms_queue}:workers")


def test_sigint_is_a_graceful_stop_too(start_worker: Start, redis_server: RedisServer) -> None:
    worker = start_worker()
    worker.wait_for_event("worker.started")
    worker.send(signal.SIGINT)
    assert worker.wait(timeout_s=10) == 0
    assert worker.events("worker.stopped")


def test_secrets_never_reach_the_log(start_worker: Start, redis_server: RedisServer) -> None:
    secret = "s3cr3t-t0ken-value"
    with FakeSmsApi(token=secret) as api:
        redis_server.client().lpush("sms_queue", task(["13800138000"]))
        worker = start_worker(
            *http(api, "--http-header", f"Authorization: Bearer {secret}"), "--log-level", "debug"
        )
        wait_until(lambda: api.delivered, what="an authenticated send")
        worker.send(signal.SIGTERM)
        assert worker.wait(timeout_s=10) == 0
    log = worker.log_text()
    assert "task.settled" in log
    assert secret not in log
    assert "13800138000" not in log  # masked by default


def test_redis_down_at_start_is_waited_for_and_a_stop_still_works(start_worker: Start) -> None:
    from tests.support.redis_server import free_port

    worker = start_worker("--shutdown-timeout", "300", url=f"redis://127.0.0.1:{free_port()}/0")
    worker.wait_for_event("redis.unavailable")
    assert worker.process.poll() is None  # waiting for Redis, not dead
    worker.send(signal.SIGTERM)
    # Well inside the 300 s shutdown timeout: with nothing claimed there is nothing to wait for.
    assert worker.wait(timeout_s=15) == 0


def test_redis_coming_up_after_the_worker_is_said_as_after_any_outage(
    start_worker: Start, tmp_path: Path
) -> None:
    """Started before its Redis, the worker logs the outage and its end in the words every later
    outage uses, so an alert that pairs redis.unavailable with redis.reconnected holds at boot too."""
    from tests.support.redis_server import free_port

    port = free_port()
    worker = start_worker(url=f"redis://127.0.0.1:{port}/0")
    worker.wait_for_event("redis.unavailable")
    server = RedisServer(tmp_path / "late-redis", port=port)
    server.start()
    try:
        worker.wait_for_event("worker.started", timeout_s=30)
        names = [e["event"] for e in worker.events() if e["event"].startswith(("redis.", "worker.started"))]
        assert names[-2:] == ["redis.reconnected", "worker.started"], names
        assert worker.events("redis.reconnected")[0]["action"] == "connect"
        worker.send(signal.SIGTERM)
        assert worker.wait(timeout_s=15) == 0
    finally:
        server.stop()
