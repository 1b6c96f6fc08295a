"""The sending threads, and the slots that keep the worker from claiming more than it can start.

One slot per thread (``slots.py``: shared ones, and those a lane keeps for itself). The fetch loop
waits for a free slot before each claim and takes one per unit it starts; a unit gives its slot
back when it ends. So the worker never holds a task it cannot start, and one task with 10,000
recipients is spread over every thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

from smsworker.worker.slots import SHARED, Slot, Slots
from smsworker.worker.stopping import Stopping


class SendPool:
    """The threads are made as units need them, up to ``concurrency``, and kept. Not a
    ``ThreadPoolExecutor``: its ``Future`` per unit (a lock and a condition each) is a cost per send
    that nothing here reads, and units never wait in a queue (each has a slot, so a thread)."""

    def __init__(
        self, concurrency: int, stopping: Stopping, log: Any, *, reserved: Mapping[str, int] | None = None
    ) -> None:
        """``concurrency`` threads in all; ``reserved``: of them, how many each lane keeps for itself."""
        kept = sum((reserved or {}).values())
        self._concurrency = concurrency
        self._slots = Slots(concurrency - kept, reserved)
        self._stopping = stopping
        self._log = log
        self._units = 0
        self._idle_waiters = 0  # wait_idle callers: only they need a notify when a unit ends
        self._cond = threading.Condition()
        self._work: queue.SimpleQueue[tuple[Callable[[], None], Slot] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def acquire(self, *, tick_s: float, on_tick: Callable[[], None], lane: str | None = None) -> Slot | None:
        """Take a slot for a unit of ``lane`` (its reserved ones first), running ``on_tick`` every
        ``tick_s`` while none is free; None once stopping."""
        return self._slots.take(lane, tick_s=tick_s, on_tick=on_tick, stop=lambda: self._stopping.requested)

    def wait_free(self, *, tick_s: float, on_tick: Callable[[], None]) -> int:
        """Wait until a slot is free, running ``on_tick`` every ``tick_s`` meanwhile; how many are
        free, 0 once stopping. It holds none of them: each unit started takes its own (``acquire``)."""
        return self._slots.wait_any(tick_s=tick_s, on_tick=on_tick, stop=lambda: self._stopping.requested)

    def reserved_lanes(self) -> set[str]:
        """The lanes that keep senders of their own."""
        return self._slots.reserved_lanes()

    def reserved_free(self) -> dict[str, int]:
        """Each such lane's own senders free now."""
        return self._slots.reserved_free()

    def free_for(self, lane: str) -> int:
        """How many units of ``lane`` could start now."""
        return self._slots.free_for(lane)

    def submit(self, unit: Callable[[], None], slot: Slot = SHARED) -> None:
        """Run ``unit`` on a sending thread, in the ``slot`` the caller took; it gives the slot back."""
        with self._cond:
            self._units += 1
            spawn = len(self._threads) < min(self._units, self._concurrency)
            if spawn:
                thread = threading.Thread(
                    target=self._serve, name=f"smsworker-send_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
        if spawn:
            thread.start()
        self._work.put((unit, slot))

    def _serve(self) -> None:
        while (work := self._work.get()) is not None:
            self._run(*work)

    def _run(self, unit: Callable[[], None], slot: Slot) -> None:
        try:
            unit()
        except Exception:  # units contain their own failures: this is a bug, and must not leak a slot
            self._log.exception("worker.send_failed")
        finally:
            with self._cond:
                self._units -= 1
                if self._idle_waiters:
                    self._cond.notify_all()
            self._slots.give(slot)

    def units_in_flight(self) -> int:
        with self._cond:
            return self._units

    def wait_idle(self, timeout_s: float | None) -> bool:
        """Wait until no unit is running; False on timeout."""
        with self._cond:
            self._idle_waiters += 1
            try:
                return self._cond.wait_for(lambda: self._units == 0, timeout=timeout_s)
            finally:
                self._idle_waiters -= 1

    def shutdown(self, *, wait: bool) -> None:
        """End the threads once their units are done; a unit not started yet is dropped (its task
        is unsettled, and put back). With ``wait``, until they have ended."""
        while True:
            try:
                dropped = self._work.get_nowait()
            except queue.Empty:
                break
            if dropped is not None:
                with self._cond:
                    self._units -= 1
                self._slots.give(dropped[1])
        with self._cond:
            threads = list(self._threads)
        for _ in threads:
            self._work.put(None)
        if wait:
            for thread in threads:
                thread.join()
