"""``tencent``: Tencent Cloud SMS API 3.0 ``SendSms``, version 2021-01-11.

Up to 200 numbers a request. HTTP is 200 even for errors: ``Response.Error`` fails the whole request,
otherwise ``SendStatusSet[].Code == "Ok"`` settles each number on its own. ``RequestLimitExceeded*``
and ``InternalError.*`` are transient, other codes permanent. Signed with TC3-HMAC-SHA256.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from smsworker.errors import PermanentProviderError, ProviderError, TransientProviderError
from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.providers.segments import count_segments
from smsworker.providers.signing import tc3_signature
from smsworker.providers.templates import positional_variables, template_code
from smsworker.providers.transport import Endpoint, encode_json, json_body, make_session

VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"


# The number's own problems: a failover chain does not pass these on.
RECIPIENT_PREFIXES = (
    "InvalidParameterValue.IncorrectPhoneNumber",
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.PhoneNumberOnBlacklist",
    "LimitExceeded.PhoneNumber",
)


def classify(code: str, message: str) -> ProviderError:
    if code.startswith(("RequestLimitExceeded", "InternalError")):
        return TransientProviderError(f"{code}: {message}", code=code)
    return PermanentProviderError(
        f"{code}: {message}", code=code, recipient_fault=code.startswith(RECIPIENT_PREFIXES)
    )


class TencentProvider:
    name = "tencent"
    max_batch_size = 200

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        templates: Mapping[str, str],
        region: str = "ap-guangzhou",
        base_url: str = "https://sms.tencentcloudapi.com",
        timeout_s: float = 10.0,
        pool_size: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._app_id = sdk_app_id
        self._sign_name = sign_name
        self._templates = templates
        self._region = region
        self._url = base_url.rstrip("/") + "/"
        self._host = urlsplit(base_url).netloc
        self._timeout_s = timeout_s
        self._session = make_session(base_url, pool_size=pool_size)
        self._endpoint = Endpoint(self._session, self._url)
        self._clock = clock

    def body(self, message: OutgoingMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "PhoneNumberSet": list(message.mobiles),
            "SmsSdkAppId": self._app_id,
            "SignName": self._sign_name,
            "TemplateId": template_code(message, self._templates),
            "TemplateParamSet": positional_variables(message),
        }
        if message.task_id is not None:
            body["SessionContext"] = message.task_id
        return body

    def send(self, message: OutgoingMessage) -> SendResult:
        answer = self._call("SendSms", self.body(message))
        return self._per_number(message, answer.get("SendStatusSet") or [])

    def pull_statuses(self, limit: int = 100) -> list[dict[str, Any]]:
        """Delivery reports not pulled before (PullSmsSendStatus: Tencent hands each out once), up to
        ``limit`` (at most 100): items with ``PhoneNumber``, ``SerialNo``, ``ReportStatus``
        (SUCCESS / FAIL), ``Description``, ``UserReceiveTime`` (unix s). ``ProviderError`` when the
        call fails."""
        answer = self._call("PullSmsSendStatus", {"SmsSdkAppId": self._app_id, "Limit": limit})
        items = answer.get("PullSmsSendStatusSet")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    def _call(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """One signed API 3.0 call; the ``Response`` object, or the ``ProviderError`` its ``Error`` is."""
        payload = encode_json(body).encode("utf-8")
        timestamp = int(self._clock())
        date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
        signature = tc3_signature(
            secret_key=self._secret_key,
            service="sms",
            host=self._host,
            timestamp=timestamp,
            date=date,
            payload=payload,
            content_type=CONTENT_TYPE,
        )
        headers = {
            "Authorization": (
                f"TC3-HMAC-SHA256 Credential={self._secret_id}/{date}/sms/tc3_request, "
                f"SignedHeaders=content-type;host, Signature={signature}"
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-TC-Action": action,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self._region,
        }
        response = self._endpoint.post(payload, timeout_s=self._timeout_s, headers=headers)
        if response.status_code >= 500:
            raise TransientProviderError(f"HTTP {response.status_code}", code=str(response.status_code))
        answer = json_body(response).get("Response", {})
        if not isinstance(answer, dict):
            raise TransientProviderError("no Response object in the answer")
        if "Error" in answer:
            error = answer["Error"]
            raise classify(str(error.get("Code", "")), str(error.get("Message", "")))
        return answer

    def _per_number(self, message: OutgoingMessage, statuses: list[dict[str, Any]]) -> SendResult:
        by_number = {str(s.get("PhoneNumber")): s for s in statuses}
        failed: dict[str, ProviderError] = {}
        for mobile in message.mobiles:
            status = by_number.get(mobile)
            if status is None:
                failed[mobile] = TransientProviderError("no status for this number in the answer")
            elif status.get("Code") != "Ok":
                failed[mobile] = classify(str(status.get("Code")), str(status.get("Message", "")))
        serials = {
            mobile: str(by_number[mobile].get("SerialNo") or "")
            for mobile in message.mobiles
            if mobile not in failed and by_number[mobile].get("SerialNo")
        }
        return SendResult(failed=failed, message_ids=serials)

    def segments(self, content: str) -> int:
        return count_segments(f"【{self._sign_name}】{content}", "cn")

    def close(self) -> None:
        self._session.close()
