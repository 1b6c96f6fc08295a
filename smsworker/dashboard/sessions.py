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

import redis

from smsworker.dashboard.users import User, UsersFile, line_digest
from smsworker.store.keys import Keys

MAX_AGE_S = 12 * 3600


@dataclass(frozen=True)
class Session:
    session_id: str
    user: User
    csrf: str


class Sessions:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        users: UsersFile,
        *,
        key: bytes,
        idle_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._r: Any = client  # redis-py's reply types are too loose to narrow
        self._keys = keys
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
        pipe = self._r.pipeline(transaction=True)
        pipe.set(self._keys.session(session.session_id), json.dumps(record), ex=self._idle_s)
        pipe.sadd(self._keys.sessions(user.name), session.session_id)
        pipe.expire(self._keys.sessions(user.name), MAX_AGE_S)
        pipe.execute()
        return session

    def find(self, session_id: object, *, renew: bool = True) -> Session | None:
        """The session ``session_id`` names, if it is still good; ``renew``: a person's request,
        which starts its idle time again."""
        if not isinstance(session_id, str) or not session_id:
            return None
        key = self._keys.session(session_id)
        record = _record(self._r.get(key))
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
            self._r.delete(key)  # the user changed or left, or the session is too old: it ends
            return None
        if renew:
            self._r.expire(key, self._idle_s)
        return Session(session_id, User(name, entry[0]), str(record.get("csrf", "")))

    def end(self, session: Session) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.delete(self._keys.session(session.session_id))
        pipe.srem(self._keys.sessions(session.user.name), session.session_id)
        pipe.execute()

    def end_all(self, name: str) -> int:
        """End every session of user ``name``; how many there were."""
        ids = [i.decode() for i in self._r.smembers(self._keys.sessions(name))]
        pipe = self._r.pipeline(transaction=True)
        for session_id in ids:
            pipe.delete(self._keys.session(session_id))
        pipe.delete(self._keys.sessions(name))
        ended = pipe.execute()
        return sum(int(n) for n in ended[:-1])


def _record(raw: bytes | None) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
