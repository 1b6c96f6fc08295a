"""The commands that run the worker: ``run``, ``drain`` and ``check``."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import click

from smsworker.app import build_logger, build_queue, redis_mode
from smsworker.cli.errors import friendly_errors
from smsworker.cli.options import common_options, plural, settings_from, worker_options
from smsworker.cli.progress import Bar, progress
from smsworker.cli.redis_problems import describe_target
from smsworker.config.common import LOG_LEVELS
from smsworker.config.lanes import lane_order
from smsworker.config.settings import Settings
from smsworker.daemon.process import end_process, run_processes, run_worker
from smsworker.language import Text, say
from smsworker.logs import make_logger
from smsworker.providers.registry import build_providers
from smsworker.store.errors import (
    AuthenticationError,
    BusyLoadingError,
    PrimaryUnknown,
    RedisConnectionError,
    RedisTimeoutError,
)
from smsworker.store.queue import RedisQueue
from smsworker.store.upgrade import pending_renames
from smsworker.worker.events import WorkerEvents
from smsworker.worker.tally import Totals


class _ProgressBar(WorkerEvents):
    def __init__(self, step: Callable[[], None]) -> None:
        self._step = step

    def progressed(self, *, tasks: int, sent: int, dead: int) -> None:
        self._step()


def _work(settings: Settings, log: Any, *, drain: bool, observers: Sequence[WorkerEvents] = ()) -> Totals:
    with friendly_errors(settings):
        return run_worker(settings, log, drain=drain, observers=observers)


def _prepare(flags: dict[str, Any]) -> tuple[Settings, Any]:
    settings = settings_from(flags)
    with friendly_errors(settings):
        log = build_logger(settings)
        # A provider setting that is missing fails here, once, not in every process.
        for provider in build_providers(settings, log):
            provider.close()
        _probe_redis(settings)
    return settings, log


def _probe_redis(settings: Settings) -> None:
    """Fail now, in one line, on what waiting cannot fix (credentials, database number, ACL, a
    dead-letter list outside a cluster's queue slot, a primary's name no answering sentinel knows);
    a Redis that is down or loading is waited for by the worker itself."""
    try:
        queue = build_queue(settings)
        try:
            queue.client.ping()
        finally:
            queue.client.close()
    except (AuthenticationError, PrimaryUnknown):
        raise
    except (RedisConnectionError, RedisTimeoutError, BusyLoadingError):
        return


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
        with friendly_errors(settings):
            code, _ = run_processes(settings, log, drain=False)
        sys.exit(code)
    end_process(_work(settings, log, drain=False), 0)


@click.command()
@common_options
@worker_options
def drain(**flags: Any) -> None:
    """Process until the queue and in-flight work are empty, print a summary, exit.

    Dead workers' unfinished tasks are recovered first. A progress bar is shown when stderr is a
    terminal (and --processes is 1); while it is, the log shows warnings and errors only, each on a
    line of its own above the bar.
    """
    settings, log = _prepare(flags)
    started = time.monotonic()
    code = 0
    if settings.processes > 1:
        with friendly_errors(settings):
            code, totals = run_processes(settings, log, drain=True)
    else:
        with friendly_errors(settings):
            total = build_queue(settings).length()
        with progress(total, say("draining", "处理中")) as bar:
            observers = [_ProgressBar(bar.step)]
            totals = _work(settings, _beside(bar, settings, log), drain=True, observers=observers)
    click.echo(_summary(totals, time.monotonic() - started))
    if not totals.drained:
        why = totals.gave_up or say("stopped by a signal", "被信号中止")
        click.echo(
            say(
                f"error: the queue was not drained: {why}. Tasks may remain; run drain again.",
                f"错误：队列没有处理完：{why}。可能还有任务留在队列里，请再运行一次 drain。",
            ),
            err=True,
        )
        code = code or 1
    end_process(totals, code)


def _beside(bar: Bar, settings: Settings, log: Any) -> Any:
    """The log while ``bar`` is shown: warnings and worse only (a line per task would drown the
    bar), printed above it; with no bar shown, ``log`` itself."""
    if bar.lines is None:
        return log
    quiet = max(settings.log_level, "warning", key=LOG_LEVELS.index)
    return make_logger(
        fmt=settings.log_format, level=quiet, mask_mobiles=settings.mask_mobiles, stream=bar.lines
    )


def _summary(totals: Totals, took_s: float) -> str:
    """Tasks, then their recipients: "drained 7 tasks (9 recipients: 7 sent, 2 dead-lettered)"."""
    recipients = plural(totals.sent + totals.dead, "recipient")
    line = say(
        f"drained {plural(totals.tasks, 'task')} ({recipients}: {totals.sent} sent, "
        f"{totals.dead} dead-lettered) in {took_s:.1f} s",
        f"共处理 {totals.tasks} 个任务（{totals.sent + totals.dead} 个收件人：已发送 {totals.sent} 个，"
        f"转入死信 {totals.dead} 个），耗时 {took_s:.1f} 秒",
    )
    if totals.requeued:
        line += say(
            f"; {plural(totals.requeued, 'task')} put back on the queue",
            f"；{totals.requeued} 个任务已放回队列",
        )
    return line


@click.command()
@common_options
@worker_options
@click.option(
    "--no-redis",
    "no_redis",
    is_flag=True,
    help="Check the configuration and the provider's settings only, not Redis: what the systemd units "
    "run before starting (the worker waits for a Redis that is not up yet itself).",
)
def check(no_redis: bool, **flags: Any) -> None:
    """Check the configuration, the provider's settings and that Redis answers; exit 1 if not."""
    settings = settings_from(flags)
    config_ok = Text(
        f"config ok: provider {settings.provider}, queue {settings.queue}",
        f"配置无误：服务商 {settings.provider}，队列 {settings.queue}",
    )
    # Then one line per lane, in the order workers serve them.
    lanes = [lane.summary(settings.provider) for lane in lane_order(settings.lanes)]
    report = "\n".join(line.shown() for line in [config_ok, *lanes])
    with friendly_errors(settings):
        for provider in build_providers(settings, build_logger(settings)):
            provider.close()
        if no_redis:
            click.echo(report)
            return
        queue = build_queue(settings)
        queue.client.ping()
        redis_ok = _redis_summary(settings, queue)
        old = len(pending_renames(queue))
    click.echo(report)
    click.echo(redis_ok.shown())
    if old:
        click.echo(
            say(
                f"note: {plural(old, 'key')} of the layout before 0.2 ({settings.queue}:dead, ...): the next "
                f"run, drain or other command moves them to {queue.keys.prefix}:... (see README, Upgrading)",
                f"注意：有 {old} 个键还是 0.2 之前的布局（{settings.queue}:dead 等）：下一次 run、drain "
                f"或其他命令会把它们移到 {queue.keys.prefix}:...（见 README 的 Upgrading 一节）",
            )
        )


def _redis_summary(settings: Settings, queue: RedisQueue) -> Text:
    """``redis ok: <url> (<mode>, Redis <version>, fetch with <command>)``."""
    version = queue.client.info("server").get("redis_version")
    kind = redis_mode(settings, queue)
    if kind == "cluster":
        primaries = queue.cluster_primaries()  # asked only of a cluster, and once
        mode = Text("Redis Cluster, {n} primaries", "Redis Cluster，{n} 个主节点").format(n=primaries)
    elif kind == "sentinel":
        mode = Text("the primary Sentinel calls {name}", "哨兵所说的主节点 {name}").format(
            name=settings.sentinel_master
        )
    else:
        mode = Text("single server", "单机")
    target = settings.redis_target()
    # The URL itself when it was used; the sentinels or nodes otherwise, never an unused URL.
    url = Text.untranslated(target.url) if target.kind == "url" else describe_target(target)
    fetch = (
        Text.untranslated("BLMOVE")
        if queue.supports_blmove()
        else Text("BRPOPLPUSH (Redis < 6.2)", "BRPOPLPUSH（Redis < 6.2）")
    )
    return Text(
        "redis ok: {url} ({mode}, Redis {version}, fetch with {fetch})",
        "Redis 正常：{url}（{mode}，Redis {version}，取任务用 {fetch}）",
    ).format(url=url, mode=mode, version=version, fetch=fetch)
