"""The pipeline property of ``tests/unit/test_pipeline_properties.py``, through one real
``smsworker run`` process, a private redis-server and the http provider on loopback: batch after
batch of hostile elements, each ends sent or dead-lettered with its original bytes, every dead
letter is strict JSON, and the same process keeps running to the end."""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsworker.deadletters import original_payload
from smsworker.errors import InvalidTask
from smsworker.outcome import REASONS
from smsworker.task import TaskParser
from tests.support.hostile import elements, outcome_of
from tests.support.loopback import Answer, Request, serve
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

Start = Callable[..., WorkerProcess]
PARSER = TaskParser(default_region="CN", max_payload_bytes=4096, max_recipients=5)


def provider(request: Request) -> Answer:
    """The http provider's webhook, answering each number by its last digit (hostile.outcome_of)."""
    outcome = outcome_of(json.loads(request.body)["mobile"])
    status = {"rejected": 400, "transient": 503, "crash": 500}.get(outcome, 200)
    return Answer(status, {"Content-Type": "application/json"}, b"{}")


def strict(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw.decode("utf-8"), parse_constant=lambda name: pytest.fail(f"{name} in an envelope"))
    assert isinstance(data, dict)
    return data


def expected_dead(raw: bytes) -> list[str] | None:
    try:
        task = PARSER.parse(raw)
    except InvalidTask:
        return None
    return sorted(
        task.as_written([m for m in task.mobiles if outcome_of(m) != "sent"]) + list(task.invalid_mobiles)
    )


def test_one_worker_process_takes_every_hostile_batch(start_worker: Start, redis_server: RedisServer) -> None:
    r = redis_server.client()
    pushed_so_far = 0
    with serve(provider) as base_url:
        worker = start_worker(
            "--provider",
            "http",
            "--http-url",
            base_url + "/sms",
            "--concurrency",
            "4",
            "--max-attempts",
            "2",
            "--backoff-base",
            "0.01",
            "--backoff-max",
            "0.02",
            "--max-payload-bytes",
            "4096",
            "--max-recipients",
            "5",
        )
        worker.wait_for_event("worker.started")

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(batch=st.lists(elements, min_size=1, max_size=10))
        def one_batch(batch: list[bytes]) -> None:
            nonlocal pushed_so_far
            r.delete("{sms_queue}:dead")
            r.lpush("sms_queue", *batch)
            pushed_so_far += len(batch)

            def settled() -> bool:
                done = int(r.hget("{sms_queue}:stats", "tasks") or 0)
                return done >= pushed_so_far and not r.keys("{sms_queue}:processing:*")

            wait_until(settled, timeout_s=20, what="the batch settled")
            assert worker.process.poll() is None, worker.log_text()[-2000:]
            dead: dict[bytes, list[str]] = {}
            whole: Counter[bytes] = Counter()
            for envelope in map(strict, r.lrange("{sms_queue}:dead", 0, -1)):  # type: ignore[arg-type]
                assert envelope["reason"] in REASONS
                payload = original_payload(envelope)
                assert payload in batch
                if envelope["task"] is None:
                    whole[payload] += 1
                else:
                    dead.setdefault(payload, []).extend(envelope["failed_mobiles"])
            for raw, count in Counter(batch).items():
                wanted = expected_dead(raw)
                if wanted is None:
                    assert whole[raw] == count, raw
                else:
                    assert sorted(dead.get(raw, [])) == sorted(wanted * count), raw

        one_batch()
        worker.send(signal.SIGTERM)
        assert worker.wait() == 0
    assert "Traceback" not in worker.log_text()
