"""``--rate-limit``: requests per second per provider, shared by every worker on the same Redis."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import redis

from smsworker.store.queue import RedisQueue


class RateLimiter:
    def __init__(self, queue: RedisQueue, limits: Mapping[str, float], log: Any) -> None:
        self._queue = queue
        self._limits = dict(limits)  # requests per second by provider, "*" for every provider
        self._log = log

    def wait_turn(self, provider: str, sleep: Callable[[float], None], *, strict: bool = False) -> None:
        """Block until ``provider`` may take one more request. ``sleep`` may raise to stop waiting.
        ``strict``: with Redis away, raise its error instead of letting the request go."""
        per_s = self._limits.get(provider, self._limits.get("*"))
        if per_s is None:
            return
        interval_ms = 1000.0 / per_s
        while True:
            try:
                wait_ms = self._queue.take_turn(provider, interval_ms)
            except redis.RedisError as exc:
                if strict:
                    raise
                # Redis away: sending anyway risks the vendor's throttling (transient, retried);
                # waiting would stop every send for the length of the outage.
                self._log.warning("ratelimit.unavailable", provider=provider, error=str(exc))
                return
            if wait_ms <= 0:
                return
            sleep(wait_ms / 1000)
