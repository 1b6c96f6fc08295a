"""The whole pipeline, searched for elements that escape the promise: whatever is pushed, every
element ends sent or dead-lettered with its original bytes and a reason, the dead-letter list holds
only strict JSON, nothing stays claimed, and the worker keeps going.

The parser is the oracle for what is a task; the provider answers each number by its last digit
(``tests/support/hostile.py``), so which recipients must be dead-lettered is known per element.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import fakeredis
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from smsworker.deadletters import original_payload
from smsworker.delivery import RetryPolicy
from smsworker.errors import InvalidTask, PermanentProviderError, TransientProviderError
from smsworker.outcome import REASONS
from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.providers.segments import count_segments
from smsworker.store.queue import RedisQueue
from smsworker.task import TaskParser
from smsworker.worker.loop import Worker
from smsworker.worker.options import WorkerOptions
from tests.support.hostile import elements, outcome_of
from tests.support.logs import LogCapture


class DigitProvider:
    """Answers each number by its last digit: 7 refused, 5 always busy, 3 a provider bug (an
    exception when the request holds only such numbers)."""

    name = "digits"

    def __init__(self, max_batch_size: int) -> None:
        self.max_batch_size = max_batch_size
        self.sent: Counter[str] = Counter()
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> SendResult:
        outcomes = {m: outcome_of(m) for m in message.mobiles}
        if set(outcomes.values()) == {"crash"}:
            raise RuntimeError("a provider bug")
        result = SendResult()
        for mobile, outcome in outcomes.items():
            # With others in the request, a "3" fails on its own, so the outcome stays per number.
            if outcome == "crash":
                result.failed[mobile] = TransientProviderError("bug-ish", code="C")
            elif outcome == "rejected":
                result.failed[mobile] = PermanentProviderError("refused", code="R")
            elif outcome == "transient":
                result.failed[mobile] = TransientProviderError("busy", code="B")
        with self._lock:
            self.sent.update(m for m, o in outcomes.items() if o == "sent")
        return result

    def segments(self, content: str) -> int:
        return count_segments(content)

    def close(self) -> None:
        return None


def strict(raw: bytes) -> dict[str, Any]:
    """Parse as RFC 8259 allows and nothing more: UTF-8, no NaN/Infinity."""
    data = json.loads(raw.decode("utf-8"), parse_constant=lambda name: pytest.fail(f"{name} in an envelope"))
    assert isinstance(data, dict)
    return data


def expected_dead(parser: TaskParser, raw: bytes) -> list[str] | None:
    """The recipients (as written) this element must dead-letter; None: the whole element."""
    try:
        task = parser.parse(raw)
    except InvalidTask:
        return None
    return sorted(
        task.as_written([m for m in task.mobiles if outcome_of(m) != "sent"]) + list(task.invalid_mobiles)
    )


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pushed=st.lists(elements, min_size=1, max_size=12), batch=st.sampled_from([1, 1, 3]))
# Found by this test: a recipient written as "" was taken for the whole-element marker, and lost
# from its dead letter.
@example(pushed=[b'{"template_id":1,"mobiles":["","13800138000"],"content":"x"}'], batch=1)
def test_every_element_ends_sent_or_dead_lettered_with_its_bytes(pushed: list[bytes], batch: int) -> None:
    r = fakeredis.FakeRedis()
    queue = RedisQueue(r, "sms_queue", "{sms_queue}:dead", use_blmove=True)
    parser = TaskParser(default_region="CN", max_payload_bytes=4096, max_recipients=5)
    provider = DigitProvider(batch)
    logs = LogCapture()
    options = WorkerOptions(concurrency=3, retry=RetryPolicy(2, 0.0001, 0.0001), poison_after=3)
    r.lpush("sms_queue", *pushed)
    totals = Worker(queue, [provider], parser, options, logs.logger).drain()

    assert totals.drained and totals.tasks == len(pushed)
    assert r.llen("sms_queue") == 0 and not r.keys("{sms_queue}:processing:*")
    envelopes = [strict(raw) for raw in queue.dead_letters()]
    dead_by_element: dict[bytes, list[str]] = {}
    whole: Counter[bytes] = Counter()
    for envelope in envelopes:
        assert envelope["reason"] in REASONS and envelope["error"]
        event(f"dead-lettered: {envelope['reason']}")
        payload = original_payload(envelope)
        assert payload in pushed, "a dead letter must carry the element exactly as pushed"
        if envelope["task"] is None:
            whole[payload] += 1
        else:
            dead_by_element.setdefault(payload, []).extend(envelope["failed_mobiles"])
    for raw, count in Counter(pushed).items():
        wanted = expected_dead(parser, raw)
        if wanted is None:
            assert whole[raw] == count, f"{raw!r} must be dead-lettered whole, once per push"
        else:
            assert sorted(dead_by_element.get(raw, [])) == sorted(wanted * count), raw
    settled = logs.events("task.settled")
    recipients = sum(e["recipients"] for e in settled)
    assert sum(e["sent"] + e["dead"] + e["skipped"] for e in settled) == recipients
    assert sum(provider.sent.values()) == sum(e["sent"] for e in settled) == totals.sent
