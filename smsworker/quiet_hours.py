"""Quiet hours: a window of the recipient's own day ("21:00-08:00") in which a lane sends nothing.

The recipient's local time comes from the number: phonenumbers knows the time zones of its prefix
(one for +86; two for some South Dakota +1 605 numbers; a country's whole list for a mobile number of a
country that spans several). A number is quiet while ANY of its zones is in the window, so no one who
might hold that number is woken; it may be sent once NO zone is. Wall times are read with zoneinfo, so
a window keeps to the clock on both sides of a daylight-saving change.

A number with no zone (a non-geographic code such as +800, or zones the time zone database lacks) has
no local time to keep a window in: it is not quiet. Holding it would mean holding it for a guessed
night, or for ever. The same holds for a number whose zones, between them, are in the window at every
instant (a Russian mobile number's 16 zones span ten hours, so 18:00-10:00 always covers one of them):
there is no moment to wait for, so it is sent.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])", re.ASCII)
UNKNOWN_ZONE = number_zones.UNKNOWN_TIMEZONE  # "Etc/Unknown"
# How far ahead ``until`` looks for a moment when no zone is in its window. Windows repeat daily, so
# two days find it if there is one (a DST change moves a window by an hour at most).
SEARCH_S = 2 * 24 * 3600
_HOUR_S = 3600


@dataclass(frozen=True)
class QuietHours:
    """The window from ``start`` (included) to ``end`` (excluded) of local wall time; it crosses
    midnight when ``end`` < ``start``."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: object) -> QuietHours:
        """``"21:00-08:00"``: two HH:MM times of a 24-hour clock, different. Raises ``ValueError`` with
        a message naming what was given and what is accepted; also when this system has no time zone
        database (every number would then be without a zone, so quiet hours would silently not hold)."""
        parts = text.split("-") if isinstance(text, str) else []
        start, end = (_clock(parts[0]), _clock(parts[1])) if len(parts) == 2 else (None, None)
        if start is None or end is None:
            raise ValueError(
                f"quiet hours {json.dumps(text, default=repr)} must be HH:MM-HH:MM on a 24-hour clock, "
                "e.g. 21:00-08:00"
            )
        if start == end:
            raise ValueError(
                f"quiet hours {json.dumps(text)} start and end at the same minute; "
                "give a window such as 21:00-08:00"
            )
        if _zone("Asia/Shanghai") is None:
            raise ValueError(
                "quiet hours need the IANA time zone database: install the system's tzdata package "
                "or the Python package tzdata"
            )
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def covers(self, local: time) -> bool:
        """Whether the wall time ``local`` is inside the window."""
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def is_quiet(self, e164: str, at: float) -> bool:
        """Whether any zone of ``e164`` is in the window at ``at`` (unix seconds)."""
        return any(self._inside(zone, at) for zone in _zone_infos(e164))

    def until(self, e164: str, now: float) -> float | None:
        """``None`` when ``e164`` may be sent at ``now`` (unix seconds); else the earliest instant after
        ``now`` at which no zone of the number is in the window (it is quiet until then)."""
        zones = _zone_infos(e164)
        at = now
        while at - now <= SEARCH_S:
            inside = [zone for zone in zones if self._inside(zone, at)]
            if not inside:
                return None if at == now else at
            # Each of these zones stays in its window until it leaves, so nothing before the last of
            # those moments is free; from there, look again (another zone may have come in).
            at = max(self._leaves(zone, at) for zone in inside)
        return None  # always quiet somewhere: see the module's docstring

    def _inside(self, zone: ZoneInfo, at: float) -> bool:
        return self.covers(datetime.fromtimestamp(at, zone).time())

    def _leaves(self, zone: ZoneInfo, at: float) -> float:
        """The first instant after ``at`` (inside the window in ``zone``) that is outside it."""
        local = datetime.fromtimestamp(at, zone)
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)
        wall = datetime.combine(day, self.end, tzinfo=zone)
        # fold=0 and fold=1 differ only when the end is a wall time a DST change skips or repeats.
        for leave in sorted({wall.timestamp(), wall.replace(fold=1).timestamp()}):
            if leave > at and not self._inside(zone, leave):
                if datetime.fromtimestamp(leave, zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
                    return leave
                return self._first_outside(zone, at, leave)  # the end fell in a skipped hour
        probe = at
        for _ in range(SEARCH_S // _HOUR_S):  # a zone's history holds stranger days (a skipped date)
            probe += _HOUR_S
            if not self._inside(zone, probe):
                return self._first_outside(zone, at, probe)
        return probe

    def _first_outside(self, zone: ZoneInfo, inside: float, outside: float) -> float:
        """Bisect to the whole second where the window is left: offsets are whole seconds, so the
        answer never changes within one."""
        low, high = math.floor(inside), math.floor(outside)
        while high - low > 1:
            middle = (low + high) // 2
            if self._inside(zone, middle):
                low = middle
            else:
                high = middle
        return float(high)


@lru_cache(maxsize=4096)
def zones_of(e164: str) -> tuple[str, ...]:
    """The IANA time zones a number may be in: those of its prefix, else those of its country code,
    keeping only zones this system's time zone database has. Empty when none is known: see the
    module's docstring for why such a number is not quiet."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ()
    names = number_zones.time_zones_for_number(number)
    if not names or UNKNOWN_ZONE in names:
        # Unknown for the prefix: all the zones of its country code (for a number of a valid type
        # time_zones_for_number already falls back so; this covers the rest).
        names = number_zones._country_level_time_zones_for_number(number)
    return tuple(name for name in names if name != UNKNOWN_ZONE and _zone(name) is not None)


def _clock(text: str) -> time | None:
    match = _CLOCK.fullmatch(text.strip(" "))
    return time(int(match[1]), int(match[2])) if match else None


@lru_cache(maxsize=4096)
def _zone_infos(e164: str) -> tuple[ZoneInfo, ...]:
    return tuple(zone for zone in map(_zone, zones_of(e164)) if zone is not None)


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
