"""``aliyun``: Alibaba Cloud SMS, Dysmsapi 2017-05-25 ``SendSms``.

Up to 1,000 numbers a request (same content). Success is ``Code == "OK"`` in the body, whatever the
HTTP status; ``isp.SYSTEM_ERROR`` and ``Throttling.*`` are transient, other codes permanent. Signed
with ACS3-HMAC-SHA256 (or RPC v1 HMAC-SHA1 with ``signature = "v1"``). The API is not idempotent:
every request carries an ``OutId``, logged with any timeout so an operator can reconcile.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from smsworker.errors import PermanentProviderError, TransientProviderError
from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.providers.segments import count_segments
from smsworker.providers.signing import acs3_signature, canonical_query, rpc_v1_signature, sha256_hex
from smsworker.providers.templates import named_variables, template_code
from smsworker.providers.transport import encode_json, json_body, make_session, request

VERSION = "2017-05-25"
EMPTY_SHA256 = sha256_hex(b"")


def phone_number(e164: str) -> str:
    """Mainland numbers go without +86; others as country code + number, without the +."""
    return e164[3:] if e164.startswith("+86") else e164.lstrip("+")


# The number's own problems: a failover chain does not pass these on.
RECIPIENT_CODES = frozenset(
    {"isv.MOBILE_NUMBER_ILLEGAL", "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL"}
)


def is_transient(code: str) -> bool:
    return code == "isp.SYSTEM_ERROR" or code.startswith("Throttling")


class AliyunProvider:
    name = "aliyun"
    max_batch_size = 1000

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: Mapping[str, str],
        base_url: str = "https://dysmsapi.aliyuncs.com",
        timeout_s: float = 10.0,
        content_param: str = "content",
        signature: str = "v3",
        pool_size: int = 8,
        log: Any = None,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name
        self._templates = templates
        self._url = base_url.rstrip("/") + "/"
        self._host = urlsplit(base_url).netloc
        self._timeout_s = timeout_s
        self._content_param = content_param
        self._signature = signature
        self._session = make_session(base_url, pool_size=pool_size)
        self._log = log
        self._clock = clock
        self._nonce = nonce

    def params(self, message: OutgoingMessage, out_id: str) -> dict[str, str]:
        return {
            "PhoneNumbers": ",".join(phone_number(m) for m in message.mobiles),
            "SignName": self._sign_name,
            "TemplateCode": template_code(message, self._templates),
            "TemplateParam": encode_json(named_variables(message, self._content_param), compact=False),
            "OutId": out_id,
        }

    def send(self, message: OutgoingMessage) -> SendResult:
        out_id = message.task_id or uuid.uuid4().hex
        params = self.params(message, out_id)
        try:
            response = self._call("SendSms", params)
        except TransientProviderError:
            if self._log is not None:  # the request may have gone through: say which one it was
                self._log.warning("aliyun.ambiguous_failure", out_id=out_id, recipients=len(message.mobiles))
            raise
        body = json_body(response)
        code = str(body.get("Code", f"HTTP{response.status_code}"))
        if code == "OK":
            biz_id = str(body.get("BizId") or "")
            if self._log is not None:
                self._log.debug(
                    "aliyun.accepted", biz_id=biz_id, out_id=out_id, recipients=len(message.mobiles)
                )
            return SendResult(message_ids=dict.fromkeys(message.mobiles, biz_id) if biz_id else {})
        error = f"{code}: {body.get('Message', '')}"
        if is_transient(code) or response.status_code >= 500:
            raise TransientProviderError(error, code=code)
        raise PermanentProviderError(error, code=code, recipient_fault=code in RECIPIENT_CODES)

    def query_details(self, number: str, send_date: str, biz_id: str) -> list[dict[str, Any]]:
        """What Alibaba knows of the message ``biz_id`` sent to ``number`` (E.164) on ``send_date``
        (``YYYYMMDD``, Beijing): QuerySendDetails' ``SmsSendDetailDTO`` items (``PhoneNum``,
        ``SendStatus`` 1 waiting / 2 failed / 3 delivered, ``ErrCode``, ``ReceiveDate``, ...).
        Raises ``ProviderError`` when the call fails."""
        params = {
            "PhoneNumber": phone_number(number),
            "SendDate": send_date,
            "BizId": biz_id,
            "PageSize": "10",
            "CurrentPage": "1",
        }
        response = self._call("QuerySendDetails", params)
        body = json_body(response)
        code = str(body.get("Code", f"HTTP{response.status_code}"))
        if code != "OK":
            error = f"{code}: {body.get('Message', '')}"
            if is_transient(code) or response.status_code >= 500:
                raise TransientProviderError(error, code=code)
            raise PermanentProviderError(error, code=code)
        details = body.get("SmsSendDetailDTOs")
        items = details.get("SmsSendDetailDTO") if isinstance(details, dict) else None
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    def _call(self, action: str, params: dict[str, str]) -> Any:
        return (self._call_v1 if self._signature == "v1" else self._call_v3)(action, params)

    def _call_v3(self, action: str, params: dict[str, str]) -> Any:
        headers = {
            "host": self._host,
            "x-acs-action": action,
            "x-acs-content-sha256": EMPTY_SHA256,
            "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock())),
            "x-acs-signature-nonce": self._nonce(),
            "x-acs-version": VERSION,
        }
        signature, signed = acs3_signature(
            secret=self._secret,
            method="POST",
            path="/",
            query=params,
            headers=headers,
            payload_sha256=EMPTY_SHA256,
        )
        headers["Authorization"] = (
            f"ACS3-HMAC-SHA256 Credential={self._key_id},SignedHeaders={signed},Signature={signature}"
        )
        url = self._url + "?" + canonical_query(params)
        return request(self._session, "POST", url, timeout_s=self._timeout_s, headers=headers)

    def _call_v1(self, action: str, params: dict[str, str]) -> Any:
        signed = {
            **params,
            "AccessKeyId": self._key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0",
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock())),
            "Version": VERSION,
        }
        signed["Signature"] = rpc_v1_signature(secret=self._secret, method="POST", params=signed)
        return request(self._session, "POST", self._url, timeout_s=self._timeout_s, data=signed)

    def segments(self, content: str) -> int:
        return count_segments(f"【{self._sign_name}】{content}", "cn")

    def close(self) -> None:
        self._session.close()
