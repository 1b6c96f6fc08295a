"""Two live workers with one hostname, in different pid namespaces (containers with a fixed
hostname, hostNetwork pods): neither may take the other for dead, so no recipient is sent twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.commands import cli_env, smsworker_cmd
from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and util-linux unshare"
    ),
]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.kill()


def child_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])


def test_workers_in_other_pid_namespaces_are_not_recovered_while_alive(
    redis_server: RedisServer, redis_url: str, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    r = redis_server.client()
    numbers = [f"137{n:08d}" for n in range(600)]
    for start in range(0, len(numbers), 5):
        r.lpush(
            "sms_queue", json.dumps({"template_id": 1, "mobiles": numbers[start : start + 5], "content": "x"})
        )
    with FakeSmsApi(delay_s=0.05) as api:  # about 4 s of work: recovery rounds of both run meanwhile
        args = [
            "run",
            "--provider",
            "http",
            "--http-url",
            api.url,
            "--concurrency",
            "4",
            "--heartbeat-ttl",
            "3",
        ]
        env = cli_env(redis_url)
        host = WorkerProcess(smsworker_cmd(*args), env, tmp_path / "host.log")
        workers.append(host)
        wait_until(lambda: len(api.delivered) >= 10, what="the first worker to be sending")
        # A fresh pid namespace with its own /proc: this worker is pid 1 there and cannot see the
        # other's pid, which is exactly what made the old fast path call it dead.
        boxed_cmd = [
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child=SIGTERM",
            *smsworker_cmd(*args),
        ]
        boxed = WorkerProcess(boxed_cmd, env, tmp_path / "boxed.log")
        workers.append(boxed)
        boxed.wait_for_event("worker.started")
        assert boxed.events("worker.started")[0]["worker"].split(":")[1] == "1"  # pid 1 in its namespace
        # Past several recovery rounds of both (every heartbeat TTL, 3 s) and until all is sent.
        wait_until(lambda: len(set(api.delivered)) == len(numbers), timeout_s=60, what="every number sent")
        wait_until(
            lambda: not r.keys("{sms_queue}:processing:*") or host.events("worker.recovered"), timeout_s=10
        )
        host.send(signal.SIGTERM)
        # unshare ignores SIGTERM while it waits: signal the worker it forked, pid 1 of the box.
        os.kill(child_of(boxed.pid), signal.SIGTERM)
        assert host.wait() == 0 and boxed.wait() == 0
    assert host.events("worker.recovered") == [] and boxed.events("worker.recovered") == []
    assert len(api.delivered) == len(numbers), "a live worker's tasks were recovered and sent again"
    assert boxed.events("task.settled") and host.events("task.settled")  # both really worked
