"""``--rate-limit``: requests per second per provider, shared by every worker on the same Redis."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import redis

from smsworker import lua
from smsworker.errors import ConfigError

# Far above any vendor's limit; keeps the emission interval a number Lua can compare.
MAX_RATE_PER_S = 1_000_000


def parse_rate_limits(specs: tuple[str, ...]) -> dict[str, float]:
    """``("aliyun=500/s", "20/s")`` -> {"aliyun": 500.0, "*": 20.0}; "*" applies to every provider."""
    limits: dict[str, float] = {}
    for spec in specs:
        name, _, rate = spec.rpartition("=")
        number = rate.strip().removesuffix("/s")
        try:
            per_s = float(number)
        except ValueError:
            raise ConfigError(f"invalid rate_limit {spec!r}: write it as 500/s or aliyun=500/s") from None
        if not 0 < per_s <= MAX_RATE_PER_S:  # also refuses nan and inf
            raise ConfigError(
                f"invalid rate_limit {spec!r}: must be greater than 0 and at most {MAX_RATE_PER_S:,}/s"
            )
        limits[name.strip() or "*"] = per_s
    return limits


class RateLimiter:
    def __init__(self, client: redis.Redis, queue: str, limits: Mapping[str, float], log: Any) -> None:
        self._script = client.register_script(lua.RATE_LIMIT)
        self._queue = queue
        self._limits = dict(limits)
        self._log = log

    def key(self, provider: str) -> str:
        return f"{self._queue}:ratelimit:{provider}"

    def wait_turn(self, provider: str, sleep: Callable[[float], None]) -> None:
        """Block until ``provider`` may take one more request. ``sleep`` may raise to stop waiting."""
        per_s = self._limits.get(provider, self._limits.get("*"))
        if per_s is None:
            return
        interval_ms = 1000.0 / per_s
        while True:
            try:
                wait_ms = float(self._script(keys=[self.key(provider)], args=[interval_ms]))
            except redis.RedisError as exc:
                # Redis away: sending anyway risks the vendor's throttling (transient, retried);
                # waiting would stop every send for the length of the outage.
                self._log.warning("ratelimit.unavailable", provider=provider, error=str(exc))
                return
            if wait_ms <= 0:
                return
            sleep(wait_ms / 1000)
