"""Request signatures of the vendor APIs, as pure functions checked against the vendors' own examples.

- Alibaba Cloud ACS3-HMAC-SHA256 (V3, the current recommendation) and RPC HMAC-SHA1 (V1);
- Tencent Cloud TC3-HMAC-SHA256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote


def percent_encode(text: str) -> str:
    """RFC 3986 encoding as both clouds use it: unreserved characters kept, space as %20."""
    return quote(text, safe="-_.~")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def acs3_signature(
    *,
    secret: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_sha256: str,
) -> tuple[str, str]:
    """(signature hex, signed header names) for Alibaba Cloud V3.

    ``headers`` are the ones to sign: ``host``, ``content-type`` and every ``x-acs-*``.
    """
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    names = sorted(lowered)
    canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in names)
    signed = ";".join(names)
    canonical = "\n".join(
        [method.upper(), path, canonical_query(query), canonical_headers, signed, payload_sha256]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + sha256_hex(canonical.encode("utf-8"))
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest(), signed


def rpc_v1_signature(*, secret: str, method: str, params: Mapping[str, str]) -> str:
    """Alibaba Cloud RPC (V1) HMAC-SHA1 over the sorted, encoded parameters."""
    to_sign = f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def tc3_signature(
    *,
    secret_key: str,
    service: str,
    host: str,
    timestamp: int,
    date: str,
    payload: bytes,
    content_type: str = "application/json; charset=utf-8",
) -> str:
    """Tencent Cloud API 3.0 TC3-HMAC-SHA256, POST to "/", signing content-type and host.

    ``date`` is the UTC date of ``timestamp`` (YYYY-MM-DD); passed in so the caller owns the clock.
    """
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            sha256_hex(payload),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{sha256_hex(canonical.encode('utf-8'))}"
    key = _hmac_sha256(("TC3" + secret_key).encode(), date)
    key = _hmac_sha256(key, service)
    key = _hmac_sha256(key, "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
