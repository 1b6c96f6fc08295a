"""The dead-letter envelope: for any task content at all (even what the parser would refuse), the
writer gives strict JSON that carries the original bytes, and never raises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsworker.deadletters import build_envelope, original_payload, replayable_task
from smsworker.outcome import Failure
from smsworker.task import SmsTask
from tests.support.hostile import json_ish, text


def strict(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw.decode("utf-8"), parse_constant=lambda name: pytest.fail(f"{name} in an envelope"))
    assert isinstance(data, dict)
    return data


failures = st.builds(
    Failure,
    reason=st.sampled_from(["invalid_mobile", "provider_rejected", "retries_exhausted", "unsendable"]),
    error=text,
    attempts=st.integers(0, 5),
    provider_code=st.none() | text,
)


@given(
    raw=st.binary(max_size=40),
    extra=st.dictionaries(text, json_ish, max_size=3),
    params=st.none() | st.dictionaries(text, json_ish, max_size=3),
    content=text,
    failed=st.dictionaries(text, failures, min_size=1, max_size=4),
    parsed=st.booleans(),
)
def test_any_failure_of_any_task_gets_strict_envelopes_with_its_bytes(
    raw: bytes,
    extra: dict[str, Any],
    params: dict[str, Any] | None,
    content: str,
    failed: dict[str, Failure],
    parsed: bool,
) -> None:
    task = SmsTask(1, content, tuple(failed), task_id="t", params=params, extra=extra) if parsed else None
    envelopes = build_envelope(raw=raw, task=task, failed=failed, worker="w\ud800", queue="sms_queue")
    assert envelopes
    for envelope in map(strict, envelopes):
        assert original_payload(envelope) == raw
        assert envelope["reason"] in {f.reason for f in failed.values()} | {"internal_error"}


def test_the_fallback_keeps_the_bytes_and_says_what_happened() -> None:
    task = SmsTask(1, "x", ("+8613800138000",), extra={"note": "\ud800", "n": float("inf")})
    raw = b'{"template_id":1,"mobiles":["13800138000"],"content":"x","note":"\\ud800"}'
    failed = {"+8613800138000": Failure("provider_rejected", "no", attempts=2)}
    [envelope] = map(strict, build_envelope(raw=raw, task=task, failed=failed, worker="w", queue="q"))
    assert envelope["reason"] == "internal_error" and envelope["task"] is None
    assert "ValueError while writing the dead letter for provider_rejected" in envelope["error"]
    assert (envelope["recipients"], envelope["attempts"]) == (1, 2)
    assert original_payload(envelope) == raw
    assert replayable_task(envelope) == raw  # replay pushes the element as it was pushed
