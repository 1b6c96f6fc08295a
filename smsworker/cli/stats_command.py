"""``smsworker stats``: the queue's figures once, or refreshed live with ``--watch``."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from smsworker.app import open_queue, redis_mode
from smsworker.cli.errors import friendly_errors
from smsworker.cli.options import common_options, settings_from
from smsworker.cli.redis_problems import redis_problem
from smsworker.config.settings import Settings
from smsworker.language import say
from smsworker.store.errors import OUTAGES, AuthenticationError
from smsworker.store.queue import RedisQueue

Figures = dict[str, Any]


@click.command()
@common_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON: one object, or with --watch one object a line."
)
@click.option("--watch", is_flag=True, help="Refresh a compact live view until Ctrl-C.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between refreshes with --watch.",
)
@click.option("--count", type=click.IntRange(min=1), help="With --watch: stop after this many refreshes.")
def stats(as_json: bool, watch: bool, interval: float, count: int | None, **flags: Any) -> None:
    """Queue, processing and dead-letter lengths, live workers, the oldest waiting task's age,
    totals so far, tasks scheduled for later, recipients cancelled, and what is paused.

    With --watch, a Redis that stops answering is waited for (a line on stderr says so) and the
    view goes on when it is back; only a Redis unreachable at the start is an error.
    """
    settings = settings_from(flags)
    with friendly_errors(settings):
        queue = open_queue(settings)
        figures = _figures(settings, queue)
        if watch:
            _Watch(queue, settings, as_json).run(figures, interval, count)
            return
    if as_json:
        click.echo(json.dumps(figures))
        return
    for name, value in figures.items():
        click.echo(f"{name:<18}{_shown(name, value)}")


def _shown(name: str, value: Any) -> Any:
    if name == "oldest_age_s":
        return "-" if value is None else f"{value:.1f}"
    if name == "paused":
        return ", ".join(value) or "-"
    return value


def _figures(settings: Settings, queue: RedisQueue) -> Figures:
    """What ``stats`` shows: how Redis is reached, the queue's figures, then what is paused (scopes:
    ``all``, ``lane:<name>``, ``provider:<name>``, ``campaign:<name>``)."""
    return {"redis": redis_mode(settings, queue), **queue.figures(), "paused": queue.paused_scopes()}


class _Watch:
    """One line (or one JSON object) a refresh, with the per-second rates since the last one."""

    def __init__(self, queue: RedisQueue, settings: Settings, as_json: bool) -> None:
        self._queue = queue
        self._settings = settings
        self._as_json = as_json
        self._last: tuple[float, Figures] | None = None
        self._away = False  # Redis stopped answering, and the line saying so was printed

    def run(self, first: Figures, interval: float, count: int | None) -> None:
        """Until Ctrl-C (exit 0), or ``count`` refreshes."""
        figures: Figures | None = first
        shown = 0
        try:
            while True:
                if figures is not None:
                    self._show(figures)
                    shown += 1
                if count is not None and shown >= count:
                    return
                time.sleep(interval)
                figures = self._read(interval)
        except KeyboardInterrupt:
            return

    def _read(self, interval: float) -> Figures | None:
        """The figures now, or None (said on stderr once an outage) while Redis does not answer."""
        try:
            figures = _figures(self._settings, self._queue)
        except OUTAGES as exc:
            if isinstance(exc, AuthenticationError):
                raise  # waiting cannot fix credentials
            if not self._away:
                self._away = True
                problem = redis_problem(exc, self._settings.redis_target()).shown()
                click.echo(
                    say(
                        f"Redis unreachable, retrying every {interval:g} s: {problem}",
                        f"Redis 连不上，每 {interval:g} 秒重试一次：{problem}",
                    ),
                    err=True,
                )
            return None
        if self._away:
            self._away = False
            click.echo(say("Redis answers again", "Redis 已恢复"), err=True)
        return figures

    def _show(self, figures: Figures) -> None:
        now = time.monotonic()
        sent_rate = self._rate(now, figures, "sent_total")
        dead_rate = self._rate(now, figures, "dead_total")
        self._last = (now, figures)
        if self._as_json:
            rates = {"sent_per_s": sent_rate, "dead_per_s": dead_rate}
            click.echo(json.dumps({"at": round(time.time(), 3), **figures, **rates}))
            return
        if sys.stdout.isatty():
            click.clear()
        age = figures["oldest_age_s"]
        click.echo(
            f"queued {figures['queue']}  in flight {figures['processing']}  dead letters {figures['dead']}  "
            f"workers {figures['workers']}  oldest {'-' if age is None else f'{age:.0f} s'}  "
            f"sent {figures['sent_total']} ({_per_s(sent_rate)})  "
            f"failed {figures['dead_total']} ({_per_s(dead_rate)})  segments {figures['segments_total']}"
            f"  scheduled {figures['scheduled']}  cancelled {figures['cancelled_total']}"
            + (f"  paused {', '.join(figures['paused'])}" if figures["paused"] else "")
        )

    def _rate(self, now: float, figures: Figures, name: str) -> float | None:
        if self._last is None:
            return None
        then, before = self._last
        return round((int(figures[name]) - int(before[name])) / max(now - then, 1e-9), 2)


def _per_s(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1f}/s"
