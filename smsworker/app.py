"""Wiring: from ``Settings`` to the objects that do the work, and the life of a worker process.

The only place that knows them all.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import redis
from redis.crc import key_slot

from smsworker.config import Settings
from smsworker.delivery import RetryPolicy
from smsworker.errors import StartupError
from smsworker.events import FanOut, WorkerEvents
from smsworker.keys import default_dead_letter_key
from smsworker.logs import make_logger
from smsworker.notify import Notifier
from smsworker.providers.registry import build_providers
from smsworker.queue import RedisQueue
from smsworker.redis_conn import connect, connect_cluster, connect_sentinel, is_cluster_node
from smsworker.supervisor import supervise
from smsworker.task import TaskParser
from smsworker.upgrade import upgrade_layout
from smsworker.worker import Totals, Worker, WorkerOptions

if TYPE_CHECKING:
    from smsworker.prometheus import PrometheusMetrics
T = TypeVar("T")
# How long a fetch blocks on an empty queue: long enough to cost nothing when idle, short enough
# that a stop is noticed within it. The socket timeout is sized from it (see redis_conn.py).
FETCH_BLOCK_S = 1.0


def build_logger(settings: Settings) -> Any:
    return make_logger(fmt=settings.log_format, level=settings.log_level, mask_mobiles=settings.mask_mobiles)


def open_queue(settings: Settings, log: Any | None = None) -> RedisQueue:
    """The queue for a command that uses Redis at once, its keys in this version's layout."""
    queue = build_queue(settings, log)
    upgrade_layout(queue, log or build_logger(settings))
    return queue


def build_queue(settings: Settings, log: Any | None = None) -> RedisQueue:
    """The queue on the Redis the settings name. A server that turns out to be a node of a Redis
    Cluster is used as the cluster it belongs to (said in the log): a redis:// URL that names one
    node is enough. Asks the server at once: a Redis that does not answer raises."""
    tls = _tls(settings)
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
    if settings.redis_cluster:
        return _cluster_queue(settings, list(settings.redis_cluster), tls)
    client = connect(
        settings.redis_url,
        block_timeout_s=FETCH_BLOCK_S,
        username=settings.redis_username or None,
        password=settings.redis_password,
        tls=tls,
    )
    if not is_cluster_node(client):
        return RedisQueue(client, settings.queue, settings.dead_letter_key)
    node = client.connection_pool.connection_kwargs
    client.close()
    if settings.redis_db:
        raise StartupError(
            f"Redis at {settings.redacted_redis_url()} is a node of a Redis Cluster, which has only "
            f"database 0: remove /{settings.redis_db} from --redis-url"
        )
    if log is not None:
        log.info(
            "redis.cluster_detected",
            node=f"{node['host']}:{node['port']}",
            note="the server is a node of a Redis Cluster (cluster_enabled:1): using the cluster",
        )
    return _cluster_queue(settings, [(str(node["host"]), int(node["port"]))], tls)


def redis_mode(settings: Settings, queue: RedisQueue) -> str:
    """How this Redis is used, as ``check`` and ``stats`` say it: cluster, sentinel or single."""
    if queue.in_cluster:
        return "cluster"
    return "sentinel" if settings.sentinels else "single"


def _tls(settings: Settings) -> dict[str, str]:
    return {
        name: path
        for name, path in (
            ("ssl_ca_certs", settings.redis_tls_ca_file),
            ("ssl_certfile", settings.redis_tls_cert_file),
            ("ssl_keyfile", settings.redis_tls_key_file),
        )
        if path
    }


def _cluster_queue(settings: Settings, nodes: list[tuple[str, int]], tls: dict[str, str]) -> RedisQueue:
    dead, queue = settings.dead_letter_key, settings.queue
    if key_slot(dead.encode()) != key_slot(queue.encode()):
        raise StartupError(
            f"invalid dead_letter_queue {dead!r} for a Redis Cluster: it must share the slot of the "
            f"queue {queue!r}; leave it unset, or name it with the queue's hash tag, like "
            f"{default_dead_letter_key(queue)}"
        )
    client = connect_cluster(
        nodes,
        block_timeout_s=FETCH_BLOCK_S,
        username=settings.redis_username or None,
        password=settings.redis_password,
        tls=tls if settings.redis_url.startswith("rediss://") else None,
    )
    return RedisQueue(client, queue, dead)


def build_parser(settings: Settings) -> TaskParser:
    return TaskParser(
        default_region=settings.default_region,
        max_payload_bytes=settings.max_payload_bytes,
        max_recipients=settings.max_recipients,
    )


def worker_options(settings: Settings) -> WorkerOptions:
    return WorkerOptions(
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
        processes=settings.processes,
    )


def run_processes(settings: Settings, log: Any, *, drain: bool) -> tuple[int, Totals]:
    """``--processes N``: N workers under this process (``supervisor.py``); with ``--metrics-port``
    this process serves all of theirs on the one port (prometheus_client's multiprocess mode)."""

    def child() -> Totals:
        return run_worker(settings, log, drain=drain, serve_metrics=False)

    if not settings.metrics_port:
        return supervise(settings.processes, child, log, restart=not drain)
    _check_port_free(settings)  # a busy port is one line now, not a thread failing later
    with tempfile.TemporaryDirectory(prefix="smsworker-metrics-") as directory:
        # Before prometheus_client is first imported, here or in a child: it picks its value store then.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        from smsworker.prometheus import ChildrenMetrics

        served = ChildrenMetrics(lambda: build_queue(settings), directory)

        def serve() -> None:  # after the first fork: no server thread is copied into the children
            served.serve(settings.metrics_port, settings.metrics_address)

        try:
            return supervise(
                settings.processes, child, log, restart=not drain, spawned=serve, exited=served.child_exited
            )
        finally:
            served.close()


def _check_port_free(settings: Settings) -> None:
    try:
        with socket.socket(socket.AF_INET6 if ":" in settings.metrics_address else socket.AF_INET) as probe:
            probe.bind((settings.metrics_address, settings.metrics_port))
    except OSError as exc:
        raise StartupError.cannot_listen(
            "serve metrics", settings.metrics_address, settings.metrics_port, exc, "metrics"
        ) from None


def run_worker(
    settings: Settings,
    log: Any,
    *,
    drain: bool,
    observers: Sequence[WorkerEvents] = (),
    serve_metrics: bool = True,
) -> Totals:
    """Run one worker in this process until it stops: the first SIGTERM or SIGINT stops it cleanly
    (a second exits at once), systemd hears how it goes, and metrics are served if asked for (by
    the parent instead, for a child of --processes: ``serve_metrics`` False)."""
    stop = StopOnSignal()
    stop.install()  # first: a stop while Redis is not answering yet is a clean stop too
    options = worker_options(settings)
    notifier = Notifier.from_environ(os.environ)
    metrics = build_metrics(settings)
    events = FanOut([notifier, *([metrics] if metrics else []), *observers], log)
    try:
        patience_s = options.drain_patience_s if drain else None
        queue = wait_for_redis(
            lambda: open_queue(settings, log), log, stop=stop.requested, patience_s=patience_s, events=events
        )
        if queue is None:
            gave_up = "" if stop.requested.is_set() else f"Redis did not answer for {patience_s:.0f} s"
            return Totals(gave_up=gave_up)
        providers = build_providers(settings, log)
        worker = Worker(queue, providers, build_parser(settings), options, log, events=events)
        stop.then(worker.request_stop)
        if metrics is not None:
            metrics.watch(worker.queue, worker.units_in_flight)
            if serve_metrics:
                _serve_metrics(metrics, settings)
        return worker.drain() if drain else worker.run()
    finally:
        if metrics is not None:
            metrics.close()
        notifier.close()


def wait_for_redis(
    connect: Callable[[], T],
    log: Any,
    *,
    stop: threading.Event,
    patience_s: float | None = None,
    events: WorkerEvents | None = None,
) -> T | None:
    """``connect()`` once Redis answers: a worker started before its Redis (or while a cluster fails
    over) waits, as it would for an outage later. None when stopped meanwhile, or after
    ``patience_s`` (a drain gives up, as it does on an outage). Refused credentials raise at once."""
    delay_s = 0.5
    deadline = None if patience_s is None else time.monotonic() + patience_s
    while not stop.is_set():
        try:
            return connect()
        except redis.AuthenticationError:
            raise
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            log.warning("redis.unavailable", action="connect", error=str(exc), retry_in_s=delay_s)
            if events is not None:
                events.redis_waiting(str(exc))
            stop.wait(delay_s)
            delay_s = min(delay_s * 2, 10.0)
    return None


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

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._stop: Callable[[], None] | None = None

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def then(self, stop: Callable[[], None]) -> None:
        """What a stop does from now on; at once if one was asked for already."""
        self._stop = stop
        if self.requested.is_set():
            stop()

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.requested.is_set():
            os._exit(128 + signum)
        self.requested.set()
        if self._stop is not None:
            self._stop()


def end_process(totals: Totals, code: int) -> NoReturn:
    """Exit with ``code``; at once when provider calls outlived the shutdown timeout (their tasks
    are back on the queue already, and waiting for their threads would wait for the provider)."""
    if totals.abandoned_sends:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
