"""The HTTP plumbing every provider shares: one pooled ``requests`` session, errors classified."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from smsworker.errors import TransientProviderError


def make_session(url: str, *, pool_size: int, headers: Sequence[tuple[str, str]] = ()) -> requests.Session:
    session = requests.Session()
    # One connection per concurrent send, and no urllib3 retries: the worker owns retrying.
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(dict(headers))
    # requests re-reads proxy, netrc and CA-bundle variables from the environment on every call
    # (~0.45 ms of CPU each, `python -m bench.http_cost`); read them once here instead.
    session.proxies = requests.utils.get_environ_proxies(url)
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    session.trust_env = False
    return session


def request(
    session: requests.Session, method: str, url: str, *, timeout_s: float, **kwargs: Any
) -> requests.Response:
    """Send; a timeout or a network error is transient (the request may or may not have arrived)."""
    try:
        return session.request(method, url, timeout=timeout_s, **kwargs)
    except requests.Timeout as exc:
        raise TransientProviderError(f"timed out after {timeout_s:g} s: {exc}") from None
    except requests.RequestException as exc:
        raise TransientProviderError(f"request failed: {type(exc).__name__}: {exc}") from None


def json_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise TransientProviderError(
            f"HTTP {response.status_code}: not JSON: {response.text[:200]}", code=str(response.status_code)
        ) from None
    if not isinstance(body, dict):
        raise TransientProviderError(f"HTTP {response.status_code}: unexpected body {response.text[:200]}")
    return body
