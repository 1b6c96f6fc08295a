"""What guards the pages before any is served: the Host a request names, who the client is behind a
proxy, how often a login may fail, and CSRF tokens.

- **Host**: a request must name this dashboard: an IP address, ``localhost``, or a name in
  ``dashboard_allowed_hosts`` (Django's ``ALLOWED_HOSTS``). A web page of another site whose name
  its owner points at this address (DNS rebinding) names its own site, and gets a 400: it cannot
  read the pages or fetch a form's token to act, with logins or without. An IP address in the Host
  is always safe: a page served from an address is that address's own origin.
- **The client**: the peer's address, unless the peer is one of ``dashboard_trusted_proxies``: then
  the nearest address in ``X-Forwarded-For`` that is not a trusted proxy.
- **Failed logins** are counted per client address and per account: ``MAX_FAILURES`` from one
  address, or ``MAX_ACCOUNT_FAILURES`` for one account from anywhere, within ``WINDOW_S``, and
  that address or account is refused (429) until the window has passed.
- **CSRF**: every form that changes something posts the session's token back, compared in
  constant time. Before logging in (and without logins), the token lives in the signed cookie.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Sequence

from flask import session

from smsworker.config.addresses import Network, within

MAX_FAILURES = 5
MAX_ACCOUNT_FAILURES = 10
WINDOW_S = 300.0
# Keys remembered at most; past it, those whose failures have all aged out are forgotten, so a
# flood from many addresses cannot grow the table without bound.
MAX_CLIENTS = 10_000


class LoginLimiter:
    """Failed logins per key (an address, or an account) within a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self._max = max_failures
        self._window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, key: str, now: float | None = None) -> bool:
        with self._lock:
            recent = self._recent(key, time.monotonic() if now is None else now)
            return len(recent) >= self._max

    def failed(self, key: str, now: float | None = None) -> None:
        at = time.monotonic() if now is None else now
        with self._lock:
            self._recent(key, at).append(at)
            if len(self._failures) > MAX_CLIENTS:
                for old in [c for c, times in self._failures.items() if times[-1] <= at - self._window_s]:
                    del self._failures[old]

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures[key]
        while recent and recent[0] <= now - self._window_s:
            recent.popleft()
        if not recent:
            self._failures.pop(key, None)
            recent = self._failures[key]
        return recent


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether the Host header ``host`` (with or without a port) names this dashboard."""
    name = host.strip().lower()
    if name.startswith("["):  # [::1]:8091
        return _is_address(name[1 : name.find("]")]) if "]" in name else False
    name = name.rpartition(":")[0] if name.count(":") == 1 else name
    name = name.rstrip(".")
    if not name:
        return False
    if name == "localhost" or _is_address(name):
        return True
    return any(name == a or (a.startswith(".") and (name.endswith(a) or name == a[1:])) for a in allowed)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """Who the client is: ``peer``, unless it is a trusted proxy; then the nearest address in
    ``X-Forwarded-For`` (the right end is the nearest) that is not one."""
    address = peer or "?"
    if not trusted or not within(address, trusted):
        return address
    for hop in reversed([h.strip() for h in (forwarded_for or "").split(",") if h.strip()]):
        if not _is_address(hop):
            return address  # a hop that is not an address: believe nothing further
        address = hop
        if not within(hop, trusted):
            return hop
    return address


def anonymous_csrf() -> str:
    """The token of a visitor with no session yet (the login form; no logins at all)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def same_token(expected: str, sent: object) -> bool:
    return bool(expected) and isinstance(sent, str) and hmac.compare_digest(expected, sent)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
