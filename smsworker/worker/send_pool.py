"""The sending threads, and the slots that keep the worker from claiming more than it can start.

One slot per thread. The fetch loop takes a slot before each claim and one per unit it starts;
a unit gives its slot back when it ends. So the worker never holds a task it cannot start, and one
task with 10,000 recipients is spread over every thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from smsworker.worker.stopping import Stopping


class SendPool:
    def __init__(self, concurrency: int, stopping: Stopping, log: Any) -> None:
        self._slots = threading.Semaphore(concurrency)
        self._stopping = stopping
        self._log = log
        self._units = 0
        self._cond = threading.Condition()
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="smsworker-send")

    def acquire(self, *, tick_s: float, on_tick: Callable[[], None]) -> bool:
        """Take a slot, running ``on_tick`` every ``tick_s`` while none is free; False once stopping."""
        while not self._slots.acquire(timeout=tick_s):
            if self._stopping.requested:
                return False
            on_tick()
        if self._stopping.requested:
            self._slots.release()
            return False
        return True

    def take_free(self) -> int:
        """Take every slot that is free now, without waiting; how many."""
        taken = 0
        while self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def release(self, count: int = 1) -> None:
        for _ in range(count):
            self._slots.release()

    def submit(self, unit: Callable[[], None]) -> None:
        """Run ``unit`` on a sending thread, in the slot the caller took; it gives the slot back."""
        with self._cond:
            self._units += 1
        self._executor.submit(self._run, unit)

    def _run(self, unit: Callable[[], None]) -> None:
        try:
            unit()
        except Exception:  # units contain their own failures: this is a bug, and must not leak a slot
            self._log.exception("worker.send_failed")
        finally:
            with self._cond:
                self._units -= 1
                self._cond.notify_all()
            self._slots.release()

    def units_in_flight(self) -> int:
        with self._cond:
            return self._units

    def wait_idle(self, timeout_s: float | None) -> bool:
        """Wait until no unit is running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._units == 0, timeout=timeout_s)

    def shutdown(self, *, wait: bool) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)
