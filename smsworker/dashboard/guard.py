"""Who may see and do what: logins, sessions, CSRF tokens, the login rate limit.

Sessions are Flask's signed cookies (``HttpOnly``, ``SameSite=Strict``, ``Secure`` behind TLS) that
carry the user's name, role and a CSRF token; every form that changes something posts the token
back and is refused without it. Failed logins are counted per client address: after
``MAX_FAILURES`` within ``WINDOW_S`` the address is refused (429) until the window has passed.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque

from flask import session

from smsworker.dashboard.users import User

MAX_FAILURES = 5
WINDOW_S = 300.0
# Addresses remembered at most; past it, those whose failures have all aged out are forgotten, so a
# flood from many addresses cannot grow the table without bound.
MAX_CLIENTS = 10_000


class LoginLimiter:
    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self._max = max_failures
        self._window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, client: str, now: float | None = None) -> bool:
        with self._lock:
            recent = self._recent(client, time.monotonic() if now is None else now)
            return len(recent) >= self._max

    def failed(self, client: str, now: float | None = None) -> None:
        at = time.monotonic() if now is None else now
        with self._lock:
            self._recent(client, at).append(at)
            if len(self._failures) > MAX_CLIENTS:
                for old in [c for c, times in self._failures.items() if times[-1] <= at - self._window_s]:
                    del self._failures[old]

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, client: str, now: float) -> deque[float]:
        recent = self._failures[client]
        while recent and recent[0] <= now - self._window_s:
            recent.popleft()
        if not recent:
            self._failures.pop(client, None)
            recent = self._failures[client]
        return recent


def log_in(user: User) -> None:
    session.clear()
    session["user"], session["role"] = user.name, user.role
    session["csrf"] = secrets.token_urlsafe(32)


def current_user(no_auth: bool) -> User | None:
    if no_auth:
        return User("local", "operator")
    name, role = session.get("user"), session.get("role")
    return User(name, role) if isinstance(name, str) and isinstance(role, str) else None


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(sent: str | None) -> bool:
    expected = session.get("csrf")
    return isinstance(expected, str) and isinstance(sent, str) and hmac.compare_digest(expected, sent)
