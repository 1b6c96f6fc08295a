"""Fixtures for fast tests: fakeredis, in-process fakes, the fake webhook on loopback.

Integration fixtures (a private redis-server, the smsworker command as a process) are in
``tests/integration/conftest.py``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator

import fakeredis
import pytest
from hypothesis import settings

from smsworker.delivery import RetryPolicy
from smsworker.store.queue import RedisQueue
from smsworker.task import TaskParser
from smsworker.testing import FakeProvider
from smsworker.worker.lanes import Lane
from smsworker.worker.loop import Worker
from smsworker.worker.options import WorkerOptions
from tests.support.fake_sms_api import FakeSmsApi
from tests.support.logs import LogCapture
from tests.support.worker_redis import tenth_of_backoff

# Property tests: `make test` (and CI) runs them derandomized, each from a seed fixed by its name, so
# a run never fails on a fresh random draw. To search, by hand and before a change is done:
#   SMSWORKER_SEARCH=20 .venv/bin/python -m pytest tests/unit --hypothesis-seed=3
# runs every property with 20 times its examples, from random draws (here from seed 3: try several).
# What a search finds becomes an @example of its test.
# `make test-fast` sets SMSWORKER_EXAMPLES=fast: every property runs a tenth of its examples (at least
# FAST_MIN, and every @example), still derandomized, so the developer's loop stays under 30 s while
# `make test` keeps the full counts.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("fast", derandomize=True, print_blob=True, max_examples=10)
settings.register_profile("search", derandomize=False, print_blob=True)
SEARCH_SCALE = int(os.environ.get("SMSWORKER_SEARCH", "0") or 0)
FAST = os.environ.get("SMSWORKER_EXAMPLES", "") == "fast" and not SEARCH_SCALE
FAST_DIVISOR = 10
FAST_MIN = 10
settings.load_profile("search" if SEARCH_SCALE else "fast" if FAST else "ci")


def _examples(pinned: int) -> int:
    """How many examples a property pinned at ``pinned`` runs in this session."""
    if SEARCH_SCALE:
        return pinned * SEARCH_SCALE
    return max(FAST_MIN, pinned // FAST_DIVISOR) if FAST else pinned


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not SEARCH_SCALE and not FAST:
        return
    for item in items:
        test = getattr(item, "obj", None)
        pinned = getattr(test, "_hypothesis_internal_use_settings", None)
        if pinned is not None:
            scaled = settings(pinned, max_examples=_examples(pinned.max_examples))
            test._hypothesis_internal_use_settings = scaled  # type: ignore[union-attr]


@pytest.fixture
def fake_redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def queue(fake_redis: fakeredis.FakeRedis) -> RedisQueue:
    return RedisQueue(fake_redis, "sms_queue", "{sms_queue}:dead", use_blmove=True)


@pytest.fixture
def parser() -> TaskParser:
    return TaskParser(default_region="CN", max_payload_bytes=1_048_576, max_recipients=10_000)


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
        fetch_block_s: float = 0.2,
        changes_max: int = 0,
        keep_payloads: bool = False,
        lanes: tuple[Lane, ...] = (),
        now: Callable[[], float] | None = None,
    ) -> tuple[Worker, FakeProvider]:
        provider = provider or FakeProvider()
        options = WorkerOptions(
            concurrency=concurrency,
            heartbeat_ttl_s=30,
            shutdown_timeout_s=shutdown_timeout_s,
            retry=RetryPolicy(
                max_attempts=max_attempts, backoff_base_s=backoff_base_s, backoff_max_s=backoff_max_s
            ),
            fetch_block_s=fetch_block_s,  # a stop or an idle drain is noticed within it
            changes_max=changes_max,
            keep_payloads=keep_payloads,
            lanes=lanes,
        )
        if now is not None:
            options = dataclasses.replace(options, now=now)
        worker = Worker(
            queue, [provider], parser, options, logs.logger, worker_id=worker_id, wait=tenth_of_backoff
        )
        return worker, provider

    return build


@pytest.fixture
def fake_api() -> Iterator[FakeSmsApi]:
    """The fake webhook of the http provider, on loopback."""
    with FakeSmsApi() as api:
        yield api
