"""``twilio``: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, one number a request.

201 is sent. HTTP 429 or error code 20429 is transient (``Retry-After`` honoured), as are 5xx and
network errors; other 4xx (21211 invalid number, 21610 unsubscribed, 21614 not a mobile, 21608
unverified trial number, ...) are permanent. With ``status_callback_url`` set, each message asks
Twilio to post its delivery status there (``smsworker receipts``, ``receiver/twilio_reports.py``).
"""

from __future__ import annotations

from smsworker.errors import PermanentProviderError, TransientProviderError
from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.providers.http import parse_retry_after
from smsworker.providers.segments import count_segments
from smsworker.providers.transport import make_session, request

# The number's own problems (invalid, unsubscribed, not a mobile): a failover chain keeps them.
RECIPIENT_CODES = frozenset({"21211", "21610", "21614"})


class TwilioProvider:
    name = "twilio"
    max_batch_size = 1

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str = "",
        messaging_service_sid: str = "",
        status_callback_url: str = "",
        base_url: str = "https://api.twilio.com",
        timeout_s: float = 10.0,
        pool_size: int = 8,
    ) -> None:
        self._auth = (account_sid, auth_token)
        self._sender = (
            {"MessagingServiceSid": messaging_service_sid} if messaging_service_sid else {"From": from_number}
        )
        # Asked for with each message: Twilio then posts its status changes there (``receipts``).
        if status_callback_url:
            self._sender["StatusCallback"] = status_callback_url
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._timeout_s = timeout_s
        self._session = make_session(base_url, pool_size=pool_size)

    def send(self, message: OutgoingMessage) -> SendResult:
        form = {"To": message.mobiles[0], "Body": message.content, **self._sender}
        response = request(
            self._session, "POST", self._url, timeout_s=self._timeout_s, data=form, auth=self._auth
        )
        status = response.status_code
        if status in (200, 201):
            try:
                sid = str(response.json().get("sid", ""))
            except (ValueError, AttributeError):
                sid = ""
            return SendResult(message_ids={message.mobiles[0]: sid} if sid else {})
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = str(body.get("code") or status) if isinstance(body, dict) else str(status)
        error = f"HTTP {status}, code {code}: {body.get('message', '') if isinstance(body, dict) else ''}"
        if status == 429 or code == "20429" or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise TransientProviderError(error, code=code, retry_after_s=retry_after)
        raise PermanentProviderError(error, code=code, recipient_fault=code in RECIPIENT_CODES)

    def segments(self, content: str) -> int:
        return count_segments(content)

    def close(self) -> None:
        self._session.close()
