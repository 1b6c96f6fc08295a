"""The commands that run the worker: ``run``, ``drain`` and ``check``."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import redis

from smsworker.app import build_logger, build_queue, build_worker
from smsworker.cli.options import common_options, friendly_errors, settings_from, worker_options
from smsworker.config import Settings
from smsworker.notify import Notifier
from smsworker.providers.registry import build_providers
from smsworker.supervisor import supervise
from smsworker.worker import Totals


def _install_stop_handlers(stop: Callable[[], None]) -> None:
    def handler(signum: int, _frame: Any) -> None:
        if getattr(handler, "seen", False):
            os._exit(128 + signum)  # second signal: now. The processing list keeps the task safe.
        handler.seen = True  # type: ignore[attr-defined]
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _exit_after(totals_abandoned: bool, code: int = 0) -> None:
    if totals_abandoned:
        # Provider calls outlived --shutdown-timeout; their tasks are back on the queue already.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _work(
    settings: Settings, log: Any, *, drain: bool, on_settled: Callable[[], None] | None = None
) -> Totals:
    worker = build_worker(settings, log, on_settled=on_settled, notifier=Notifier.from_environ(os.environ))
    _install_stop_handlers(worker.request_stop)
    if settings.metrics_port:
        try:
            worker.metrics.serve(settings.metrics_port, settings.metrics_address)
        except OSError as exc:
            raise click.ClickException(
                f"cannot serve metrics on {settings.metrics_address}:{settings.metrics_port}: "
                f"{exc.strerror or exc}. Choose another --metrics-port or --metrics-address."
            ) from None
    try:
        return worker.drain() if drain else worker.run()
    finally:
        worker.metrics.close()


def _prepare(flags: dict[str, Any]) -> tuple[Settings, Any]:
    settings = settings_from(flags)
    with friendly_errors(settings):
        log = build_logger(settings)
        settings.redis_password()  # an unreadable password file fails here, in one line
        # A provider setting that is missing fails here, once, not in every process.
        for provider in build_providers(settings, log):
            provider.close()
        _probe_redis(settings)
    return settings, log


def _probe_redis(settings: Settings) -> None:
    """Fail now, in one line, on what waiting cannot fix (credentials, database number, ACL);
    a Redis that is down or loading is waited for by the worker itself."""
    queue = build_queue(settings)
    try:
        queue.client.ping()
    except redis.AuthenticationError:
        raise
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
        return
    finally:
        queue.client.close()


@click.command()
@common_options
@worker_options
def run(**flags: Any) -> None:
    """Run the worker until SIGTERM or SIGINT.

    On the first signal it stops fetching, finishes the sends in flight (up to --shutdown-timeout),
    puts unfinished tasks back at the front of the queue and exits 0. A second signal exits at once;
    the task stays in this worker's processing list and the next worker recovers it. With
    --processes N, a parent runs N such workers and restarts any that dies.
    """
    settings, log = _prepare(flags)
    if settings.processes > 1:
        code, _ = supervise(settings.processes, lambda: _work(settings, log, drain=False), log, restart=True)
        sys.exit(code)
    totals = _work(settings, log, drain=False)
    _exit_after(totals.abandoned_sends)


@click.command()
@common_options
@worker_options
def drain(**flags: Any) -> None:
    """Process until the queue and in-flight work are empty, print a summary, exit.

    Dead workers' unfinished tasks are recovered first. A progress bar is shown when stderr is a
    terminal (and --processes is 1).
    """
    settings, log = _prepare(flags)
    started = time.monotonic()
    code = 0
    if settings.processes > 1:
        code, totals = supervise(
            settings.processes, lambda: _work(settings, log, drain=True), log, restart=False
        )
    else:
        with friendly_errors(settings):
            total = build_queue(settings).length()
        with _progress(total) as step:
            totals = _work(settings, log, drain=True, on_settled=step)
    click.echo(
        f"drained {totals.tasks} tasks: sent {totals.sent}, dead-lettered {totals.dead}, "
        f"requeued {totals.requeued}, in {time.monotonic() - started:.1f} s"
    )
    if not totals.drained:
        why = totals.gave_up or "stopped by a signal"
        click.echo(f"error: the queue was not drained: {why}. Tasks may remain; run drain again.", err=True)
        code = code or 1
    _exit_after(totals.abandoned_sends, code)
    sys.exit(code)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr when it is a terminal; a no-op step otherwise."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    bar = click.progressbar(length=max(total, 1), label="draining", file=sys.stderr)
    lock = threading.Lock()

    def step() -> None:
        with lock:  # steps come from the worker's settle thread
            bar.update(1)

    yield step
    bar.render_finish()


@click.command()
@common_options
@worker_options
def check(**flags: Any) -> None:
    """Check the configuration, the provider's settings and that Redis answers; exit 1 if not."""
    settings = settings_from(flags)
    with friendly_errors(settings):
        for provider in build_providers(settings, build_logger(settings)):
            provider.close()
        queue = build_queue(settings)
        queue.client.ping()
        version = queue.client.info("server").get("redis_version")
    click.echo(f"config ok: provider {settings.provider}, queue {settings.queue}")
    fetch = "BLMOVE" if queue.supports_blmove() else "BRPOPLPUSH (Redis < 6.2)"
    click.echo(f"redis ok: {settings.redacted_redis_url()} (Redis {version}, fetch with {fetch})")
