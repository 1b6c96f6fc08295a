"""Logging in and out of the dashboard.

A login is checked against the users file as it is now, limited per client address and per account
(``guard.LoginLimiter``), and begins a session kept in Redis (``sessions.py``); the cookie then
carries its id only. Logging out ends that session at once; "log out everywhere" ends every session
of the user. Each is an audit event with the client's address (behind a trusted proxy, the
address the proxy names).
"""

from __future__ import annotations

import re
from typing import Any

from flask import g, redirect, render_template, request, session, url_for

from smsworker.dashboard.guard import MAX_ACCOUNT_FAILURES, LoginLimiter
from smsworker.dashboard.sessions import Sessions
from smsworker.dashboard.texts import TEXTS
from smsworker.dashboard.users import UsersFile, authenticate

_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.\-]*(\?[A-Za-z0-9=&_.%\-]*)?")


class Auth:
    def __init__(self, users: UsersFile | None, sessions: Sessions | None, log: Any) -> None:
        self._users = users
        self._sessions = sessions
        self._log = log
        self._by_client = LoginLimiter()
        self._by_account = LoginLimiter(max_failures=MAX_ACCOUNT_FAILURES)

    def login(self) -> Any:
        """``app.py`` checked the form's CSRF token for a POST."""
        t = TEXTS[g.lang]
        if request.method == "GET" or self._users is None or self._sessions is None:
            return render_template("login.html", error=None)
        name = request.form.get("user", "")[:64]
        account = "account:" + name
        if self._by_client.blocked(g.client) or self._by_account.blocked(account):
            self._log.warning("dashboard.login_blocked", user=name, client=g.client)
            return render_template("login.html", error=t["login_blocked"]), 429
        user = authenticate(self._users.users(), name, request.form.get("password", ""))
        if user is None:
            self._by_client.failed(g.client)
            self._by_account.failed(account)
            self._log.warning("dashboard.login_failed", user=name, client=g.client)
            return render_template("login.html", error=t["login_failed"]), 401
        begun = self._sessions.begin(user)
        session.clear()
        session["sid"] = begun.session_id
        self._log.info("dashboard.login", user=user.name, role=user.role, client=g.client)
        return redirect(_local(request.args.get("next", "/")))

    def logout(self) -> Any:
        if self._sessions is not None and g.session is not None:
            self._sessions.end(g.session)
            self._log.info("dashboard.logout", user=g.session.user.name, client=g.client)
        session.clear()
        return redirect(url_for("login"))

    def logout_everywhere(self) -> Any:
        if self._sessions is not None and g.session is not None:
            ended = self._sessions.end_all(g.session.user.name)
            self._log.info("dashboard.logout", user=g.session.user.name, client=g.client, sessions=ended)
        session.clear()
        return redirect(url_for("login"))


def _local(target: str) -> str:
    """``target`` if it is a path on this site, else ``/``: ``//evil.example`` and ``/\\evil.example``
    are other sites to a browser, and a login must not send anyone there."""
    return target if _LOCAL_PATH.fullmatch(target) else "/"
