"""The life of a worker process: ``run_worker`` (signals, systemd, metrics, the worker itself),
``run_processes`` (``--processes N`` under one parent, their metrics on one port) and the hard exit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from smsworker.app import (
    build_lanes,
    build_parser,
    build_queue,
    open_queue,
    wait_for_redis,
    worker_options,
)
from smsworker.config.settings import Settings
from smsworker.daemon.supervisor import supervise
from smsworker.daemon.systemd import Notifier
from smsworker.errors import StartupError
from smsworker.providers.registry import build_providers
from smsworker.worker.events import FanOut, WorkerEvents
from smsworker.worker.loop import Worker
from smsworker.worker.tally import Totals

if TYPE_CHECKING:
    from smsworker.daemon.metrics import PrometheusMetrics

GIL_SWITCH_INTERVAL_S = 0.02


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
        from smsworker.daemon.metrics import ChildrenMetrics

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
        raise _cannot_serve_metrics(settings, exc) from None


def _cannot_serve_metrics(settings: Settings, exc: OSError) -> StartupError:
    return StartupError.cannot_listen(
        "serve metrics", settings.metrics_address, settings.metrics_port, exc, "metrics"
    )


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
        with _rare_gil_switches():
            patience_s = options.drain_patience_s if drain else None
            queue = wait_for_redis(
                lambda: open_queue(settings, log),
                log,
                stop=stop.requested,
                patience_s=patience_s,
                events=events,
            )
            if queue is None:
                gave_up = "" if stop.requested.is_set() else f"Redis did not answer for {patience_s:.0f} s"
                return Totals(gave_up=gave_up)
            providers = build_providers(settings, log)
            options = dataclasses.replace(options, lanes=build_lanes(settings, log))
            worker = Worker(queue, providers, build_parser(settings), options, log, events=events)
            stop.then(worker.request_stop)
            if metrics is not None:
                metrics.watch(worker.queue, worker.units_in_flight)
                if serve_metrics:
                    _serve_metrics(metrics, settings)
            with _frozen_heap():
                return worker.drain() if drain else worker.run()
    finally:
        if metrics is not None:
            metrics.close()
        notifier.close()


@contextlib.contextmanager
def _rare_gil_switches() -> Iterator[None]:
    """The sending threads wait on sockets most of the time and give the GIL up there by themselves.
    At the default 5 ms, a thread that wants the GIL also forces a switch every 5 ms, and with tens of
    threads runnable at once those forced switches cost CPU on every send, more the more threads
    (bench (b): about a tenth of a send's CPU at 256 in flight). 20 ms keeps them rare."""
    switch_interval_s = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(switch_interval_s)


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Everything made so far (modules, the worker and its parts) lives as long as the process: out of
    the collector's sight, a full collection no longer walks it, which paused a worker ~20 ms now and
    then (the max of bench (c)'s idle latency: 18-28 ms before, 3-4 ms after)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()  # for a caller that goes on (tests run workers in their own process)


def build_metrics(settings: Settings) -> PrometheusMetrics | None:
    if not settings.metrics_port:
        return None
    from smsworker.daemon.metrics import PrometheusMetrics  # only now: it costs RSS (see prometheus.py)

    return PrometheusMetrics()


def _serve_metrics(metrics: PrometheusMetrics, settings: Settings) -> None:
    try:
        metrics.serve(settings.metrics_port, settings.metrics_address)
    except OSError as exc:
        raise _cannot_serve_metrics(settings, exc) from None


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
