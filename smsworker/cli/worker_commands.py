"""The commands that run the worker: ``run``, ``drain`` and ``check``."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import click

from smsworker.app import build_logger, build_queue, build_worker
from smsworker.cli.options import common_options, friendly_errors, settings_from, worker_options
from smsworker.providers.registry import build_provider


def _install_stop_handlers(stop: Callable[[], None]) -> None:
    def handler(signum: int, _frame: Any) -> None:
        if getattr(handler, "seen", False):
            os._exit(128 + signum)  # second signal: now. The processing list keeps the task safe.
        handler.seen = True  # type: ignore[attr-defined]
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _exit_after(totals_abandoned: bool) -> None:
    if totals_abandoned:
        # Provider calls outlived --shutdown-timeout; their tasks are back on the queue already.
        sys.stderr.flush()
        os._exit(0)


@click.command()
@common_options
@worker_options
def run(**flags: Any) -> None:
    """Run the worker until SIGTERM or SIGINT.

    On the first signal it stops fetching, finishes the sends in flight (up to --shutdown-timeout),
    puts unfinished tasks back at the front of the queue and exits 0. A second signal exits at once;
    the task stays in this worker's processing list and the next worker recovers it.
    """
    settings = settings_from(flags)
    with friendly_errors(settings):
        log = build_logger(settings)
        worker = build_worker(settings, log)
    _install_stop_handlers(worker.request_stop)
    totals = worker.run()
    _exit_after(totals.abandoned_sends)


@click.command()
@common_options
@worker_options
def drain(**flags: Any) -> None:
    """Process until the queue and in-flight work are empty, print a summary, exit.

    Dead workers' unfinished tasks are recovered first. A progress bar is shown when stderr is a
    terminal.
    """
    settings = settings_from(flags)
    started = time.monotonic()
    with friendly_errors(settings):
        log = build_logger(settings)
        total = build_queue(settings).client.llen(settings.queue)
        bar = click.progressbar(length=max(int(total), 1), label="draining", file=sys.stderr)
        lock = threading.Lock()
        show = sys.stderr.isatty()

        def step() -> None:
            if show:
                with lock:
                    bar.update(1)

        worker = build_worker(settings, log, on_settled=step)
    _install_stop_handlers(worker.request_stop)
    totals = worker.drain()
    if show:
        bar.render_finish()
    click.echo(
        f"drained {totals.tasks} tasks: sent {totals.sent}, dead-lettered {totals.dead}, "
        f"requeued {totals.requeued}, in {time.monotonic() - started:.1f} s"
    )
    _exit_after(totals.abandoned_sends)


@click.command()
@common_options
@worker_options
def check(**flags: Any) -> None:
    """Check the configuration, the provider's settings and that Redis answers; exit 1 if not."""
    settings = settings_from(flags)
    with friendly_errors(settings):
        build_provider(settings, build_logger(settings)).close()
        queue = build_queue(settings)
        queue.client.ping()
        version = queue.client.info("server").get("redis_version")
    click.echo(f"config ok: provider {settings.provider}, queue {settings.queue}")
    fetch = "BLMOVE" if queue.supports_blmove() else "BRPOPLPUSH (Redis < 6.2)"
    click.echo(f"redis ok: {settings.redacted_redis_url()} (Redis {version}, fetch with {fetch})")
