"""A task's ``send_at``: when to send, as unix seconds, read from what a producer writes.

Two spellings are accepted, the two a PHP producer reaches for: a number of unix seconds (``time()``,
``microtime(true)``, or the same as a digit string, as ``(string) time()`` or a form field writes it) and
an RFC 3339 time that names its offset (``date(DATE_ATOM)``: ``2026-12-03T22:00:00+08:00``, or ``Z``;
``DATE_ISO8601``'s ``+0800`` too).
A time without an offset is refused: it would mean a different instant on each worker's clock.

Whether the time is past (send now) or too far ahead is decided against the worker's clock, not here:
``check_horizon`` is that second step.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone

from smsworker.errors import InvalidTask
from smsworker.strict_json import json_type

# More than a year ahead is a mistake (milliseconds for seconds, a year typed wrong), not a plan.
HORIZON_S = 366 * 24 * 3600
EXAMPLE = "2026-12-03T22:00:00+08:00"
_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<h>[0-9]{2}):(?P<m>[0-9]{2}):(?P<s>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]+))?(?P<offset>[Zz]|[+-][0-9]{2}:?[0-9]{2})?",
    re.ASCII,
)


def parse_send_at(value: object) -> float | None:
    """Unix seconds for ``value`` (the task's ``send_at`` as decoded from JSON), ``None`` when absent
    (``None``). Raises ``InvalidTask("invalid_task", ...)`` for anything else, and for a time that is
    not finite or before 1970; nothing else escapes, whatever ``value`` is."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidTask(
            "invalid_task",
            f"send_at must be unix seconds or an RFC 3339 time with an offset ({EXAMPLE}), "
            f"got {json_type(value)}",
        )
    seconds = _from_text(value) if isinstance(value, str) else _from_number(value)
    if not math.isfinite(seconds):
        raise InvalidTask("invalid_task", f"send_at {_shown(value)} is out of range")
    if seconds < 0:
        raise InvalidTask("invalid_task", f"send_at {_shown(value)} is before 1970 (negative unix seconds)")
    return seconds


def check_horizon(send_at: float, now: float) -> None:
    """Raise ``InvalidTask("invalid_task", ...)`` when ``send_at`` is more than 366 days after ``now``
    (the worker's clock): a time that far ahead is a producer's mistake, dead-lettered so it is seen."""
    if send_at - now > HORIZON_S:
        ahead = _iso(send_at)
        raise InvalidTask(
            "invalid_task",
            f"send_at {ahead} is more than 366 days ahead; is it milliseconds instead of seconds?"
            if send_at > 1e11
            else f"send_at {ahead} is more than 366 days ahead",
        )


def unix_number(seconds: float) -> int | float:
    """``seconds`` as JSON should carry it: an integer when whole (``1764770400``, not ``1764770400.0``)."""
    return int(seconds) if seconds.is_integer() else seconds


def _from_number(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond a double: no instant
        return math.inf


def _from_text(text: str) -> float:
    if _DIGITS.fullmatch(text):
        return _from_number(float(text))
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidTask(
            "invalid_task",
            f"send_at {_shown(text)} is neither unix seconds nor an RFC 3339 time with an offset ({EXAMPLE})",
        )
    if match["offset"] is None:
        raise InvalidTask(
            "invalid_task",
            f"send_at {_shown(text)} has no offset: add Z or one like +08:00 so it names one instant",
        )
    try:
        return _instant(match)
    except ValueError:  # a day or hour that does not exist: 2026-02-30, 25:00, an offset of +24:00
        raise InvalidTask("invalid_task", f"send_at {_shown(text)} is not a real date and time") from None


def _instant(match: re.Match[str]) -> float:
    offset = match["offset"]
    if offset in ("Z", "z"):
        zone = UTC
    else:
        hours, minutes = int(offset[1:3]), int(offset[-2:])
        if minutes > 59:
            raise ValueError(offset)
        sign = -1 if offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    second = int(match["s"])
    leap = second == 60  # RFC 3339 allows a leap second; the instant after :59 is the next minute
    stamp = datetime.fromisoformat(match["date"]).replace(
        hour=int(match["h"]), minute=int(match["m"]), second=59 if leap else second, tzinfo=zone
    )
    fraction = float("0." + match["fraction"]) if match["fraction"] else 0.0
    return stamp.timestamp() + leap + fraction


def _iso(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):  # beyond year 9999
        return f"{unix_number(seconds)} (unix seconds)"


def _shown(value: object) -> str:
    """The value as the producer wrote it, quoted, on one line, cut short."""
    shown = json.dumps(value[:41] if isinstance(value, str) else value)
    return shown if len(shown) <= 42 else shown[:40] + "..."
