"""Prometheus metrics on ``--metrics-port``, on a registry of the worker's own.

Imported only when the port is set: prometheus_client costs ~1.5 MB of RSS a worker without metrics
need not carry (the 50 MB target of scenario (e)).

With ``--processes N`` the children keep their metrics in files (prometheus_client's multiprocess
mode: ``PROMETHEUS_MULTIPROC_DIR``, set by the parent before this module is first imported) and the
parent serves them all on the one port (``ChildrenMetrics``), with the list lengths it reads itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from smsworker.store.queue import RedisQueue
from smsworker.worker.events import WorkerEvents


class _QueueLengths(Collector):
    """Queue, processing and dead-letter lengths, read from Redis at scrape time. The queue may be
    opened at the first scrape (the parent of --processes: Redis may not answer yet)."""

    def __init__(self, queue: RedisQueue | Callable[[], RedisQueue]) -> None:
        self._queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "smsworker_list_length", "Length of smsworker's Redis lists", labels=["list"]
        )
        try:
            if not isinstance(self._queue, RedisQueue):
                self._queue = self._queue()
            stats = self._queue.stats()
            oldest = self._queue.oldest_age_s()
            paused = self._queue.paused_scopes()
        except Exception:  # Redis away: report nothing rather than fail the scrape
            return
        for name, value in (("queue", stats.queue), ("processing", stats.processing), ("dead", stats.dead)):
            family.add_metric([name], value)
        yield family
        yield GaugeMetricFamily(
            "smsworker_workers_alive", "Workers whose heartbeat is current", value=stats.workers
        )
        yield GaugeMetricFamily(
            "smsworker_oldest_task_age_seconds",
            "How long the next task to be taken has waited, at least (0 when the queue is empty)",
            value=oldest or 0.0,
        )
        yield paused_family(paused)


def paused_family(scopes: Sequence[str]) -> GaugeMetricFamily:
    """``smsworker_paused``: 1 for each paused lane or provider scope, ``*`` standing for every lane or
    every provider (``all`` is lane="*", provider="*"). A campaign's pause is not in it: campaigns
    come and go by the thousand, a label of theirs would too (``smsworker campaign list`` shows them)."""
    family = GaugeMetricFamily(
        "smsworker_paused",
        "1 for each paused scope (lane or provider; '*' is every one); paused work stays queued",
        labels=["lane", "provider"],
    )
    for scope in scopes:
        kind, _, name = scope.partition(":")
        labels = {"all": ["*", "*"], "lane": [name, "*"], "provider": ["*", name]}.get(kind)
        if labels is not None:
            family.add_metric(labels, 1)
    return family


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class PrometheusMetrics(WorkerEvents):
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # A child of --processes: its values go to files the parent serves; a function-backed gauge
        # cannot, so the in-flight count is sampled at each event instead.
        self._shared = multiprocess_mode()
        self._units_in_flight: Callable[[], int] | None = None
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
        # Requests per recipient is sum(rate(_count)) / sum(rate(_sum)): below 1 when tasks share them.
        self.request_recipients = Histogram(
            "smsworker_request_recipients",
            "Recipients per provider request (cross-task batching and batch providers raise it)",
            ["provider"],
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
            registry=r,
        )
        self.starts = Counter(
            "smsworker_worker_starts", "Worker processes started (restarts show as increases)", registry=r
        )
        self.in_flight = Gauge(
            "smsworker_sends_in_flight",
            "Provider requests in flight",
            registry=r,
            multiprocess_mode="livesum",
        )
        self._server: Any = None

    def watch(self, queue: RedisQueue, units_in_flight: Callable[[], int]) -> None:
        """Read the list lengths from ``queue`` and ``units_in_flight()`` at every scrape (in a child
        of --processes: the parent reads the lengths, and the count is sampled at each event)."""
        if self._shared:
            self._units_in_flight = units_in_flight
            return
        self.registry.register(_QueueLengths(queue))
        self.in_flight.set_function(units_in_flight)

    def _sample(self) -> None:
        if self._units_in_flight is not None:
            self.in_flight.set(self._units_in_flight())

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
        self._sample()

    def started(self, status: str) -> None:
        self.starts.inc()

    def request_done(self, provider: str, seconds: float, recipients: int = 1) -> None:
        self.latency.labels(provider).observe(seconds)
        self.request_recipients.labels(provider).observe(recipients)
        self._sample()

    def retried(self, provider: str) -> None:
        self.retries.labels(provider).inc()

    def task_rejected(self, reason: str) -> None:
        self.tasks.labels("dead_lettered").inc()
        self.recipients.labels("dead_lettered", reason).inc()


class ChildrenMetrics:
    """The parent of --processes: serves what every child wrote to the multiprocess directory, and
    the list lengths, on one port."""

    def __init__(self, open_queue: Callable[[], RedisQueue], directory: str) -> None:
        self.registry = CollectorRegistry()
        self._directory = directory
        multiprocess.MultiProcessCollector(self.registry, path=directory)  # type: ignore[no-untyped-call]
        self.registry.register(_QueueLengths(open_queue))
        self._server: Any = None

    def serve(self, port: int, address: str) -> None:
        self._server, _ = start_http_server(port, addr=address, registry=self.registry)

    def child_exited(self, pid: int) -> None:
        """A live-summed gauge of a dead child must stop counting."""
        multiprocess.mark_process_dead(pid, self._directory)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
