"""``http``: a generic webhook. POSTs each message as JSON to a URL of the user's.

Status classes: 2xx sent; 408, 429 and 5xx transient (``Retry-After`` honoured); other 4xx
permanent. Timeouts and connection errors are transient.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Sequence
from typing import Any

import requests

from smsworker.errors import PermanentProviderError, TransientProviderError
from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.providers.segments import count_segments
from smsworker.providers.transport import Endpoint, encode_json, make_session
from smsworker.strict_json import is_text

TRANSIENT_STATUSES = frozenset({408, 429})
_JSON = {"Content-Type": "application/json"}


class HttpProvider:
    name = "http"

    def __init__(
        self,
        url: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        timeout_s: float = 10.0,
        batch_size: int = 1,
        pool_size: int = 8,
    ) -> None:
        self.url = url
        self.max_batch_size = batch_size
        self._timeout_s = timeout_s
        self._session = make_session(url, pool_size=pool_size, headers=headers)
        self._endpoint = Endpoint(self._session, url, _JSON)

    def body(self, message: OutgoingMessage) -> dict[str, Any]:
        body: dict[str, Any] = {"template_id": message.template_id}
        if self.max_batch_size > 1:
            body["mobiles"] = list(message.mobiles)
        else:
            body["mobile"] = message.mobiles[0]
        body["content"] = message.content
        if message.params is not None:
            body["params"] = dict(message.params)
        if message.task_id is not None:
            body["id"] = message.task_id
        return body

    def send(self, message: OutgoingMessage) -> SendResult:
        body = encode_json(self.body(message)).encode("utf-8")
        response = self._endpoint.post(body, timeout_s=self._timeout_s)
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(message_ids=message_ids(response, message.mobiles))
        detail = f"HTTP {status}: {response.text[:200]}"
        if status in TRANSIENT_STATUSES or status >= 500:
            raise TransientProviderError(
                detail, code=str(status), retry_after_s=parse_retry_after(response.headers.get("Retry-After"))
            )
        raise PermanentProviderError(detail, code=str(status))

    def segments(self, content: str) -> int:
        return count_segments(content)

    def close(self) -> None:
        self._session.close()


# A webhook's id for a message is a key in Redis later: bounded, and text.
MAX_MESSAGE_ID = 128


def message_ids(response: requests.Response, mobiles: Sequence[str]) -> dict[str, str]:
    """The webhook's ids for what it accepted, when its 2xx answer gives them (optional):
    ``{"message_id": "..."}`` for every number of the request, or ``{"message_ids": {number: id}}``.
    Anything else (no JSON, other shapes, ids that are not short text) gives none: the send stands."""
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    found: dict[str, object] = {}
    per_number = body.get("message_ids")
    if isinstance(per_number, dict):
        found = {m: per_number.get(m) for m in mobiles}
    elif "message_id" in body:
        found = dict.fromkeys(mobiles, body["message_id"])
    return {
        m: i for m, i in found.items() if isinstance(i, str) and 0 < len(i) <= MAX_MESSAGE_ID and is_text(i)
    }


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
