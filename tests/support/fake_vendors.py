"""Fakes of the vendors' SMS APIs on loopback. Each recomputes the request's signature with the
shared secret and checks the parameters and limits the vendor checks, then answers as scripted.

Script a number's answers with ``script(number, code, ...)``: codes are the vendor's own
("OK"/"Ok"/201 when absent). Accepted numbers are recorded in ``delivered`` (E.164).
"""

from __future__ import annotations

import base64
import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from smsworker.providers.signing import acs3_signature, rpc_v1_signature, sha256_hex, tc3_signature


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None


class FakeVendor:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delivered: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.rejections: list[str] = []  # why a request was refused before any number was looked at
        self.replies: dict[str, list[str]] = defaultdict(list)
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, body = vendor.handle(self.path, dict(self.headers), raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Any:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, number: str, *codes: str) -> None:
        with self.lock:
            self.replies[number].extend(codes)

    def next_code(self, number: str, ok: str) -> str:
        with self.lock:
            return self.replies[number].pop(0) if self.replies.get(number) else ok

    def refuse(self, why: str) -> None:
        with self.lock:
            self.rejections.append(why)

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


class FakeAliyun(FakeVendor):
    """Dysmsapi SendSms with ACS3-HMAC-SHA256. Whole-request answers, like the real API."""

    def __init__(self, key_id: str = "test-key", secret: str = "test-secret") -> None:
        super().__init__()
        self.key_id, self.secret = key_id, secret

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        lower = {k.lower(): v for k, v in headers.items()}
        if "authorization" in lower:
            params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
            problem = self._check_signature(lower, params, raw) or self._check_params(params)
        else:  # RPC v1: everything, the signature included, in the form body
            params = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            problem = self._check_v1(params) or self._check_params(params)
        if problem:
            self.refuse(problem)
            code = "SignatureDoesNotMatch" if "signature" in problem else "isv.INVALID_PARAMETERS"
            return 400, {"Code": code, "Message": problem}
        numbers = params["PhoneNumbers"].split(",")
        self.requests.append(params)
        codes = {self.next_code(n, "OK") for n in numbers}
        code = sorted(codes - {"OK"})[0] if codes - {"OK"} else "OK"
        if code == "OK":
            with self.lock:
                # Mainland numbers arrive without +86, others as country code + number.
                self.delivered.extend(
                    "+86" + n if len(n) == 11 and n.startswith("1") else "+" + n for n in numbers
                )
            return 200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r"}
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

    @staticmethod
    def _check_params(params: dict[str, str]) -> str | None:
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


class FakeTencent(FakeVendor):
    """SMS 2021-01-11 SendSms with TC3-HMAC-SHA256; per-number SendStatusSet."""

    def __init__(self, secret_id: str = "AKIDtest", secret_key: str = "tencent-secret") -> None:
        super().__init__()
        self.secret_id, self.secret_key = secret_id, secret_key

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
        self.requests.append(body)
        statuses = []
        for number in body["PhoneNumberSet"]:
            code = self.next_code(number, "Ok")
            if code == "Ok":
                with self.lock:
                    self.delivered.append(number)
            statuses.append({"SerialNo": "s", "PhoneNumber": number, "Fee": 1, "Code": code, "Message": code})
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": "r"}}

    def _check(self, headers: dict[str, str], raw: bytes) -> str | None:
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return "X-TC-Action must be SendSms and X-TC-Version 2021-01-11"
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
        expected = tc3_signature(secret_key=self.secret_key, service="sms", host=headers.get("host", ""),
                                 timestamp=timestamp, date=date, payload=raw,
                                 content_type=headers.get("content-type", ""))  # fmt: skip
        if given != expected:
            return "signature does not match"
        body = json.loads(raw)
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
            with self.lock:
                self.delivered.append(number)
            return 201, {"sid": "SM" + "0" * 32, "status": "queued", "to": number}
        status = 429 if code == "20429" else 400
        return status, {"code": int(code), "message": f"scripted {code}", "status": status}
