"""Dashboard logins kept in Redis, so that each can be ended: by logging out, by the user being
removed or demoted or given a new password, by sitting idle, or by age, whatever its cookie says.

The cookie (Flask's, signed) carries only a session id. The record under it (``Q:session:<id>``)
holds the user, a keyed digest of the user's line in the users file when the session began
(``UsersFile.digest``: Django's "session auth hash"), when it began and its CSRF token. Every
request looks the record up and checks the digest against the file as it is now, so a change to
the user there ends every session of theirs at once, on every dashboard process and across
restarts. The record expires after the idle timeout, renewed by each request a person makes (the
overview's own refreshes do not count); a session also ends 12 hours after it began.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smsworker.dashboard.users import User, UsersFile, line_digest
from smsworker.store.dashboard import SessionRecords

MAX_AGE_S = 12 * 3600


@dataclass(frozen=True)
class Session:
    session_id: str
    user: User
    csrf: str


class Sessions:
    def __init__(
        self,
        records: SessionRecords,
        users: UsersFile,
        *,
        key: bytes,
        idle_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._records = records
        self._users = users
        self._key = key  # the digests' key: the dashboard's secret
        self._idle_s = max(1, int(idle_s))
        self._clock = clock

    def begin(self, user: User) -> Session:
        """A new session for ``user``, just authenticated."""
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32))
        record = {
            "user": user.name,
            "digest": self._users.digest(user.name, self._key),
            "began": self._clock(),
            "csrf": session.csrf,
        }
        self._records.begin(
            session.session_id, user.name, json.dumps(record), idle_s=self._idle_s, max_age_s=MAX_AGE_S
        )
        return session

    def find(self, session_id: object, *, renew: bool = True) -> Session | None:
        """The session ``session_id`` names, if it is still good; ``renew``: a person's request,
        which starts its idle time again."""
        if not isinstance(session_id, str) or not session_id:
            return None
        record = _record(self._records.get(session_id))
        if record is None:
            return None
        name, began = str(record.get("user")), record.get("began")
        entry = self._users.users().get(name)
        if (
            entry is None  # the user is gone
            or not hmac.compare_digest(line_digest(self._key, name, *entry), str(record.get("digest")))
            or not isinstance(began, (int, float))
            or self._clock() - began >= MAX_AGE_S
        ):
            self._records.drop(session_id)  # the user changed or left, or the session is too old: it ends
            return None
        if renew:
            self._records.renew(session_id, self._idle_s)
        return Session(session_id, User(name, entry[0]), str(record.get("csrf", "")))

    def end(self, session: Session) -> None:
        self._records.end(session.session_id, session.user.name)

    def end_all(self, name: str) -> int:
        """End every session of user ``name``; how many there were."""
        return self._records.end_all(name)


def _record(raw: bytes | None) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
