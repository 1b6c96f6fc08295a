"""What a running worker reports, through one interface: ``WorkerEvents``.

The systemd notifier, the Prometheus metrics and the ``drain`` progress bar each implement the
events they care about; the worker holds one ``FanOut`` of them and never knows which are there.
Events come from the fetch thread, the send pool and the settle thread: an implementation must be
thread-safe and quick. One that raises is logged and skipped, never allowed to stop the worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class WorkerEvents:
    """Every event, as a no-op: an observer overrides the ones it needs."""

    def started(self, status: str) -> None:
        """Redis answered and the first fetch is about to be armed."""

    def fetch_returned(self) -> None:
        """A fetch came back (with tasks or after an empty wait): the fetch loop is alive."""

    def redis_waiting(self, error: str) -> None:
        """A Redis call failed and will be retried."""

    def request_done(self, provider: str, seconds: float, recipients: int = 1) -> None:
        """One provider request for ``recipients`` numbers finished, however it ended."""

    def retried(self, provider: str) -> None:
        """A provider request is to be retried after a backoff."""

    def task_settled(self, *, sent: int, dead_reasons: Sequence[str], segments: int) -> None:
        """A task's outcome was recorded in Redis."""

    def task_rejected(self, reason: str) -> None:
        """An element that is not a sendable task was dead-lettered whole."""

    def progressed(self, *, tasks: int, sent: int, dead: int) -> None:
        """The worker's running totals, after each settle."""

    def stopping(self) -> None:
        """The worker stopped fetching and is finishing what it holds."""


class FanOut(WorkerEvents):
    """Passes every event to each observer in turn; an observer that raises is logged and skipped."""

    def __init__(self, observers: Sequence[WorkerEvents], log: Any) -> None:
        self._observers = tuple(observers)
        self._log = log

    def _each(self, event: str, *args: Any, **kwargs: Any) -> None:
        for observer in self._observers:
            try:
                getattr(observer, event)(*args, **kwargs)
            except Exception:
                self._log.exception("events.observer_failed", on=event, observer=type(observer).__name__)

    def started(self, status: str) -> None:
        self._each("started", status)

    def fetch_returned(self) -> None:
        self._each("fetch_returned")

    def redis_waiting(self, error: str) -> None:
        self._each("redis_waiting", error)

    def request_done(self, provider: str, seconds: float, recipients: int = 1) -> None:
        self._each("request_done", provider, seconds, recipients)

    def retried(self, provider: str) -> None:
        self._each("retried", provider)

    def task_settled(self, *, sent: int, dead_reasons: Sequence[str], segments: int) -> None:
        self._each("task_settled", sent=sent, dead_reasons=dead_reasons, segments=segments)

    def task_rejected(self, reason: str) -> None:
        self._each("task_rejected", reason)

    def progressed(self, *, tasks: int, sent: int, dead: int) -> None:
        self._each("progressed", tasks=tasks, sent=sent, dead=dead)

    def stopping(self) -> None:
        self._each("stopping")
