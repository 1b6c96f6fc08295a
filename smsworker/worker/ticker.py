"""The worker's clock: every quarter of a second, due scheduled tasks go into their lanes and the
pauses are read again.

Its own thread calls Redis directly (``RedisQueue``), like the heartbeat and for the same reason: a
tick that fails is logged and the next one comes a quarter of a second later, instead of waiting in
``RedisGuard``'s backoff. Moving due tasks is one script per thousand (``promote.lua``), atomic, so
any number of workers may tick at once and each task enters its lane exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from smsworker.store.errors import RedisError
from smsworker.store.lanes import PROMOTE_MAX
from smsworker.store.queue import RedisQueue
from smsworker.worker.pauses import PauseView

TICK_S = 0.25


class Ticker:
    def __init__(
        self,
        queue: RedisQueue,
        pauses: PauseView,
        log: Any,
        *,
        now: Callable[[], float] = time.time,
        tick_s: float = TICK_S,
    ) -> None:
        self._queue = queue
        self._pauses = pauses
        self._log = log
        self._now = now
        self._tick_s = tick_s
        self._closed = threading.Event()
        self._failing = False

    def tick(self) -> int:
        """One tick: read the pauses, move what is due; how many tasks were moved."""
        self._pauses.update(self._queue.paused_scopes())
        moved = 0
        while True:
            n = self._queue.promote(self._now())
            moved += n
            if n < PROMOTE_MAX:
                return moved

    def start(self) -> None:
        threading.Thread(target=self._loop, name="smsworker-ticker", daemon=True).start()

    def close(self) -> None:
        self._closed.set()

    def _loop(self) -> None:
        while not self._closed.is_set():
            try:
                moved = self.tick()
                if moved:
                    self._log.info("schedule.due", tasks=moved)
                if self._failing:
                    self._log.info("ticker.recovered")
                self._failing = False
            except RedisError as exc:
                if not self._failing:  # once per outage, not four times a second
                    self._log.warning("ticker.failed", error=str(exc))
                self._failing = True
            except Exception:  # a bug here must not stop the clock for good
                self._log.exception("ticker.crashed")
            self._closed.wait(self._tick_s)
