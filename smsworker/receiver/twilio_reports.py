"""Twilio's message ``StatusCallback``: a form POST for each status change of a message.

Twilio calls the URL given as ``StatusCallback`` when the message was created (``[twilio]
status_callback_url``), with form fields such as ``MessageSid``, ``MessageStatus`` (queued,
sending, sent, delivered, undelivered, failed, read, ...), ``To``, ``ErrorCode``. Only the final
states move a recipient; the others are acknowledged and left alone.

Twilio signs every request: ``X-Twilio-Signature`` is the base64 HMAC-SHA1, keyed with the account's
auth token, of the exact URL Twilio called followed by every form field's name and value, sorted by
name. The URL is the public one (behind a proxy it is not what this process sees), so it is the
configured ``status_callback_url`` that is checked, never the request's own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from smsworker.receiver.fields import MAX_FIELD, BadReport
from smsworker.store.receipts import Report
from smsworker.strict_json import is_text

DELIVERED = frozenset({"delivered", "read"})
UNDELIVERED = frozenset({"undelivered", "failed"})


def signature(auth_token: str, url: str, fields: Iterable[tuple[str, str]]) -> str:
    """What Twilio puts in ``X-Twilio-Signature`` for a POST of ``fields`` to ``url``: each name
    once, sorted, followed by its distinct values, sorted."""
    values: dict[str, set[str]] = {}
    for name, value in fields:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def is_signed(auth_token: str, url: str, fields: Iterable[tuple[str, str]], given: str) -> bool:
    return given.isascii() and hmac.compare_digest(signature(auth_token, url, fields), given)


def parse(fields: dict[str, str]) -> Report | None:
    """The report in a signed callback; None for a state on the way (queued, sent, ...)."""
    status = _field(fields, "MessageStatus")
    if status not in DELIVERED | UNDELIVERED:
        return None
    number = _field(fields, "To")
    if not number.startswith("+"):
        raise BadReport("To must be the E.164 number the message went to")
    return Report(
        provider="twilio",
        message_id=_field(fields, "MessageSid"),
        number=number,
        delivered=status in DELIVERED,
        code=_field(fields, "ErrorCode", required=False),
        text=_field(fields, "ErrorMessage", required=False),
    )


def _field(fields: dict[str, str], name: str, *, required: bool = True) -> str:
    value = fields.get(name, "")
    if (required and not value) or len(value) > MAX_FIELD or not is_text(value):
        raise BadReport(
            f"{name} must be {'non-empty ' if required else ''}text of at most {MAX_FIELD} characters"
        )
    return value
