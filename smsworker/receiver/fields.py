"""Strict reading of report bodies, shared by every source: what a report may hold, and nothing more.

Every body is hostile until proven otherwise: JSON without NaN or Infinity, arrays of a bounded
length, text fields of bounded size that are valid Unicode, times that are real times. A body that
breaks a rule is refused with ``BadReport``, whose message says which report and which field.

In a batch, one element that is not a report does not cost the others: the vendors push a batch
again whole when it is refused, and give up after a few tries (Alibaba after three), so refusing a
batch for one bad element would drop every good report in it. ``each_report`` keeps the good ones
and says what was wrong with the others; only a body that is not an array of reports is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from smsworker.receipts import is_time
from smsworker.strict_json import is_text

if TYPE_CHECKING:
    from smsworker.store.receipts import Report

MAX_REPORTS = 1000  # per request
MAX_FIELD = 256  # characters in any one text field
# The Chinese vendors write report times as "YYYY-MM-DD hh:mm:ss" in Beijing time.
BEIJING = timezone(timedelta(hours=8))


class BadReport(ValueError):
    """The body is not a report this source sends; the message says what is wrong."""


@dataclass
class Batch:
    """The reports in a pushed body, and what was wrong with each element that is not one."""

    reports: list[Report] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def each_report(body: bytes, read: Callable[[dict[str, Any], int], Report]) -> Batch:
    """Every element of the body's JSON array that ``read`` makes a report of. ``BadReport`` only
    when the body is not such an array, or when no element is a report (its first problem)."""
    batch = Batch()
    for n, item in enumerate(json_array(body)):
        try:
            batch.reports.append(read(report_object(item, n), n))
        except BadReport as exc:
            batch.problems.append(str(exc))
    if not batch.reports:
        raise BadReport(batch.problems[0])
    return batch


def json_array(body: bytes) -> list[Any]:
    """The body as a JSON array of 1 to ``MAX_REPORTS`` items."""
    try:
        items = json.loads(body, parse_constant=_reject)
    except (ValueError, RecursionError):
        raise BadReport("the body is not JSON") from None
    if not isinstance(items, list) or not 0 < len(items) <= MAX_REPORTS:
        raise BadReport(f"the body must be a JSON array of 1 to {MAX_REPORTS} reports")
    return items


def report_object(item: Any, n: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadReport(f"report {n} is not an object")
    return item


def text(item: dict[str, Any], name: str, n: int, *, required: bool = False) -> str:
    """A text field; absent or null is "" unless ``required``."""
    value = item.get(name, "")
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not is_text(value) or len(value) > MAX_FIELD or (required and not value):
        raise BadReport(
            f"report {n}: {name} must be {'non-empty ' if required else ''}text of at most "
            f"{MAX_FIELD} characters"
        )
    return value


def digits(item: dict[str, Any], name: str, n: int) -> str:
    """A required field of ASCII digits (a phone number or a country code, as the vendor writes it)."""
    value = text(item, name, n, required=True)
    if not (value.isascii() and value.isdigit()):
        raise BadReport(f"report {n}: {name} must be digits")
    return value


def beijing_time(item: dict[str, Any], name: str, n: int) -> float | None:
    """``"2017-01-01 00:00:00"`` in Beijing time as a unix time; None when absent or empty."""
    value = text(item, name, n)
    if not value:
        return None
    try:
        at = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).timestamp()
    except ValueError:
        raise BadReport(f"report {n}: {name} must be a time like 2017-01-01 00:00:00") from None
    if not is_time(at):
        raise BadReport(f"report {n}: {name} is not a time from 1970 to 9999")
    return at


def _reject(name: str) -> Any:
    raise ValueError(name)
