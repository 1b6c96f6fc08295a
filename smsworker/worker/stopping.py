"""The worker's stop: requested once (a signal, a drain that gave up), with a deadline after it.

Shared by the fetch loop (stop claiming), the senders (a backoff or a rate-limit wait is cut short)
and the Redis guard (what is still worth waiting for once stopping). Nothing here calls anyone.
"""

from __future__ import annotations

import threading
import time

from smsworker.errors import ShutdownRequested


class Stopping:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s  # how long what is in flight may take once a stop is requested
        self._event = threading.Event()
        self._deadline = float("inf")

    def request(self) -> None:
        """Safe to call from a signal handler, and more than once: the first call sets the deadline."""
        if not self._event.is_set():
            self._deadline = time.monotonic() + self.timeout_s
            self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float | None) -> bool:
        """Wait up to ``seconds`` for a stop; whether one was requested."""
        return self._event.wait(seconds)

    def sleep(self, seconds: float) -> None:
        """A backoff or a rate-limit wait: raises ``ShutdownRequested`` if a stop comes first."""
        if self._event.wait(seconds):
            raise ShutdownRequested()

    def left_s(self) -> float:
        """Seconds until the deadline (infinite before a stop is requested)."""
        return max(0.0, self._deadline - time.monotonic())

    def past_deadline(self) -> bool:
        return time.monotonic() >= self._deadline
