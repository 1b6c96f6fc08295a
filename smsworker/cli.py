"""The ``smsworker`` command: parse options, build the objects, call them, print. Nothing more."""

from __future__ import annotations

import json
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

from smsworker import __version__
from smsworker.app import build_logger, build_parser, build_queue, build_worker
from smsworker.config import LOG_FORMATS, LOG_LEVELS, Settings, load_settings
from smsworker.deadletter import REASONS
from smsworker.dlq import list_dead, replay
from smsworker.errors import ConfigError, InvalidTask
from smsworker.providers.registry import FACTORIES, build_provider
from smsworker.task import encode_task

F = Callable[..., Any]

_COMMON = [
    ("--redis-url", "Redis to use, e.g. redis://:password@host:6379/0.", "redis://127.0.0.1:6379/0"),
    ("--queue", "List the producers LPUSH tasks to.", "sms_queue"),
    ("--dead-letter-queue", "List for tasks that could not be sent.", "<queue>:dead"),
    ("--log-format", f"One of {', '.join(LOG_FORMATS)}: JSON off a terminal, console on one.", "auto"),
    ("--log-level", f"One of {', '.join(LOG_LEVELS)}.", "info"),
]
_WORKER = [
    ("--provider", f"SMS provider: {', '.join(sorted(FACTORIES))} (log is a dry run).", "log"),
    ("--http-url", "Webhook the http provider POSTs each message to.", None),
    ("--http-timeout", "Seconds before an http request counts as failed (transient).", "10"),
    ("--http-batch-size", 'Numbers per http request; above 1 they go as "mobiles": [...].', "1"),
    ("--concurrency", "Provider requests sent in parallel.", "8"),
    ("--max-attempts", "Attempts per message in all, retries included.", "5"),
    ("--backoff-base", "Seconds of the first retry backoff; doubles each time, full jitter.", "1"),
    ("--backoff-max", "Longest wait between attempts, Retry-After included.", "60"),
    ("--heartbeat-ttl", "Seconds without a heartbeat before a worker counts as dead.", "30"),
    ("--shutdown-timeout", "Seconds to finish in-flight sends after SIGTERM.", "30"),
    ("--default-region", "Region for numbers written without +country code.", "CN"),
    ("--max-payload-bytes", "Larger tasks are dead-lettered as too_large.", "1048576"),
    ("--max-recipients", "Tasks with more recipients are dead-lettered as too_large.", "10000"),
]


def _option(flag: str, help_text: str, default: str | None) -> F:
    env = "SMSWORKER_" + flag[2:].replace("-", "_").upper()
    shown = f" [default: {default}]" if default else ""
    return click.option(flag, default=None, help=f"{help_text}{shown} [env: {env}]")


def common_options(func: F) -> F:
    for flag, help_text, default in reversed(_COMMON):
        func = _option(flag, help_text, default)(func)
    return click.option(
        "--config", type=click.Path(dir_okay=False), help="TOML file of settings. [env: SMSWORKER_CONFIG]"
    )(func)


def worker_options(func: F) -> F:
    func = click.option(
        "--mask-mobiles/--no-mask-mobiles",
        default=None,
        help="Mask phone numbers in logs (138****8000). [default: mask] [env: SMSWORKER_MASK_MOBILES]",
    )(func)
    func = click.option(
        "--http-header",
        "http_headers",
        multiple=True,
        help="Extra header for the http provider, 'Name: value'; repeatable. "
        "[env: SMSWORKER_HTTP_HEADERS, one a line]",
    )(func)
    for flag, help_text, default in reversed(_WORKER):
        func = _option(flag, help_text, default)(func)
    return func


class SettingError(click.ClickException):
    exit_code = 2


@contextmanager
def _friendly_errors(settings: Settings | None = None) -> Iterator[None]:
    try:
        yield
    except ConfigError as exc:
        raise SettingError(str(exc)) from None
    except redis.ConnectionError as exc:
        where = settings.redacted_redis_url() if settings else "Redis"
        raise click.ClickException(
            f"cannot reach Redis at {where}: {exc}. Is redis-server running? "
            "Set --redis-url or SMSWORKER_REDIS_URL."
        ) from None


def _settings(flags: dict[str, Any]) -> Settings:
    config = flags.pop("config", None)
    with _friendly_errors():
        return load_settings(flags, os.environ, config)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="smsworker")
def cli() -> None:
    """Send the SMS tasks your PHP app LPUSHes to Redis, reliably.

    \b
    Producers keep doing exactly what they do today:
      $redis->lPush('sms_queue', json_encode(['template_id' => 123,
                    'mobiles' => ['13800138000'], 'content' => 'Test SMS']));

    \b
    Start with:  smsworker check            is the config valid, is Redis there?
                 smsworker run              the daemon (SIGTERM stops it cleanly)
                 smsworker stats            what is queued, in flight, dead
    Every option also reads SMSWORKER_<NAME> and a TOML --config file;
    a flag beats the environment, which beats the file.
    """


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


@cli.command()
@common_options
@worker_options
def run(**flags: Any) -> None:
    """Run the worker until SIGTERM or SIGINT.

    On the first signal it stops fetching, finishes the sends in flight (up to --shutdown-timeout),
    puts unfinished tasks back at the front of the queue and exits 0. A second signal exits at once;
    the task stays in this worker's processing list and the next worker recovers it.
    """
    settings = _settings(flags)
    with _friendly_errors(settings):
        log = build_logger(settings)
        worker = build_worker(settings, log)
    _install_stop_handlers(worker.request_stop)
    totals = worker.run()
    _exit_after(totals.abandoned_sends)


@cli.command()
@common_options
@worker_options
def drain(**flags: Any) -> None:
    """Process until the queue and in-flight work are empty, print a summary, exit.

    Dead workers' unfinished tasks are recovered first. A progress bar is shown when stderr is a
    terminal.
    """
    settings = _settings(flags)
    started = time.monotonic()
    with _friendly_errors(settings):
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


@cli.command()
@common_options
@worker_options
def check(**flags: Any) -> None:
    """Check the configuration, the provider's settings and that Redis answers; exit 1 if not."""
    settings = _settings(flags)
    with _friendly_errors(settings):
        build_provider(settings, build_logger(settings)).close()
        queue = build_queue(settings)
        queue.client.ping()
        version = queue.client.info("server").get("redis_version")
    click.echo(f"config ok: provider {settings.provider}, queue {settings.queue}")
    fetch = "BLMOVE" if queue.supports_blmove() else "BRPOPLPUSH (Redis < 6.2)"
    click.echo(f"redis ok: {settings.redacted_redis_url()} (Redis {version}, fetch with {fetch})")


@cli.command()
@common_options
@click.option("--template-id", required=True, help="Template id; digits are sent as a number.")
@click.option("--mobile", "mobiles", multiple=True, required=True, help="Recipient; repeatable.")
@click.option("--content", required=True, help="Message text.")
@click.option("--params", help='Template variables as a JSON object, e.g. \'{"code": "1234"}\'.')
@click.option("--id", "task_id", help="Idempotency key: recipients already sent under it are not sent again.")
def enqueue(
    template_id: str,
    mobiles: tuple[str, ...],
    content: str,
    params: str | None,
    task_id: str | None,
    **flags: Any,
) -> None:
    """Push one task in exactly the format PHP producers use (LPUSH onto the queue)."""
    settings = _settings(flags)
    data: dict[str, Any] = {
        "template_id": int(template_id) if template_id.isdigit() else template_id,
        "mobiles": list(mobiles),
        "content": content,
    }
    if params is not None:
        try:
            data["params"] = json.loads(params)
        except ValueError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--params") from None
    if task_id is not None:
        data["id"] = task_id
    payload = encode_task(data)
    try:
        task = build_parser(settings).parse(payload)
    except InvalidTask as exc:
        raise click.UsageError(
            f"the worker would dead-letter this task ({exc.reason}): {exc.error}"
        ) from None
    if task.invalid_mobiles:
        click.echo(
            f"warning: not valid numbers, they will be dead-lettered: {', '.join(task.invalid_mobiles)}",
            err=True,
        )
    with _friendly_errors(settings):
        length = build_queue(settings).push(payload)
    click.echo(
        f"queued 1 task for {_count(len(mobiles), 'recipient')} on {settings.queue} (queue length {length})"
    )


@cli.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(as_json: bool, **flags: Any) -> None:
    """Queue, processing and dead-letter lengths, live workers, and totals so far."""
    settings = _settings(flags)
    with _friendly_errors(settings):
        figures = build_queue(settings).stats().as_dict()
    if as_json:
        click.echo(json.dumps(figures))
        return
    for name, value in figures.items():
        click.echo(f"{name:<12}{value}")


@cli.group()
def dlq() -> None:
    """Inspect, replay or purge the dead-letter list."""


@dlq.command("list")
@common_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON envelope a line.")
def dlq_list(limit: int, as_json: bool, **flags: Any) -> None:
    """Show dead-lettered tasks, newest first, with the reason for each."""
    settings = _settings(flags)
    with _friendly_errors(settings):
        entries = list_dead(build_queue(settings), limit)
    for entry in entries:
        if as_json:
            click.echo(json.dumps(entry, ensure_ascii=False))
            continue
        mobiles = entry.get("failed_mobiles") or []
        click.echo(
            f"{entry.get('failed_at', '?')}  {entry.get('reason')}  {_count(len(mobiles), 'recipient')}"
            + (f": {', '.join(mobiles[:5])}" + (" ..." if len(mobiles) > 5 else "") if mobiles else "")
        )
        click.echo(f"    error: {entry.get('error')}")
        payload = entry.get("payload", "<binary: see payload_b64 in --json>")
        click.echo(f"    payload: {payload[:120]}{'...' if len(payload) > 120 else ''}")
    if not entries and not as_json:
        click.echo(f"{settings.dead_letter_key} is empty")


@dlq.command("replay")
@common_options
@click.option("--limit", type=click.IntRange(min=1), help="Replay at most this many, oldest first.")
@click.option("--reason", type=click.Choice(REASONS), help="Only entries with this reason.")
def dlq_replay(limit: int | None, reason: str | None, **flags: Any) -> None:
    """Push the failed part of dead tasks back onto the queue (oldest first)."""
    settings = _settings(flags)
    with _friendly_errors(settings):
        result = replay(build_queue(settings), limit=limit, reason=reason)
    click.echo(f"replayed {result.replayed} tasks ({result.recipients} recipients) onto {settings.queue}")
    if result.not_replayable:
        click.echo(
            f"left {result.not_replayable} entries that have no task to replay "
            "(invalid_json/invalid_task: fix the producer, then purge)"
        )


@dlq.command("purge")
@common_options
@click.confirmation_option(
    "--yes", prompt="Delete every entry in the dead-letter list?", help="Do not ask for confirmation."
)
def dlq_purge(**flags: Any) -> None:
    """Delete the whole dead-letter list."""
    settings = _settings(flags)
    with _friendly_errors(settings):
        count = build_queue(settings).purge_dead()
    click.echo(f"purged {count} entries from {settings.dead_letter_key}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def main() -> None:
    cli(prog_name="smsworker")
