"""``send_at``: unix seconds or an RFC 3339 time with an offset; everything else is a one-line reason."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smsworker.errors import InvalidTask
from smsworker.send_time import HORIZON_S, check_horizon, parse_send_at, unix_number

AT_22_SHANGHAI = 1764770400.0  # 2025-12-03T22:00:00+08:00


def refused(value: object) -> str:
    with pytest.raises(InvalidTask) as info:
        parse_send_at(value)
    assert info.value.reason == "invalid_task"
    assert info.value.error.startswith("send_at ")
    assert len(info.value.error.splitlines()) == 1
    return info.value.error


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (AT_22_SHANGHAI, AT_22_SHANGHAI),
        (1764770400, AT_22_SHANGHAI),
        (1764770400.25, AT_22_SHANGHAI + 0.25),
        (0, 0.0),
        ("1764770400", AT_22_SHANGHAI),  # (string) time()
        ("1764770400.25", AT_22_SHANGHAI + 0.25),  # (string) microtime(true)
        ("2025-12-03T22:00:00+08:00", AT_22_SHANGHAI),  # date(DATE_ATOM), date('c')
        ("2025-12-03T14:00:00Z", AT_22_SHANGHAI),
        ("2025-12-03t14:00:00z", AT_22_SHANGHAI),
        ("2025-12-03 22:00:00+08:00", AT_22_SHANGHAI),  # RFC 3339 allows a space for the T
        ("2025-12-03T22:00:00+0800", AT_22_SHANGHAI),  # date(DATE_ISO8601)
        ("2025-12-03T22:00:00.500+08:00", AT_22_SHANGHAI + 0.5),  # DATE_RFC3339_EXTENDED
        ("2025-12-03T09:00:00-05:00", AT_22_SHANGHAI),
        ("2025-12-03T14:00:00-00:00", AT_22_SHANGHAI),  # "offset unknown", still one instant
        ("2025-12-03T13:59:60Z", AT_22_SHANGHAI),  # a leap second
        ("2025-12-03T19:30:00+05:30", AT_22_SHANGHAI),
    ],
)
def test_accepted(value: object, expected: float | None) -> None:
    assert parse_send_at(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "send_at must be unix seconds or an RFC 3339 time with an offset"),
        ([1764770400], "got an array"),
        ({"at": 1}, "got an object"),
        ("", 'send_at "" is neither unix seconds nor an RFC 3339 time with an offset'),
        ("tomorrow", 'send_at "tomorrow" is neither'),
        ("2025-12-03T22:00:00", "has no offset: add Z or one like +08:00 so it names one instant"),
        ("2025-12-03", "is neither"),
        ("2025-12-03T22:00+08:00", "is neither"),
        ("-1764770400", "is neither"),
        ("1e9", "is neither"),
        ("１７６４７７０４００", "is neither"),  # noqa: RUF001 - full-width digits are not digits here
        ("2025-02-30T22:00:00+08:00", "is not a real date and time"),
        ("2025-12-03T24:00:00+08:00", "is not a real date and time"),
        ("2025-12-03T22:00:61+08:00", "is not a real date and time"),
        ("2025-12-03T22:00:00+24:00", "is not a real date and time"),
        ("2025-12-03T22:00:00+08:60", "is not a real date and time"),
        ("0000-01-01T00:00:00Z", "is not a real date and time"),
        ("1969-12-31T23:59:59Z", "is before 1970"),
        (-1, "send_at -1 is before 1970"),
        (-0.5, "is before 1970"),
        (10**400, "is out of range"),
        ("9" * 400, "is out of range"),
        (math.inf, "is out of range"),
        (math.nan, "is out of range"),
        ("x\n" * 30, 'send_at "x\\nx\\nx\\n'),
    ],
)
def test_refused(value: object, expected: str) -> None:
    assert expected in refused(value)


def test_long_values_are_cut_short_in_the_message() -> None:
    assert len(refused("y" * 10_000)) < 200
    assert len(refused(10**400)) < 100


def test_horizon() -> None:
    now = AT_22_SHANGHAI
    check_horizon(now + HORIZON_S, now)
    check_horizon(0.0, now)  # the past is "now", not an error
    with pytest.raises(InvalidTask, match=r"^send_at 2026-12-04T14:00:01Z is more than 366 days ahead$"):
        check_horizon(now + HORIZON_S + 1, now)
    with pytest.raises(InvalidTask, match="366 days ahead; is it milliseconds instead of seconds"):
        check_horizon(now * 1000, now)
    with pytest.raises(InvalidTask) as info:
        check_horizon(1e300, now)
    assert info.value.reason == "invalid_task"


def test_unix_number_writes_whole_seconds_as_an_integer() -> None:
    assert json.dumps(unix_number(1764770400.0)) == "1764770400"
    assert json.dumps(unix_number(1764770400.5)) == "1764770400.5"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
instants = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(lambda m: timedelta(minutes=m))


@given(json_values | st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]{8,12}([Zz]|[+-][0-9:]{4,5})?"))
@example(10**400)
@example("2025-12-03T13:59:60.999999999Z")
def test_any_json_value_gives_seconds_or_invalid_task(value: Any) -> None:
    try:
        seconds = parse_send_at(value)
    except InvalidTask as exc:
        assert exc.reason == "invalid_task"
        assert len(exc.error.splitlines()) == 1
        return
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@given(instants, offsets, st.integers(min_value=0, max_value=999_999))
def test_rfc3339_names_the_instant_whatever_the_offset(at: datetime, offset: timedelta, micro: int) -> None:
    at = at.replace(microsecond=micro)
    written = at.astimezone(timezone(offset)).isoformat()
    assert parse_send_at(written) == pytest.approx(at.timestamp(), abs=1e-6)
    assert parse_send_at(written.replace("+00:00", "Z")) == pytest.approx(at.timestamp(), abs=1e-6)
