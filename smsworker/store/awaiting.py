"""Receipts awaiting a delivery report (``Q:awaiting``), as the puller walks them: which are due to
be asked about, each one's record, and moving one on or out. ``settle.lua`` adds them and
``ReceiptStore`` removes the ones a report has answered. Redis errors reach the caller."""

from __future__ import annotations

from typing import Any, cast

from smsworker.store.queue import RedisQueue


class AwaitingReceipts:
    def __init__(self, queue: RedisQueue) -> None:
        self._r: Any = queue.client  # redis-py's reply types are too loose to narrow
        self.keys = queue.keys

    def due(self, before: float, count: int) -> list[str]:
        """Up to ``count`` receipt keys accepted (or last asked about) before ``before``, oldest first."""
        found = self._r.zrangebyscore(self.keys.awaiting, "-inf", before, start=0, num=count)
        return [key.decode() for key in cast(list[bytes], found)]

    def record(self, key: str) -> bytes | None:
        raw: bytes | None = self._r.get(key)
        return raw

    def ask_again(self, key: str, at: float) -> None:
        """Move ``key`` on to ``at``, if it still awaits a report."""
        self._r.zadd(self.keys.awaiting, {key: at}, xx=True)

    def forget(self, key: str) -> None:
        self._r.zrem(self.keys.awaiting, key)
