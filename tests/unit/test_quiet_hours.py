"""Quiet hours: the window is read, and a number is held until no zone it may be in is inside it."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smsworker.quiet_hours import QuietHours, zones_of

NIGHT = QuietHours.parse("21:00-08:00")
SHANGHAI = ZoneInfo("Asia/Shanghai")
CENTRAL, MOUNTAIN = ZoneInfo("America/Chicago"), ZoneInfo("America/Denver")
NEW_YORK = ZoneInfo("America/New_York")
SOUTH_DAKOTA = "+16055551234"  # area code 605: Mountain and Central time


def at(
    zone: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    fold: int = 0,
) -> float:
    """Unix seconds of a wall time in ``zone`` (``fold=1``: the second of a repeated hour)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=zone, fold=fold).timestamp()


def test_parse_and_write_back() -> None:
    assert QuietHours.parse("21:00-08:00") == QuietHours(time(21, 0), time(8, 0))
    assert QuietHours.parse(" 13:05 - 14:30 ") == QuietHours(time(13, 5), time(14, 30))
    assert str(QuietHours.parse("00:00-23:59")) == "00:00-23:59"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:00-10:00", 'quiet hours "9:00-10:00" must be HH:MM-HH:MM on a 24-hour clock, e.g. 21:00-08:00'),
        ("24:00-08:00", "must be HH:MM-HH:MM on a 24-hour clock"),
        ("21:60-08:00", "must be HH:MM-HH:MM"),
        ("21:00", "must be HH:MM-HH:MM"),
        ("21:00-08:00-09:00", "must be HH:MM-HH:MM"),
        ("9pm-8am", "must be HH:MM-HH:MM"),
        ("", 'quiet hours "" must be'),
        ("21:00\n-08:00\n", "must be HH:MM-HH:MM"),
        (2100, "quiet hours 2100 must be"),
        (None, "quiet hours null must be"),
        ("08:00-08:00", 'quiet hours "08:00-08:00" start and end at the same minute; give a window such as'),
    ],
)
def test_parse_refuses_with_one_line(text: object, expected: str) -> None:
    with pytest.raises(ValueError) as info:
        QuietHours.parse(text)
    assert expected in str(info.value)
    assert len(str(info.value).splitlines()) == 1


def test_parse_refuses_when_there_is_no_time_zone_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("smsworker.quiet_hours._zone", lambda name: None)
    with pytest.raises(ValueError, match="quiet hours need the IANA time zone database: install"):
        QuietHours.parse("21:00-08:00")


@given(st.times().map(lambda t: t.replace(second=0, microsecond=0)), st.integers(1, 24 * 60 - 1))
def test_parse_round_trip(start: time, minutes: int) -> None:
    total = (start.hour * 60 + start.minute + minutes) % (24 * 60)
    hours = QuietHours(start, time(total // 60, total % 60))
    assert QuietHours.parse(str(hours)) == hours


def test_zones() -> None:
    assert zones_of("+8613800138000") == ("Asia/Shanghai",)
    assert zones_of(SOUTH_DAKOTA) == ("America/Denver", "America/North_Dakota/Center")
    assert len(zones_of("+79991234567")) == 16  # a mobile number: all of Russia's zones
    # No zone at all: a non-geographic code, an unknown code, not a number.
    assert zones_of("+80012345678") == zones_of("+99912345") == zones_of("13800138000") == ()
    assert zones_of("garbage") == ()


def test_shanghai_at_22_waits_for_8_next_morning() -> None:
    now = at(SHANGHAI, 2026, 12, 3, 22, 0)
    assert NIGHT.until("+8613800138000", now) == at(SHANGHAI, 2026, 12, 4, 8, 0)
    assert NIGHT.until("+8613800138000", at(SHANGHAI, 2026, 12, 4, 7, 59, 59)) == at(SHANGHAI, 2026, 12, 4, 8)
    assert NIGHT.until("+8613800138000", at(SHANGHAI, 2026, 12, 4, 8, 0)) is None
    assert NIGHT.until("+8613800138000", at(SHANGHAI, 2026, 12, 3, 20, 59, 59)) is None
    assert NIGHT.until("+8613800138000", at(SHANGHAI, 2026, 12, 3, 21, 0)) == at(SHANGHAI, 2026, 12, 4, 8)


def test_a_number_with_two_zones_waits_for_the_later_morning() -> None:
    # 07:30 Central is 06:30 Mountain: Central leaves the window at 08:00, Mountain an hour later.
    assert NIGHT.until(SOUTH_DAKOTA, at(CENTRAL, 2026, 12, 3, 7, 30)) == at(MOUNTAIN, 2026, 12, 3, 8, 0)
    # 20:30 Mountain is 21:30 Central: already quiet, until Mountain's 08:00.
    assert NIGHT.until(SOUTH_DAKOTA, at(MOUNTAIN, 2026, 12, 3, 20, 30)) == at(MOUNTAIN, 2026, 12, 4, 8, 0)
    assert NIGHT.until(SOUTH_DAKOTA, at(MOUNTAIN, 2026, 12, 3, 12, 0)) is None
    assert NIGHT.is_quiet(SOUTH_DAKOTA, at(MOUNTAIN, 2026, 12, 3, 20, 30))
    assert not NIGHT.is_quiet(SOUTH_DAKOTA, at(MOUNTAIN, 2026, 12, 3, 19, 59))


def test_no_zone_is_never_quiet() -> None:
    assert NIGHT.until("+80012345678", at(SHANGHAI, 2026, 12, 3, 23, 0)) is None


def test_zones_always_in_the_window_between_them_are_not_held() -> None:
    # Russia's zones span ten hours: a 16-hour window always covers one of them.
    long_night = QuietHours.parse("18:00-10:00")
    now = at(SHANGHAI, 2026, 12, 3, 23, 0)
    assert long_night.is_quiet("+79991234567", now)
    assert long_night.until("+79991234567", now) is None


def test_the_window_keeps_to_the_clock_across_daylight_saving() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT. A window ending at 02:30 ends when 02:00 is skipped.
    early = QuietHours.parse("21:00-02:30")
    assert early.until("+12025550143", at(NEW_YORK, 2026, 3, 7, 23, 0)) == at(NEW_YORK, 2026, 3, 8, 3, 0)
    # The night is an hour shorter in UTC, and still ends at 08:00 on the clock.
    assert NIGHT.until("+12025550143", at(NEW_YORK, 2026, 3, 7, 22, 0)) == at(NEW_YORK, 2026, 3, 8, 8, 0)
    # 2026-11-01 02:00 EDT -> 01:00 EST: 01:00-01:59 happens twice; the first 01:30 ends the window,
    # and the repeated hour is inside it again until the second 01:30.
    repeated = QuietHours.parse("00:00-01:30")
    first = at(NEW_YORK, 2026, 11, 1, 1, 30)
    assert repeated.until("+12025550143", at(NEW_YORK, 2026, 11, 1, 0, 30)) == first
    assert repeated.until("+12025550143", first) is None
    second = at(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)
    assert repeated.until("+12025550143", at(NEW_YORK, 2026, 11, 1, 1, 10, fold=1)) == second
    assert NIGHT.until("+12025550143", at(NEW_YORK, 2026, 10, 31, 22, 0)) == at(NEW_YORK, 2026, 11, 1, 8, 0)


NUMBERS = [
    "+8613800138000",
    SOUTH_DAKOTA,
    "+12025550143",
    "+18005550100",  # toll-free: the 42 zones of +1
    "+79991234567",
    "+61412345678",
    "+61255053123",  # Lord Howe Island: a half-hour DST
    "+64211234567",  # Auckland and Chatham (+12:45)
    "+9779841234567",  # Nepal, +05:45
    "+6857212345",  # Samoa, which skipped 2011-12-30
    "+68672001234",  # Kiribati: +12 to +14
    "+5511912345678",
    "+80012345678",
]
minutes = st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60))
windows = st.tuples(minutes, minutes).filter(lambda pair: pair[0] != pair[1]).map(lambda p: QuietHours(*p))


@settings(deadline=None)
@given(st.sampled_from(NUMBERS), windows, st.floats(0, 4_102_444_800))  # 1970 to 2100
@example("+6857212345", NIGHT, at(ZoneInfo("Pacific/Apia"), 2011, 12, 29, 22, 0))
@example(
    "+61255053123",
    QuietHours(time(1, 45), time(2, 15)),
    at(ZoneInfo("Australia/Lord_Howe"), 2026, 10, 4, 1, 50),
)
@example(SOUTH_DAKOTA, NIGHT, at(MOUNTAIN, 2026, 3, 8, 1, 0))
def test_until_is_the_first_moment_no_zone_is_quiet(number: str, hours: QuietHours, now: float) -> None:
    until = hours.until(number, now)
    if until is None:
        # Sendable now, or quiet somewhere at every moment (then there is nothing to wait for).
        assert not hours.is_quiet(number, now) or all(
            hours.is_quiet(number, now + step * 900) for step in range(96)
        )
        return
    assert until > now
    assert not hours.is_quiet(number, until)
    assert hours.is_quiet(number, until - 0.001)
    assert hours.is_quiet(number, now)
