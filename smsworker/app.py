"""Wiring: from ``Settings`` to the objects that do the work, and the life of a worker process.

The only place that knows them all.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from smsworker.config import Settings
from smsworker.delivery import RetryPolicy
from smsworker.errors import StartupError
from smsworker.events import FanOut, WorkerEvents
from smsworker.logs import make_logger
from smsworker.notify import Notifier
from smsworker.providers.registry import build_providers
from smsworker.queue import RedisQueue
from smsworker.redis_conn import connect, connect_sentinel
from smsworker.task import TaskParser
from smsworker.worker import Totals, Worker, WorkerOptions

if TYPE_CHECKING:
    from smsworker.prometheus import PrometheusMetrics
# How long a fetch blocks on an empty queue: long enough to cost nothing when idle, short enough
# that a stop is noticed within it. The socket timeout is sized from it (see redis_conn.py).
FETCH_BLOCK_S = 1.0


def build_logger(settings: Settings) -> Any:
    return make_logger(fmt=settings.log_format, level=settings.log_level, mask_mobiles=settings.mask_mobiles)


def open_queue(settings: Settings) -> RedisQueue:
    """The queue for a command that uses Redis at once; ``StartupError`` for a cluster node."""
    queue = build_queue(settings)
    refuse_cluster(queue, settings)
    return queue


def refuse_cluster(queue: RedisQueue, settings: Settings) -> None:
    """Stop, in one line, before anything is read or written, when Redis is a cluster node: the keys
    of one queue would cross slots and MOVED replies are not followed (issue 12), so a worker would
    fail on every call and ``drain`` report nothing drained."""
    if queue.is_cluster_node():
        raise StartupError(
            f"Redis at {settings.redacted_redis_url()} is a node of a Redis Cluster (cluster_enabled:1), "
            "which smsworker does not support yet: point --redis-url at a single server, or use "
            "--sentinel. Nothing was read or written."
        )


def build_queue(settings: Settings) -> RedisQueue:
    tls = {
        name: path
        for name, path in (
            ("ssl_ca_certs", settings.redis_tls_ca_file),
            ("ssl_certfile", settings.redis_tls_cert_file),
            ("ssl_keyfile", settings.redis_tls_key_file),
        )
        if path
    }
    if settings.sentinels:
        client = connect_sentinel(
            list(settings.sentinels),
            settings.sentinel_master,
            block_timeout_s=FETCH_BLOCK_S,
            db=settings.redis_db,
            username=settings.redis_username or None,
            password=settings.redis_password,
        )
        return RedisQueue(client, settings.queue, settings.dead_letter_key)
    client = connect(
        settings.redis_url,
        block_timeout_s=FETCH_BLOCK_S,
        username=settings.redis_username or None,
        password=settings.redis_password,
        tls=tls,
    )
    return RedisQueue(client, settings.queue, settings.dead_letter_key)


def build_parser(settings: Settings) -> TaskParser:
    return TaskParser(
        default_region=settings.default_region,
        max_payload_bytes=settings.max_payload_bytes,
        max_recipients=settings.max_recipients,
    )


def build_worker(settings: Settings, log: Any, *, events: WorkerEvents | None = None) -> Worker:
    options = WorkerOptions(
        concurrency=settings.concurrency,
        heartbeat_ttl_s=settings.heartbeat_ttl,
        shutdown_timeout_s=settings.shutdown_timeout,
        retry=RetryPolicy(settings.max_attempts, settings.backoff_base, settings.backoff_max),
        rate_limits=settings.rate_limits,
        fetch_block_s=FETCH_BLOCK_S,
        poison_after=settings.poison_after,
        receipt_ttl_s=settings.receipt_ttl,
        changes_max=settings.receipts_list_max if settings.receipts_list else 0,
        keep_payloads=settings.dead_letter_undelivered,
    )
    queue = build_queue(settings)
    providers = build_providers(settings, log)
    return Worker(queue, providers, build_parser(settings), options, log, events=events)


def run_worker(
    settings: Settings, log: Any, *, drain: bool, observers: Sequence[WorkerEvents] = ()
) -> Totals:
    """Run one worker in this process until it stops: the first SIGTERM or SIGINT stops it cleanly
    (a second exits at once), systemd hears how it goes, and metrics are served if asked for."""
    notifier = Notifier.from_environ(os.environ)
    metrics = build_metrics(settings)
    events = FanOut([notifier, *([metrics] if metrics else []), *observers], log)
    worker = build_worker(settings, log, events=events)
    StopOnSignal(worker.request_stop).install()
    try:
        if metrics is not None:
            metrics.watch(worker.queue, worker.units_in_flight)
            _serve_metrics(metrics, settings)
        return worker.drain() if drain else worker.run()
    finally:
        if metrics is not None:
            metrics.close()
        notifier.close()


def build_metrics(settings: Settings) -> PrometheusMetrics | None:
    if not settings.metrics_port:
        return None
    from smsworker.prometheus import PrometheusMetrics  # only now: it costs RSS (see prometheus.py)

    return PrometheusMetrics()


def _serve_metrics(metrics: PrometheusMetrics, settings: Settings) -> None:
    try:
        metrics.serve(settings.metrics_port, settings.metrics_address)
    except OSError as exc:
        raise StartupError.cannot_listen(
            "serve metrics", settings.metrics_address, settings.metrics_port, exc, "metrics"
        ) from None


class StopOnSignal:
    """SIGTERM/SIGINT: the first stops the worker cleanly; a second exits at once (the processing
    list keeps its tasks safe, and the next worker recovers them)."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._seen = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, _frame: Any) -> None:
        if self._seen:
            os._exit(128 + signum)
        self._seen = True
        self._stop()


def end_process(totals: Totals, code: int) -> NoReturn:
    """Exit with ``code``; at once when provider calls outlived the shutdown timeout (their tasks
    are back on the queue already, and waiting for their threads would wait for the provider)."""
    if totals.abandoned_sends:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
