"""How many number searches a viewer makes: a viewer sees numbers masked, and a search by number
(the dead letters' filter, the status lookup) answers whether that number is there. Searches take
whole numbers only, and ``PER_HOUR`` of them: a viewer who knows a number's masked form would need
ten thousand guesses to learn its hidden digits. Counted in Redis, for every dashboard process."""

from __future__ import annotations

from typing import Any

import redis

from smsworker.store.keys import Keys

PER_HOUR = 30


class NumberSearches:
    def __init__(self, client: redis.Redis, keys: Keys, per_hour: int = PER_HOUR) -> None:
        self._r: Any = client
        self._keys = keys
        self.per_hour = per_hour

    def allow(self, user: str) -> bool:
        """Count one search by ``user``; False once this hour's are used up."""
        key = self._keys.searches(user)
        pipe = self._r.pipeline(transaction=True)
        pipe.set(key, 0, ex=3600, nx=True)  # the hour starts with the first search
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count) <= self.per_hour
