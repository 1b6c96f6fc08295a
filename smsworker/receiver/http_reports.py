"""Delivery reports for the generic ``http`` provider: the format, and the signature that proves them.

The webhook POSTs a JSON array of reports to ``/http``:

    [{"message_id": "m-1", "mobile": "+8613800138000", "status": "delivered" | "undelivered",
      "code": "optional vendor code", "text": "optional", "at": 1700000000.5 (optional, unix s)}]

with ``X-Smsworker-Timestamp: <unix seconds>`` and ``X-Smsworker-Signature: sha256=<hex>``, the
HMAC-SHA256 of ``<timestamp>.<raw body>`` under the shared secret (``http_report_secret_file``).
A timestamp more than ``MAX_SKEW_S`` away from now is refused, so a captured request cannot be
replayed later (a replay within the window changes nothing: reports are idempotent).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from smsworker.receipts import is_time
from smsworker.receiver.fields import BadReport, Batch, each_report, text
from smsworker.store.receipts import Report

MAX_SKEW_S = 300


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def is_signed(secret: bytes, headers: Any, body: bytes, now: float | None = None) -> bool:
    """``headers``: anything with ``get(name, default)`` (a dict, Werkzeug's Headers)."""
    timestamp = headers.get("X-Smsworker-Timestamp", "")
    given = headers.get("X-Smsworker-Signature", "")
    if not (timestamp.isascii() and timestamp.isdigit()) or not given.isascii():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_SKEW_S:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)


def parse(body: bytes) -> Batch:
    """The reports in the body, and what is wrong with the elements that are not; ``BadReport``
    when there is none."""
    return each_report(body, _report)


def _report(item: dict[str, Any], n: int) -> Report:
    status = item.get("status")
    if status not in ("delivered", "undelivered"):
        raise BadReport(f"report {n}: status must be 'delivered' or 'undelivered'")
    at = item.get("at")
    if at is not None and not is_time(at):
        raise BadReport(f"report {n}: at must be a unix time in seconds (from 1970 to 9999)")
    return Report(
        provider="http",
        message_id=text(item, "message_id", n, required=True),
        number=text(item, "mobile", n, required=True),
        delivered=status == "delivered",
        at=float(at) if at is not None else None,
        code=text(item, "code", n),
        text=text(item, "text", n),
    )
