"""Riding out Redis outages: retry a call with backoff, say so in the log, give up only when told."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import redis

T = TypeVar("T")
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
_OUTAGES = (redis.ConnectionError, redis.TimeoutError)


class RedisGaveUp(Exception):
    """A Redis call was abandoned (the worker is stopping); whatever it was for is recovered later."""


class OutageGuard:
    """Runs Redis calls until they succeed.

    ``give_up(action)`` is asked after each failure; ``wait(seconds)`` paces the retries. A server
    that is down logs ``redis.unavailable``; one that answers with an error (WRONGTYPE, OOM, READONLY
    after a failover) logs ``redis.command_failed``; either way ``redis.reconnected`` follows recovery.
    """

    def __init__(
        self,
        log: Any,
        *,
        give_up: Callable[[str], bool],
        wait: Callable[[float], object],
        on_outage: Callable[[str], None] = lambda error: None,
    ) -> None:
        self._log = log
        self._on_outage = on_outage
        self._give_up = give_up
        self._wait = wait

    def call(self, fn: Callable[[], T], action: str) -> T:
        delay_s = BACKOFF_FIRST_S
        failed = False
        while True:
            try:
                result = fn()
            except redis.RedisError as exc:
                if self._give_up(action):
                    raise RedisGaveUp(action) from exc
                event = "redis.unavailable" if isinstance(exc, _OUTAGES) else "redis.command_failed"
                self._log.warning(event, action=action, error=str(exc), retry_in_s=delay_s)
                self._on_outage(str(exc))
                failed = True
                self._wait(delay_s)
                delay_s = min(delay_s * 2, BACKOFF_MAX_S)
                continue
            if failed:
                self._log.info("redis.reconnected", action=action)
            return result
