"""The HTTP plumbing every provider shares: one pooled ``requests`` session, errors classified.

Redirects are never followed: requests would turn a 301/302/303 answer to a POST into a GET, and
the GET's 200 would count as sent although no message was accepted. A 3xx is a permanent error
(the URL is wrong). A message that cannot even be encoded is ``UnsendableMessage``: trying again
cannot help. Error texts are redacted: a webhook URL may carry its token.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from smsworker.errors import PermanentProviderError, TransientProviderError, UnsendableMessage
from smsworker.redact import redact_url


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
    return _classified(
        lambda: session.request(method, url, timeout=timeout_s, allow_redirects=False, **kwargs), timeout_s
    )


class Endpoint:
    """POSTs to one URL with one session, prepared once.

    ``Session.request`` merges the session's headers, cookies, auth and hooks into every request it
    prepares, and parses the URL again: about a third of a POST's CPU here (``python -m
    bench.http_cost``). For a provider that posts to one URL with the same session settings, all of
    that comes out the same every time, so it is done once, and each call copies the result and sets
    its body (and the headers that change per call, like a signature).
    """

    def __init__(self, session: requests.Session, url: str, headers: Mapping[str, str] | None = None) -> None:
        self._session = session
        self._template = session.prepare_request(requests.Request("POST", url, headers=dict(headers or {})))

    def post(
        self, data: bytes | Mapping[str, str], *, timeout_s: float, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        def send() -> requests.Response:
            prepared = self._template.copy()
            if headers:
                prepared.headers.update(headers)
            prepared.prepare_body(data, None)
            s = self._session
            return s.send(
                prepared,
                timeout=timeout_s,
                allow_redirects=False,
                stream=False,
                verify=s.verify,
                cert=s.cert,
                proxies=s.proxies,
            )

        return _classified(send, timeout_s)


def _classified(send: Callable[[], requests.Response], timeout_s: float) -> requests.Response:
    try:
        response = send()
    except requests.Timeout as exc:
        raise TransientProviderError(_redacted(f"timed out after {timeout_s:g} s: {exc}")) from None
    except requests.exceptions.InvalidJSONError as exc:
        raise UnsendableMessage(f"the request body cannot be encoded as JSON: {exc}") from None
    except requests.RequestException as exc:
        raise TransientProviderError(_redacted(f"request failed: {type(exc).__name__}: {exc}")) from None
    except (UnicodeError, ValueError, TypeError) as exc:  # raised while preparing, before sending
        raise UnsendableMessage(f"the request cannot be encoded: {type(exc).__name__}: {exc}") from None
    if 300 <= response.status_code < 400:
        location = _redacted(response.headers.get("Location", "nowhere"))
        raise PermanentProviderError(
            f"HTTP {response.status_code}: the provider redirects to {location}; smsworker does not "
            "follow redirects (a POST would become a GET): set the URL it redirects to",
            code=str(response.status_code),
        )
    return response


def encode_json(value: Any, *, compact: bool = True) -> str:
    """JSON for a request body or parameter, UTF-8 encodable, or ``UnsendableMessage`` saying why
    there is none (NaN, an unpaired surrogate, a structure too deep)."""
    separators = (",", ":") if compact else (", ", ": ")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=separators)
        text.encode("utf-8")
    except (ValueError, TypeError, RecursionError) as exc:
        raise UnsendableMessage(f"the message cannot be encoded as JSON: {exc}") from None
    return text


def _redacted(text: str) -> str:
    return redact_url(text, query=True)[:500]


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
