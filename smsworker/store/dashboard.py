"""What the dashboard keeps in Redis: login sessions, number-search counts, and selections waiting
for their confirmation. The dashboard decides what they mean (``dashboard/sessions.py``,
``searches.py``, ``actions.py``); these only read and write them. Redis errors reach the caller: the
dashboard answers 503 while Redis is away."""

from __future__ import annotations

from typing import Any

from smsworker.store.queue import RedisQueue


class SessionRecords:
    """``Q:session:<id>`` (the record, with the idle TTL) and ``Q:sessions:<user>`` (a user's ids)."""

    def __init__(self, queue: RedisQueue) -> None:
        self._r: Any = queue.client  # redis-py's reply types are too loose to narrow
        self._keys = queue.keys

    def begin(self, session_id: str, user: str, record: str, *, idle_s: int, max_age_s: int) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.set(self._keys.session(session_id), record, ex=idle_s)
        pipe.sadd(self._keys.sessions(user), session_id)
        pipe.expire(self._keys.sessions(user), max_age_s)
        pipe.execute()

    def get(self, session_id: str) -> bytes | None:
        record: bytes | None = self._r.get(self._keys.session(session_id))
        return record

    def drop(self, session_id: str) -> None:
        """The record only (the user's set of ids forgets it when it expires)."""
        self._r.delete(self._keys.session(session_id))

    def renew(self, session_id: str, idle_s: int) -> None:
        self._r.expire(self._keys.session(session_id), idle_s)

    def end(self, session_id: str, user: str) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.delete(self._keys.session(session_id))
        pipe.srem(self._keys.sessions(user), session_id)
        pipe.execute()

    def end_all(self, user: str) -> int:
        """End every session of ``user``; how many there were."""
        ids = [i.decode() for i in self._r.smembers(self._keys.sessions(user))]
        pipe = self._r.pipeline(transaction=True)
        for session_id in ids:
            pipe.delete(self._keys.session(session_id))
        pipe.delete(self._keys.sessions(user))
        ended = pipe.execute()
        return sum(int(n) for n in ended[:-1])


class SearchCounts:
    """``Q:searches:<user>``: a user's number searches this hour, counted for every dashboard process."""

    def __init__(self, queue: RedisQueue) -> None:
        self._r: Any = queue.client
        self._keys = queue.keys

    def count_one(self, user: str) -> int:
        """Count one search by ``user``; how many this hour, this one included."""
        key = self._keys.searches(user)
        pipe = self._r.pipeline(transaction=True)
        pipe.set(key, 0, ex=3600, nx=True)  # the hour starts with the first search
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count)


class Selections:
    """``Q:selection:<id>``: what an operator asked to replay or purge, until confirmed or expired."""

    def __init__(self, queue: RedisQueue) -> None:
        self._r: Any = queue.client
        self._keys = queue.keys

    def keep(self, selection_id: str, asked: str, ttl_s: int) -> None:
        self._r.set(self._keys.selection(selection_id), asked, ex=ttl_s)

    def get(self, selection_id: str) -> bytes | None:
        asked: bytes | None = self._r.get(self._keys.selection(selection_id))
        return asked

    def drop(self, selection_id: str) -> None:
        self._r.delete(self._keys.selection(selection_id))
