"""Property tests on the parser: any bytes give a task or an InvalidTask with a reason, nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsworker.errors import InvalidTask
from smsworker.outcome import REASONS
from smsworker.task import SmsTask, TaskParser, encode_task

PARSER = TaskParser(default_region="CN", max_payload_bytes=4096, max_recipients=50)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
mobile = st.one_of(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.integers(min_value=13_000_000_000, max_value=19_999_999_999),
    st.text(max_size=15),
)
task_like = st.fixed_dictionaries(
    {"template_id": st.integers() | st.text(), "content": st.text(), "mobiles": st.lists(mobile, max_size=6)},
    optional={
        "id": st.integers() | st.text(),
        "params": json_values,
        "extra": json_values,
        "lane": st.from_regex(r"[a-z0-9][a-z0-9_-]{0,31}", fullmatch=True) | json_values,
        "send_at": st.integers(min_value=-1) | st.floats(allow_nan=False) | st.text() | json_values,
        "campaign": st.text(max_size=70) | json_values,
    },
)


def outcome(raw: bytes) -> SmsTask | InvalidTask:
    try:
        return PARSER.parse(raw)
    except InvalidTask as exc:
        assert exc.reason in REASONS
        assert exc.error
        return exc


@given(st.binary(max_size=600))
def test_any_bytes(raw: bytes) -> None:
    outcome(raw)


@given(json_values)
def test_any_json(value: Any) -> None:
    outcome(json.dumps(value).encode())


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(task_like, st.booleans())
def test_task_shaped_json_either_way_php_escapes_it(data: dict[str, Any], ascii_only: bool) -> None:
    result = outcome(json.dumps(data, ensure_ascii=ascii_only).encode())
    if isinstance(result, SmsTask):
        assert len(result.mobiles) + len(result.invalid_mobiles) <= len(data["mobiles"])
        assert all(m.startswith("+") for m in result.mobiles)


@given(task_like)
def test_valid_tasks_round_trip_through_the_enqueue_encoder(data: dict[str, Any]) -> None:
    result = outcome(json.dumps(data).encode())
    if not isinstance(result, SmsTask):
        return
    written = result.as_written(result.mobiles) + list(result.invalid_mobiles)
    again = PARSER.parse(encode_task(result.reduced_to(written)))
    assert again.mobiles == result.mobiles
    assert (again.template_id, again.content, again.task_id, again.params) == (
        result.template_id,
        result.content,
        result.task_id,
        result.params,
    )
    assert (again.lane, again.send_at, again.campaign) == (result.lane, result.send_at, result.campaign)


REGIONS = ["CN", "US", "GB", "IN", "DE", "AR", "MX", "BR", "RU", "JP", "FR", "IT", "AU", "ID", "HK"]


def _full_parse(raw: str, region: str) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, 0) if phonenumbers.is_valid_number(number) else None


@pytest.mark.slow
@settings(max_examples=3000)
@given(st.sampled_from(REGIONS), st.from_regex(r"[1-9][0-9]{3,13}", fullmatch=True), st.booleans())
def test_the_plain_digits_fast_path_agrees_with_phonenumbers(region: str, digits: str, with_cc: bool) -> None:
    import phonenumbers

    from smsworker.task import normalise_mobile

    code = phonenumbers.country_code_for_region(region)
    raw = f"{code}{digits}"[: len(digits)] if with_cc else digits
    assert normalise_mobile(raw, region, code) == _full_parse(raw, region)
