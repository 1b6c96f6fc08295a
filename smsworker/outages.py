"""Riding out Redis outages: retry a call with backoff, say so in the log, give up only when told."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis

T = TypeVar("T")
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
_OUTAGES = (redis.ConnectionError, redis.TimeoutError)
# Answers no amount of waiting changes: a key of the wrong type, a missing ACL permission, a
# cluster node that does not hold the key. (READONLY, OOM and LOADING do pass.) Searched, not
# matched at the start: a pipeline wraps them ("Command # 1 (SADD ...) of pipeline caused error: ...").
_PERMANENT = re.compile(r"\b(WRONGTYPE|NOPERM|MOVED|ASK|CROSSSLOT|NOAUTH|WRONGPASS)\b|\bERR unknown command")


def is_permanent(exc: redis.RedisError) -> bool:
    return isinstance(exc, redis.ResponseError) and _PERMANENT.search(str(exc)) is not None


class RedisGaveUp(Exception):
    """A Redis call was abandoned (the worker is stopping); whatever it was for is recovered later."""


class OutageGuard:
    """Runs Redis calls until they succeed.

    ``give_up(action, failing_for_s, permanent)`` is asked after each failure (``permanent``: see
    ``is_permanent``); ``wait(seconds)`` paces the retries. A server that is down logs
    ``redis.unavailable``; one that answers with an error (WRONGTYPE, OOM, READONLY after a
    failover) logs ``redis.command_failed``; either way ``redis.reconnected`` follows recovery.

    ``recoveries`` counts calls that failed and then went through. A failed call may have been
    executed by Redis with only its reply lost, so whoever owns state in Redis compares it with
    what it holds after the count moves (the worker's reconciliation); ``last_error`` says what
    the latest failure was, for a message when giving up.
    """

    def __init__(
        self,
        log: Any,
        *,
        give_up: Callable[[str, float, bool], bool],
        wait: Callable[[float], object],
        on_outage: Callable[[str], None] = lambda error: None,
    ) -> None:
        self._log = log
        self._on_outage = on_outage
        self._give_up = give_up
        self._wait = wait
        self.recoveries = 0
        self.last_error = ""

    def call(self, fn: Callable[[], T], action: str) -> T:
        delay_s = BACKOFF_FIRST_S
        failed_since: float | None = None
        while True:
            try:
                result = fn()
            except redis.RedisError as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                failed_since = time.monotonic() if failed_since is None else failed_since
                if self._give_up(action, time.monotonic() - failed_since, is_permanent(exc)):
                    raise RedisGaveUp(action) from exc
                event = "redis.unavailable" if isinstance(exc, _OUTAGES) else "redis.command_failed"
                self._log.warning(event, action=action, error=str(exc), retry_in_s=delay_s)
                self._on_outage(str(exc))
                self._wait(delay_s)
                delay_s = min(delay_s * 2, BACKOFF_MAX_S)
                continue
            if failed_since is not None:
                self.recoveries += 1
                self._log.info("redis.reconnected", action=action)
            return result
