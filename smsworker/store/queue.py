"""``RedisQueue``: one queue's Redis side, on the keys ``keys.py`` names (its docstring is the layout).

The class is composed of one part per concept, each a module of ``store/``: ``lanes.py`` (the queue
routed into lanes, taken from in the worker's order; scheduled tasks moved in when due),
``claiming.py`` (queue -> processing list, orphans back), ``settling.py`` (outcomes recorded),
``workers.py`` (heartbeats, recovery of a dead worker's list), ``inspection.py`` (stats, per-minute
counts, the head's age) and ``dead_list.py`` (the dead-letter list). Tasks move between lists only
inside one Lua script (``scripts/*.lua`` say why each is shaped as it is) or MULTI/EXEC, so a crash
between two commands never loses or duplicates an element. Redis errors reach the caller: deciding
what an outage means is the caller's (the worker's ``WorkerRedis`` waits them out; a CLI command
reports them).
"""

from __future__ import annotations

import redis

from smsworker.store import scripts
from smsworker.store.base import glob_escape
from smsworker.store.claiming import Claiming
from smsworker.store.dead_list import DeadList
from smsworker.store.inspection import Inspection, Stats
from smsworker.store.settling import SettleOp, Settling
from smsworker.store.workers import new_worker_id

__all__ = ["RedisQueue", "SettleOp", "Stats", "glob_escape", "new_worker_id"]


class RedisQueue(Claiming, Settling, Inspection, DeadList):
    """The queue's Redis side, for one queue name. Thread-safe (redis-py pools connections)."""

    def __init__(
        self, client: redis.Redis, queue: str, dead_letter_key: str, *, use_blmove: bool | None = None
    ) -> None:
        """``use_blmove`` None asks the server (BLMOVE needs Redis 6.2; older gets BRPOPLPUSH)."""
        super().__init__(client, queue, dead_letter_key)
        self._use_blmove = use_blmove

    def take_turn(self, provider: str, interval_ms: float) -> float:
        """One request's turn under ``--rate-limit``: 0 if it may go now, else how many ms to wait."""
        rate_limit = self._script(scripts.RATE_LIMIT)
        return float(rate_limit(keys=[self.keys.ratelimit(provider)], args=[interval_ms]))

    def push(self, *payloads: bytes) -> int:
        return int(self.client.lpush(self.keys.queue, *payloads))
