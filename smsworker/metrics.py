"""What the worker reports for metrics, and the no-op used when ``--metrics-port`` is 0.

The Prometheus implementation lives in ``prometheus.py`` and is loaded only when metrics are served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Metrics(Protocol):
    def serve(self, port: int, address: str) -> None: ...

    def close(self) -> None: ...

    def request(self, provider: str, seconds: float) -> None: ...

    def retry(self, provider: str) -> None: ...

    def track_in_flight(self, count: Callable[[], int]) -> None: ...

    def task_settled(self, *, sent: int, dead_reasons: list[str], segments: int) -> None: ...

    def task_invalid(self, reason: str) -> None: ...


class NoMetrics:
    """Metrics off: every report is dropped."""

    def serve(self, port: int, address: str) -> None:
        return None

    def close(self) -> None:
        return None

    def request(self, provider: str, seconds: float) -> None:
        return None

    def retry(self, provider: str) -> None:
        return None

    def track_in_flight(self, count: Callable[[], int]) -> None:
        return None

    def task_settled(self, *, sent: int, dead_reasons: list[str], segments: int) -> None:
        return None

    def task_invalid(self, reason: str) -> None:
        return None
