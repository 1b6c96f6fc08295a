"""Prometheus metrics on ``--metrics-port``, on a registry of the worker's own.

Imported only when the port is set: prometheus_client costs ~1.5 MB of RSS a worker without metrics
need not carry (the 50 MB target of scenario (e)).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from smsworker.events import WorkerEvents
from smsworker.queue import RedisQueue


class _QueueLengths(Collector):
    """Queue, processing and dead-letter lengths, read from Redis at scrape time."""

    def __init__(self, queue: RedisQueue) -> None:
        self._queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "smsworker_list_length", "Length of smsworker's Redis lists", labels=["list"]
        )
        try:
            stats = self._queue.stats()
        except Exception:  # Redis away: report nothing rather than fail the scrape
            return
        for name, value in (("queue", stats.queue), ("processing", stats.processing), ("dead", stats.dead)):
            family.add_metric([name], value)
        yield family


class PrometheusMetrics(WorkerEvents):
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.tasks = Counter("smsworker_tasks", "Tasks settled, by outcome", ["outcome"], registry=r)
        self.recipients = Counter(
            "smsworker_recipients", "Recipients by outcome", ["outcome", "reason"], registry=r
        )
        self.retries = Counter("smsworker_retries", "Provider requests retried", ["provider"], registry=r)
        self.segments = Counter("smsworker_segments", "SMS segments sent", registry=r)
        self.latency = Histogram(
            "smsworker_provider_request_seconds", "Provider request latency", ["provider"], registry=r
        )
        self.in_flight = Gauge("smsworker_sends_in_flight", "Provider requests in flight", registry=r)
        self._server: Any = None

    def watch(self, queue: RedisQueue, units_in_flight: Callable[[], int]) -> None:
        """Read the list lengths from ``queue`` and ``units_in_flight()`` at every scrape."""
        self.registry.register(_QueueLengths(queue))
        self.in_flight.set_function(units_in_flight)

    def serve(self, port: int, address: str) -> None:
        self._server, _ = start_http_server(port, addr=address, registry=self.registry)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def task_settled(self, *, sent: int, dead_reasons: Sequence[str], segments: int) -> None:
        self.tasks.labels("settled").inc()
        self.recipients.labels("sent", "").inc(sent)
        for reason in dead_reasons:
            self.recipients.labels("dead_lettered", reason).inc()
        self.segments.inc(segments)

    def request_done(self, provider: str, seconds: float) -> None:
        self.latency.labels(provider).observe(seconds)

    def retried(self, provider: str) -> None:
        self.retries.labels(provider).inc()

    def task_rejected(self, reason: str) -> None:
        self.tasks.labels("dead_lettered").inc()
        self.recipients.labels("dead_lettered", reason).inc()
