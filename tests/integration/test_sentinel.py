"""Redis Sentinel: the primary is killed, Sentinel promotes the replica, and the worker goes on sending."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def tasks(start: int, count: int) -> list[str]:
    return [
        json.dumps({"template_id": 1, "mobiles": [f"135{n:08d}"], "content": "x"})
        for n in range(start, start + count)
    ]


def test_failover_to_the_replica(start_worker: Callable[..., WorkerProcess], tmp_path: Path) -> None:
    primary = RedisServer(tmp_path / "primary")
    primary.start()
    replica = RedisServer(tmp_path / "replica", extra_args=("--replicaof", "127.0.0.1", str(primary.port)))
    replica.start()
    sentinel_port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor mymaster 127.0.0.1 {primary.port} 1\n"
        "sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\n"
    )
    sentinel = subprocess.Popen([replica.binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL)
    watcher: Any = redis.Redis(port=sentinel_port, decode_responses=True)
    try:
        wait_until(
            lambda: _quietly(lambda: watcher.sentinel_slaves("mymaster")),
            timeout_s=30,
            what="the sentinel to know the replica",
        )
        with FakeSmsApi() as api:
            worker = start_worker(
                "--provider",
                "http",
                "--http-url",
                api.url,
                "--sentinel",
                f"127.0.0.1:{sentinel_port}",
                url=primary.url,
            )
            worker.wait_for_event("worker.started")
            primary.client().lpush("sms_queue", *tasks(0, 20))
            wait_until(lambda: len(api.delivered) == 20, what="20 sends through the first primary")
            assert primary.process is not None
            primary.process.kill()
            primary.process.wait()
            primary.process = None

            def promoted() -> bool:
                address = _quietly(lambda: watcher.sentinel_get_master_addr_by_name("mymaster"))
                return bool(address == ("127.0.0.1", replica.port))

            wait_until(promoted, timeout_s=30, what="the replica to be promoted")
            replica.client().lpush("sms_queue", *tasks(20, 20))
            wait_until(
                lambda: len(set(api.delivered)) == 40, timeout_s=30, what="20 more through the new primary"
            )
            assert worker.process.poll() is None
            assert worker.events("redis.reconnected")
            worker.send(signal.SIGTERM)
            assert worker.wait(timeout_s=15) == 0
        # Everything pushed before the kill had been settled; nothing was lost on promotion here.
        assert sorted(set(api.delivered)) == sorted(f"+86135{n:08d}" for n in range(40))
    finally:
        watcher.close()
        sentinel.terminate()
        sentinel.wait(timeout=10)
        replica.stop()
        primary.stop()


def _quietly(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except redis.RedisError:
        return None
