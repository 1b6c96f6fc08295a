"""Fixtures for integration tests: a private redis-server on a free port (never the machine's
shared one), and the smsworker command run as real processes against it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.commands import ROOT, cli_env, smsworker_cmd
from tests.support.redis_server import RedisServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


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
