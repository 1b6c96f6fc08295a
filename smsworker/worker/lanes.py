"""The lanes as one worker serves them: what each is, and in what order a claim takes from them.

A lane is a named share of the work with its own order (``[lanes.<name>]`` in the settings). The
order is strict priority (the lanes as declared, ``default`` last) with a floor: a lane with work
whose share of what this worker took lately is under its ``min_share`` is served first, so a flood
of codes cannot starve notices for ever, and a campaign still cannot delay codes by more than its
floor. ``LanePlanner`` is pure: it is told what was taken and how long each lane was, and answers
with the order of the next claim.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from smsworker.providers.base import Provider
from smsworker.store.lanes import DEFAULT_LANE

# How many of the last elements taken the shares are measured over.
WINDOW = 200


@dataclass(frozen=True)
class Lane:
    """One lane, as the worker serves it."""

    name: str
    min_share: int = 10  # percent of what is taken while the lane has work
    concurrency: int = 0  # senders only this lane may use
    rate_limit: float | None = None  # requests per second, on top of the provider's
    providers: Sequence[Provider] = ()  # its failover chain; () = the worker's
    # The instant a recipient's quiet hours end, or None when it may be sent to now.
    quiet_until: Callable[[str, float], float | None] | None = None
    templates: tuple[str, ...] = field(default=())


DEFAULT = Lane(DEFAULT_LANE)


def with_default(lanes: Sequence[Lane]) -> tuple[Lane, ...]:
    """``lanes`` with ``default`` last when they do not name it: what no lane takes goes there."""
    if lanes and all(lane.name != DEFAULT_LANE for lane in lanes):
        return (*lanes, DEFAULT)
    return tuple(lanes)


class LanePlanner:
    """The order of the next claim. Fed by the fetch thread only, so it needs no lock."""

    def __init__(self, lanes: Sequence[Lane]) -> None:
        self.lanes = list(lanes) or [DEFAULT]
        self._recent: deque[str] = deque(maxlen=WINDOW)
        self._lengths: dict[str, int] = {}

    def plan(self, total: int) -> list[tuple[str, int]]:
        """(lane, most to take) in the order to serve: starved lanes first, most starved first, each
        for at most its floor's share of the claim (at least one), so it catches up without taking
        the claim whole; then every lane by priority, for all of it."""
        deficits = self._deficits()
        starved = sorted(deficits, key=lambda name: deficits[name], reverse=True)
        floors = {ln.name: ln.min_share for ln in self.lanes}
        out = [(name, max(1, total * floors[name] // 100)) for name in starved]
        return out + [(ln.name, total) for ln in self.lanes]

    def _deficits(self) -> dict[str, float]:
        """Lanes with work waiting whose share of what was taken lately is under their floor, by
        how far under."""
        taken, total = Counter(self._recent), len(self._recent)
        if not total:
            return {}
        found = {}
        for lane in self.lanes:
            # A share is measurable once there were as many takes as one floor's worth needs:
            # before that, priority alone decides (the first code is not held behind a campaign).
            if not lane.min_share or total * lane.min_share < 100:
                continue
            short = lane.min_share / 100 - taken[lane.name] / total
            if self._lengths.get(lane.name, 0) > 0 and short > 0:
                found[lane.name] = short
        return found

    def record(self, taken: Sequence[str], lengths: Mapping[str, int]) -> None:
        """What the last claim took (the lane of each element) and each lane's length after it."""
        self._recent.extend(taken)
        self._lengths = dict(lengths)
