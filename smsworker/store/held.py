"""The Redis side of held delivery reports (``Q:held``, ``Q:held:since``, ``Q:held:due``,
``Q:held:lock``): what ``receiver/held.py`` reads and forgets. ``ReceiptStore`` holds them
(``hold.lua``); ``settle.lua`` queues them as due. Redis errors reach the caller."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from smsworker.store import scripts
from smsworker.store.queue import RedisQueue


class HeldStore:
    def __init__(self, queue: RedisQueue) -> None:
        self._r: Any = queue.client  # redis-py's reply types are too loose to narrow
        self.keys = queue.keys
        self._lock = scripts.register(queue.client, scripts.LOCK)
        self._forget = scripts.register(queue.client, scripts.FORGET_HELD)

    def lock(self, owner: str, ttl_s: int) -> bool:
        """Take (or keep) the lock that lets one receiver at a time apply held reports."""
        return bool(self._lock(keys=[self.keys.held_lock], args=[owner, ttl_s]))

    def due(self, count: int) -> list[str]:
        """Receipt keys whose record the settle wrote while reports for them were held."""
        return [
            entry.decode() for entry in cast(list[bytes], self._r.lrange(self.keys.held_due, 0, count - 1))
        ]

    def expired(self, cutoff: float, count: int) -> list[str]:
        """Receipt keys whose first report came before ``cutoff`` (unix s)."""
        found = self._r.zrangebyscore(self.keys.held_since, "-inf", cutoff, start=0, num=count)
        return [entry.decode() for entry in cast(list[bytes], found)]

    def reports(self, entry: str) -> tuple[str, bytes | None]:
        """The receipt key the reports for ``entry`` are held under (itself, or the one it points
        to: another reading of the number), and those reports."""
        raw: bytes | None = self._r.hget(self.keys.held, entry)
        if raw is not None and raw.startswith(b"="):
            key = raw[1:].decode("utf-8", "replace")
            return key, self._r.hget(self.keys.held, key)
        return entry, raw

    def forget(self, due_entry: str, key: str, lines: bytes, others: Sequence[str]) -> None:
        """Forget the reports applied (``forget_held.lua``): ``lines`` under ``key`` if unchanged,
        the ``others`` readings' pointers to it, and ``due_entry`` ('' for none)."""
        keys = [self.keys.held, self.keys.held_since, self.keys.held_due]
        self._forget(keys=keys, args=[due_entry, key, lines, *others])

    def drop_index(self, key: str) -> None:
        """Remove ``key`` from the index of held reports (an entry with no reports behind it)."""
        self._r.zrem(self.keys.held_since, key)
