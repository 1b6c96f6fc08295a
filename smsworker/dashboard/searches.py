"""How many number searches a viewer makes: a viewer sees numbers masked, and a search by number
(the dead letters' filter, the status lookup) answers whether that number is there. Searches take
whole numbers only, and ``PER_HOUR`` of them: a viewer who knows a number's masked form would need
ten thousand guesses to learn its hidden digits. Counted in Redis, for every dashboard process."""

from __future__ import annotations

from smsworker.store.dashboard import SearchCounts

PER_HOUR = 30


class NumberSearches:
    def __init__(self, counts: SearchCounts, per_hour: int = PER_HOUR) -> None:
        self._counts = counts
        self.per_hour = per_hour

    def allow(self, user: str) -> bool:
        """Count one search by ``user``; False once this hour's are used up."""
        return self._counts.count_one(user) <= self.per_hour
