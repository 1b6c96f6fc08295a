from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from smsworker.delivery import RetryPolicy
from smsworker.logs import make_logger
from smsworker.queue import RedisQueue
from smsworker.task import TaskParser
from smsworker.testing import FakeProvider
from smsworker.worker import Worker, WorkerOptions
from tests.support.fake_sms_api import FakeSmsApi
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


# -- unit tests: fakeredis and in-process fakes ----------------------------------------------------


@pytest.fixture
def fake_redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def queue(fake_redis: fakeredis.FakeRedis) -> RedisQueue:
    return RedisQueue(fake_redis, "sms_queue", "sms_queue:dead", use_blmove=True)


@pytest.fixture
def parser() -> TaskParser:
    return TaskParser(default_region="CN", max_payload_bytes=1_048_576, max_recipients=10_000)


class LogCapture:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.logger = make_logger(fmt="json", level="debug", stream=self.stream)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines() if line]
        return [e for e in lines if name is None or e["event"] == name]


@pytest.fixture
def logs() -> LogCapture:
    return LogCapture()


@pytest.fixture
def make_worker(
    queue: RedisQueue, parser: TaskParser, logs: LogCapture
) -> Callable[..., tuple[Worker, FakeProvider]]:
    def build(
        *,
        provider: FakeProvider | None = None,
        concurrency: int = 4,
        max_attempts: int = 3,
        worker_id: str | None = None,
        shutdown_timeout_s: float = 5.0,
        backoff_base_s: float = 0.001,
        backoff_max_s: float = 0.01,
    ) -> tuple[Worker, FakeProvider]:
        provider = provider or FakeProvider()
        options = WorkerOptions(
            concurrency=concurrency,
            heartbeat_ttl_s=30,
            shutdown_timeout_s=shutdown_timeout_s,
            retry=RetryPolicy(
                max_attempts=max_attempts, backoff_base_s=backoff_base_s, backoff_max_s=backoff_max_s
            ),
        )
        worker = Worker(queue, [provider], parser, options, logs.logger, worker_id=worker_id)
        return worker, provider

    return build


# -- integration tests: a private redis-server, subprocesses, loopback HTTP -----------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    client = redis_server.client()
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def fake_api() -> Iterator[FakeSmsApi]:
    with FakeSmsApi() as api:
        yield api


def cli_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSWORKER_")}
    env.update(SMSWORKER_REDIS_URL=redis_url, SMSWORKER_LOG_FORMAT="json", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def smsworker_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "smsworker", *args]


@pytest.fixture
def cli(redis_url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the smsworker command as a user would, against the private Redis."""

    def run(*args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            smsworker_cmd(*args),
            env=cli_env(redis_url, **env),
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )

    return run


@pytest.fixture
def start_worker(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start ``smsworker run`` (or another subcommand) as a real process; killed after the test."""
    from tests.support.processes import WorkerProcess

    started: list[WorkerProcess] = []

    def start(*args: str, command: str = "run", url: str | None = None, **env: str) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(started)}.log"
        worker = WorkerProcess(smsworker_cmd(command, *args), cli_env(url or redis_url, **env), log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
