"""Fakes of the vendors' SMS APIs on loopback. Each recomputes the request's signature with the
shared secret and checks the parameters and limits the vendor checks, then answers as scripted.

Script a number's answers with ``script(number, code, ...)``: codes are the vendor's own
("OK"/"Ok"/201 when absent). Accepted numbers are recorded in ``delivered`` (E.164).

Like the vendors, each fake then tells what reached the phone: ``push_reports(url, failed=...)``
POSTs a delivery report for every number it accepted, in the vendor's own format (Alibaba's
SmsReport batch, Tencent's status callback, Twilio's signed StatusCallback form, one a message),
and returns the answers. With ``report_at_once`` set to a URL, each accepted number is reported
there before the request that sent it is even answered: the report always comes before its task
settles. ``slow`` delays the answer to a request that carries a given number.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from smsworker.providers.signing import acs3_signature, rpc_v1_signature, sha256_hex, tc3_signature
from smsworker.receiver.fields import BEIJING
from smsworker.receiver.twilio_reports import signature as twilio_signature
from tests.support.loopback import Answer, LoopbackServer, Request


class FakeVendor:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delivered: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.rejections: list[str] = []  # why a request was refused before any number was looked at
        self.replies: dict[str, list[str]] = defaultdict(list)
        # The vendor's id for each accepted number (E.164), as its answer gave it: what its delivery
        # reports will name.
        self.message_ids: dict[str, str] = {}
        # What the handsets did, for the pull APIs: numbers whose report is "undelivered", and
        # numbers the vendor is still waiting on (Alibaba's SendStatus 1).
        self.undeliverable: set[str] = set()
        self.waiting: set[str] = set()
        self.pulls: list[dict[str, Any]] = []  # the pull API calls, as received
        self.report_at_once: str | None = None
        # Runs once, inside the next pull call, before it answers: what happens meanwhile.
        self.while_pulling: Callable[[], None] | None = None
        self.slow: dict[str, float] = {}  # E.164 number -> seconds before answering its request
        self._serial = itertools.count(1)
        self.server = LoopbackServer(self._answer)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def __enter__(self) -> Any:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def _answer(self, request: Request) -> Answer:
        with self.lock:
            known = len(self.message_ids)
        status, body = self.handle(request.path, dict(request.headers), request.body)
        with self.lock:
            accepted = list(self.message_ids.items())[known:]
        if self.report_at_once and accepted:  # before the sender hears of it
            answers = self.post_reports(self.report_at_once, [(n, m, True) for n, m in accepted])
            assert all(a.status_code < 300 for a in answers), [a.text for a in answers]
        delay = max((self.slow.get(n, 0.0) for n, _ in accepted), default=0.0)
        time.sleep(delay)  # a slow vendor, for the request's sender
        return Answer(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def script(self, number: str, *codes: str) -> None:
        with self.lock:
            self.replies[number].extend(codes)

    def next_code(self, number: str, ok: str) -> str:
        with self.lock:
            return self.replies[number].pop(0) if self.replies.get(number) else ok

    def meanwhile(self) -> None:
        hook, self.while_pulling = self.while_pulling, None
        if hook is not None:
            hook()

    def new_id(self) -> int:
        with self.lock:
            return next(self._serial)

    def refuse(self, why: str) -> None:
        with self.lock:
            self.rejections.append(why)

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def push_reports(self, url: str, *, failed: Collection[str] = ()) -> list[requests.Response]:
        """A report for each number accepted so far, ``failed`` ones undelivered, POSTed to ``url``."""
        with self.lock:
            accepted = dict(self.message_ids)
        items = [(number, message_id, number not in failed) for number, message_id in accepted.items()]
        return self.post_reports(url, items)

    def post_reports(self, url: str, items: list[tuple[str, str, bool]]) -> list[requests.Response]:
        """(number, message id, delivered) reports, as this vendor sends them."""
        raise NotImplementedError


def _json_push(url: str, reports: list[dict[str, Any]]) -> list[requests.Response]:
    body = json.dumps(reports, ensure_ascii=False).encode()
    return [requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)]


class FakeAliyun(FakeVendor):
    """Dysmsapi SendSms with ACS3-HMAC-SHA256. Whole-request answers, like the real API."""

    def __init__(self, key_id: str = "test-key", secret: str = "test-secret") -> None:
        super().__init__()
        self.key_id, self.secret = key_id, secret
        self.sent_dates: dict[str, str] = {}  # E.164 -> the day (Beijing) it was accepted

    def post_reports(self, url: str, items: list[tuple[str, str, bool]]) -> list[requests.Response]:
        return _json_push(url, [_aliyun_report(*item) for item in items])

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        lower = {k.lower(): v for k, v in headers.items()}
        if "authorization" in lower:
            params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
            action = lower.get("x-acs-action", "")
            problem = self._check_signature(lower, params, raw) or self._check_params(action, params)
        else:  # RPC v1: everything, the signature included, in the form body
            params = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            action = params.get("Action", "")
            problem = self._check_v1(params) or self._check_params(action, params)
        if problem:
            self.refuse(problem)
            code = "SignatureDoesNotMatch" if "signature" in problem else "isv.INVALID_PARAMETERS"
            return 400, {"Code": code, "Message": problem}
        if action == "QuerySendDetails":
            return self._query_details(params)
        numbers = params["PhoneNumbers"].split(",")
        self.requests.append(params)
        codes = {self.next_code(n, "OK") for n in numbers}
        code = sorted(codes - {"OK"})[0] if codes - {"OK"} else "OK"
        if code == "OK":
            biz_id = f"{900619746936498440 + self.new_id()}^0"  # one per request, for every number in it
            # Mainland numbers arrive without +86, others as country code + number.
            accepted = ["+86" + n if len(n) == 11 and n.startswith("1") else "+" + n for n in numbers]
            today = datetime.now(BEIJING).strftime("%Y%m%d")
            with self.lock:
                self.delivered.extend(accepted)
                self.message_ids.update(dict.fromkeys(accepted, biz_id))
                self.sent_dates.update(dict.fromkeys(accepted, today))
            return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "r"}
        return 200, {"Code": code, "Message": f"scripted {code}", "RequestId": "r"}

    def _check_signature(self, headers: dict[str, str], params: dict[str, str], raw: bytes) -> str | None:
        auth = headers.get("authorization", "")
        prefix = f"ACS3-HMAC-SHA256 Credential={self.key_id},SignedHeaders="
        if not auth.startswith(prefix):
            return "signature: missing or foreign credential"
        signed_names, _, given = auth[len(prefix) :].partition(",Signature=")
        if headers.get("x-acs-content-sha256") != sha256_hex(raw):
            return "signature: x-acs-content-sha256 does not match the body"
        signed = {name: headers.get(name, "") for name in signed_names.split(";")}
        for required in ("host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"):
            if required not in signed:
                return f"signature: {required} is not signed"
        expected, _ = acs3_signature(
            secret=self.secret,
            method="POST",
            path="/",
            query=params,
            headers=signed,
            payload_sha256=sha256_hex(raw),
        )
        return None if given == expected else "signature does not match"

    def _check_v1(self, params: dict[str, str]) -> str | None:
        given = params.pop("Signature", "")
        if params.get("AccessKeyId") != self.key_id or params.get("SignatureMethod") != "HMAC-SHA1":
            return "signature: foreign credential or method"
        expected = rpc_v1_signature(secret=self.secret, method="POST", params=params)
        return None if given == expected else "signature does not match"

    def _query_details(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.pulls.append(params)
        self.meanwhile()
        with self.lock:
            sent = [
                (n, biz)
                for n, biz in self.message_ids.items()
                if _as_sent(n) == params["PhoneNumber"]
                and params.get("BizId", biz) == biz
                and self.sent_dates.get(n) == params["SendDate"]
            ]
        details = [
            {
                "PhoneNum": _as_sent(n),
                "SendStatus": 1 if n in self.waiting else 2 if n in self.undeliverable else 3,
                "ErrCode": "MK:0001" if n in self.undeliverable else "DELIVERED",
                "TemplateCode": "SMS_1",
                "Content": "x",
                "SendDate": "2026-11-21 10:00:00",
                "ReceiveDate": "2026-11-21 10:00:07",
                "OutId": "",
            }
            for n, _ in sent
        ]
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "RequestId": "r",
            "TotalCount": len(details),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": details},
        }

    @staticmethod
    def _check_params(action: str, params: dict[str, str]) -> str | None:
        if action == "QuerySendDetails":
            page = params.get("PageSize", "")
            if not params.get("PhoneNumber", "").isdigit() or not re.fullmatch(
                r"20\d{6}", params.get("SendDate", "")
            ):
                return "QuerySendDetails: PhoneNumber (digits) and SendDate (yyyyMMdd) are required"
            if not (page.isdigit() and 1 <= int(page) <= 50) or not params.get("CurrentPage", "").isdigit():
                return "QuerySendDetails: PageSize 1-50 and CurrentPage are required"
            return None
        if action != "SendSms":
            return f"unknown action {action!r}"
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return f"{name} is required"
        numbers = params["PhoneNumbers"].split(",")
        if len(numbers) > 1000 or any(not n.isdigit() for n in numbers):
            return "PhoneNumbers: at most 1,000 digit-only numbers"
        try:
            variables = json.loads(params.get("TemplateParam", "{}"))
        except ValueError:
            return "TemplateParam is not JSON"
        if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
            return "TemplateParam must be a JSON object of strings"
        return None


def _as_sent(number: str) -> str:
    """A number as Alibaba is given it, and writes it back."""
    return number[3:] if number.startswith("+86") else number[1:]


def _aliyun_report(number: str, biz_id: str, delivered: bool) -> dict[str, Any]:
    return {
        "phone_number": _as_sent(number),
        "send_time": "2026-11-21 10:00:00",
        "report_time": "2026-11-21 10:00:07",
        "success": delivered,
        "err_code": "DELIVERED" if delivered else "MK:0001",
        "err_msg": "用户接收成功" if delivered else "停机",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": "",
    }


class FakeTencent(FakeVendor):
    """SMS 2021-01-11 SendSms with TC3-HMAC-SHA256; per-number SendStatusSet."""

    def __init__(self, secret_id: str = "AKIDtest", secret_key: str = "tencent-secret") -> None:
        super().__init__()
        self.secret_id, self.secret_key = secret_id, secret_key
        self.unpulled: list[tuple[str, str]] = []  # reports PullSmsSendStatus has not handed out yet

    def _pull(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Each report once, oldest first, like the real queue."""
        self.pulls.append(body)
        self.meanwhile()
        with self.lock:
            taken, self.unpulled = self.unpulled[: body["Limit"]], self.unpulled[body["Limit"] :]
        items = [
            {
                "UserReceiveTime": 1795226407,
                "CountryCode": n[1:3],
                "SubscriberNumber": n[3:],
                "PhoneNumber": n,
                "SerialNo": serial,
                "ReportStatus": "FAIL" if n in self.undeliverable else "SUCCESS",
                "Description": "MN:0001" if n in self.undeliverable else "DELIVRD",
                "SessionContext": "",
            }
            for n, serial in taken
        ]
        return 200, {"Response": {"PullSmsSendStatusSet": items, "RequestId": "r"}}

    def post_reports(self, url: str, items: list[tuple[str, str, bool]]) -> list[requests.Response]:
        reports = [
            {
                "user_receive_time": "2026-11-21 10:00:07",
                "nationcode": number[1:3],
                "mobile": number[3:],
                "report_status": "SUCCESS" if delivered else "FAIL",
                "errmsg": "DELIVRD" if delivered else "MN:0001",
                "description": "用户短信送达成功" if delivered else "空号",
                "sid": serial,
            }
            for number, serial, delivered in items
        ]
        return _json_push(url, reports)

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        lower = {k.lower(): v for k, v in headers.items()}
        problem = self._check(lower, raw)
        if problem:
            self.refuse(problem)
            return 200, {
                "Response": {
                    "Error": {
                        "Code": "AuthFailure.SignatureFailure"
                        if "signature" in problem
                        else "InvalidParameter",
                        "Message": problem,
                    },
                    "RequestId": "r",
                }
            }
        body = json.loads(raw)
        if lower.get("x-tc-action") == "PullSmsSendStatus":
            return self._pull(body)
        self.requests.append(body)
        statuses = []
        for number in body["PhoneNumberSet"]:
            code = self.next_code(number, "Ok")
            serial = f"2433:{self.new_id():020d}" if code == "Ok" else ""
            if code == "Ok":
                with self.lock:
                    self.delivered.append(number)
                    self.message_ids[number] = serial
                    self.unpulled.append((number, serial))
            statuses.append(
                {"SerialNo": serial, "PhoneNumber": number, "Fee": 1, "Code": code, "Message": code}
            )
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": "r"}}

    def _check(self, headers: dict[str, str], raw: bytes) -> str | None:
        action = headers.get("x-tc-action")
        if action not in ("SendSms", "PullSmsSendStatus") or headers.get("x-tc-version") != "2021-01-11":
            return "X-TC-Action must be SendSms or PullSmsSendStatus and X-TC-Version 2021-01-11"
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        auth = headers.get("authorization", "")
        try:
            credential = auth.split("Credential=")[1].split(",")[0]
            given = auth.split("Signature=")[1]
        except IndexError:
            return "signature: malformed Authorization"
        key_id, date, service, _ = credential.split("/")
        if key_id != self.secret_id or service != "sms":
            return "signature: foreign credential"
        expected = tc3_signature(
            secret_key=self.secret_key,
            service="sms",
            host=headers.get("host", ""),
            timestamp=timestamp,
            date=date,
            payload=raw,
            content_type=headers.get("content-type", ""),
        )
        if given != expected:
            return "signature does not match"
        body = json.loads(raw)
        return self._check_pull(body) if action == "PullSmsSendStatus" else self._check_send(body)

    @staticmethod
    def _check_pull(body: dict[str, Any]) -> str | None:
        limit = body.get("Limit")
        if not body.get("SmsSdkAppId") or not isinstance(limit, int) or not 1 <= limit <= 100:
            return "PullSmsSendStatus: SmsSdkAppId and Limit (1 to 100) are required"
        return None

    @staticmethod
    def _check_send(body: dict[str, Any]) -> str | None:
        numbers = body.get("PhoneNumberSet")
        if (
            not isinstance(numbers, list)
            or not 1 <= len(numbers) <= 200
            or not all(isinstance(n, str) and n.startswith("+") for n in numbers)
        ):
            return "PhoneNumberSet: 1 to 200 E.164 numbers"
        for name in ("SmsSdkAppId", "SignName", "TemplateId"):
            if not body.get(name):
                return f"{name} is required"
        params = body.get("TemplateParamSet", [])
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return "TemplateParamSet must be an array of strings"
        return None


class FakeTwilio(FakeVendor):
    """Messages.json with HTTP Basic auth; one number a request; 201 when sent."""

    def __init__(self, account_sid: str = "ACtest", auth_token: str = "twilio-token") -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token

    def post_reports(self, url: str, items: list[tuple[str, str, bool]]) -> list[requests.Response]:
        """One signed form a message, to ``url``: what was sent as its StatusCallback, in a test
        with no proxy in between."""
        answers = []
        for number, sid, delivered in items:
            form = {
                "MessageSid": sid,
                "SmsSid": sid,
                "AccountSid": self.account_sid,
                "To": number,
                "From": "+15005550006",
                "ApiVersion": "2010-04-01",
                "MessageStatus": "delivered" if delivered else "undelivered",
                **({} if delivered else {"ErrorCode": "30003"}),
            }
            headers = {"X-Twilio-Signature": twilio_signature(self.auth_token, url, form.items())}
            answers.append(requests.post(url, data=form, headers=headers, timeout=10))
        return answers

    def status_callbacks(self) -> set[str]:
        with self.lock:
            return {form.get("StatusCallback", "") for form in self.requests}

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        lower = {k.lower(): v for k, v in headers.items()}
        expected_auth = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if lower.get("authorization") != expected_auth:
            self.refuse("bad credentials")
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            self.refuse(f"unknown path {path}")
            return 404, {"code": 20404, "message": "not found", "status": 404}
        form = dict(parse_qsl(raw.decode()))
        number = form.get("To", "")
        if (
            not number.startswith("+")
            or not form.get("Body")
            or not (form.get("From") or form.get("MessagingServiceSid"))
        ):
            self.refuse("To (E.164), Body and From or MessagingServiceSid are required")
            return 400, {"code": 21604, "message": "missing parameter", "status": 400}
        self.requests.append(form)
        code = self.next_code(number, "201")
        if code == "201":
            sid = f"SM{self.new_id():032x}"
            with self.lock:
                self.delivered.append(number)
                self.message_ids[number] = sid
            return 201, {"sid": sid, "status": "queued", "to": number}
        status = 429 if code == "20429" else 400
        return status, {"code": int(code), "message": f"scripted {code}", "status": status}
