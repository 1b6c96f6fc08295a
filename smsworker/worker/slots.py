"""The senders' slots: shared ones, and those a lane keeps for itself (``[lanes.<name>] concurrency``).

A lane's reserved slots are for its units only, so a campaign that keeps every shared sender busy
cannot make a one-time code wait for one; a lane takes its own slots first, then shared ones. The
fetch thread asks how many each lane could start (``free_for``) so a claim takes no more of a lane
than it can start at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """A slot taken: reserved for ``lane``, or shared (None)."""

    lane: str | None = None


SHARED = Slot()


class Slots:
    def __init__(self, shared: int, reserved: Mapping[str, int] | None = None) -> None:
        self._free_shared = shared
        self._free = {lane: n for lane, n in (reserved or {}).items() if n > 0}
        self._cond = threading.Condition()

    def take(
        self, lane: str | None, *, tick_s: float, on_tick: Callable[[], None], stop: Callable[[], bool]
    ) -> Slot | None:
        """A slot for a unit of ``lane`` (its own first); ``on_tick`` every ``tick_s`` while none is
        free; None once ``stop()``."""
        with self._cond:
            while True:
                if stop():
                    return None
                if lane is not None and self._free.get(lane, 0) > 0:
                    self._free[lane] -= 1
                    return Slot(lane)
                if self._free_shared > 0:
                    self._free_shared -= 1
                    return SHARED
                self._wait(tick_s, on_tick)

    def give(self, slot: Slot) -> None:
        with self._cond:
            if slot.lane is None:
                self._free_shared += 1
            else:
                self._free[slot.lane] += 1
            self._cond.notify_all()

    def free(self) -> int:
        """Every free slot, shared and reserved."""
        with self._cond:
            return self._free_shared + sum(self._free.values())

    def reserved_lanes(self) -> set[str]:
        return set(self._free)

    def reserved_free(self) -> dict[str, int]:
        with self._cond:
            return dict(self._free)

    def free_for(self, lane: str) -> int:
        """The slots a unit of ``lane`` could take now."""
        with self._cond:
            return self._free_shared + self._free.get(lane, 0)

    def wait_any(self, *, tick_s: float, on_tick: Callable[[], None], stop: Callable[[], bool]) -> int:
        """Wait until some slot is free; how many are, 0 once ``stop()``."""
        with self._cond:
            while True:
                if stop():
                    return 0
                free = self._free_shared + sum(self._free.values())
                if free:
                    return free
                self._wait(tick_s, on_tick)

    def _wait(self, tick_s: float, on_tick: Callable[[], None]) -> None:
        """Under the lock: wait for a slot given back, or run ``on_tick`` once ``tick_s`` passed
        without one (outside the lock: it may ask Redis, or take a lane's own slots)."""
        if not self._cond.wait(tick_s):
            self._cond.release()
            try:
                on_tick()
            finally:
                self._cond.acquire()
