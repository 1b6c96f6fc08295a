"""Delivery reports as the generic webhook sends them: signed headers for a body."""

from __future__ import annotations

import time

from smsworker.receiver.http_reports import signature


def signed_headers(body: bytes, secret: bytes, *, at: float | None = None) -> dict[str, str]:
    """``X-Smsworker-Timestamp`` and ``X-Smsworker-Signature`` for ``body``, now or at ``at``."""
    timestamp = str(int(at if at is not None else time.time()))
    return {"X-Smsworker-Timestamp": timestamp, "X-Smsworker-Signature": signature(secret, timestamp, body)}
