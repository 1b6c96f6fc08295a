"""The operator's commands on the queue: ``enqueue`` and ``dlq list|replay|purge``."""

from __future__ import annotations

import json
from typing import Any

import click

from smsworker.app import build_parser, open_queue
from smsworker.cli.errors import SettingError, friendly_errors
from smsworker.cli.options import common_options, plural, settings_from
from smsworker.cli.progress import progress
from smsworker.deadletters import list_dead, replay
from smsworker.errors import InvalidTask
from smsworker.outcome import REASONS
from smsworker.store.status import StatusBook
from smsworker.strict_json import is_text
from smsworker.task import encode_task


@click.command()
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
    settings = settings_from(flags)
    _check_text(
        ("--template-id", template_id), ("--content", content), ("--id", task_id), ("--params", params)
    )
    _check_text(*(("--mobile", m) for m in mobiles))
    data = _task_fields(template_id, mobiles, content, params, task_id)
    try:
        payload = encode_task(data)
        task = build_parser(settings).parse(payload)
    except InvalidTask as exc:
        raise SettingError(f"the worker would dead-letter this task ({exc.reason}): {exc.error}") from None
    except (ValueError, RecursionError) as exc:  # e.g. "\ud800" in --params: not text
        raise SettingError(f"invalid --params: cannot be encoded as a task: {exc}") from None
    if task.invalid_mobiles:
        click.echo(
            f"warning: not valid numbers, they will be dead-lettered: {', '.join(task.invalid_mobiles)}",
            err=True,
        )
    with friendly_errors(settings):
        queue = open_queue(settings)
        if task.task_id is None:
            length = queue.push(payload)
        else:  # its recipients show as queued until it settles (smsworker status --id)
            written = [str(m).strip() for m in data["mobiles"]]  # as the worker will read them
            length = StatusBook(queue).push_with_id(payload, task.task_id, written, settings.receipt_ttl)
    click.echo(
        f"queued 1 task for {plural(len(mobiles), 'recipient')} on {settings.queue} (queue length {length})"
    )


def _check_text(*given: tuple[str, str | None]) -> None:
    """Each (flag, value) given must be text that UTF-8 can carry: a terminal in another encoding
    hands Python undecodable bytes as lone surrogates."""
    for hint, value in given:
        if value is not None and not is_text(value):
            raise SettingError(f"invalid {hint}: not valid UTF-8 text (check the terminal's encoding)")


def _task_fields(
    template_id: str, mobiles: tuple[str, ...], content: str, params: str | None, task_id: str | None
) -> dict[str, Any]:
    """The task as a PHP producer would build it: a numeric template id as a number."""
    data: dict[str, Any] = {
        "template_id": int(template_id) if template_id.isascii() and template_id.isdigit() else template_id,
        "mobiles": list(mobiles),
        "content": content,
    }
    if params is not None:
        try:
            data["params"] = json.loads(params)
        except (ValueError, RecursionError) as exc:
            raise SettingError(f"invalid --params: not valid JSON: {exc}") from None
    if task_id is not None:
        data["id"] = task_id
    return data


@click.group()
def dlq() -> None:
    """Inspect, replay or purge the dead-letter list."""


@dlq.command("list")
@common_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON envelope a line.")
def dlq_list(limit: int, as_json: bool, **flags: Any) -> None:
    """Show dead-lettered tasks, newest first, with the reason for each."""
    settings = settings_from(flags)
    with friendly_errors(settings):
        entries = list_dead(open_queue(settings), limit)
    for entry in entries:
        if as_json:
            click.echo(json.dumps(entry, ensure_ascii=False))
            continue
        mobiles = entry.get("failed_mobiles") or []
        click.echo(
            f"{entry.get('failed_at', '?')}  {entry.get('reason')}  {plural(len(mobiles), 'recipient')}"
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
    settings = settings_from(flags)
    with friendly_errors(settings):
        queue = open_queue(settings)
        total = queue.dead_length() if limit is None else min(limit, queue.dead_length())
        with progress(total, "replaying") as step:
            result = replay(queue, limit=limit, reason=reason, on_each=step)
    click.echo(f"replayed {result.replayed} tasks ({result.recipients} recipients) onto {settings.queue}")
    if result.vanished:
        click.echo(f"skipped {result.vanished} entries taken meanwhile by another replay or a purge")
    if result.not_replayable:
        click.echo(
            f"left {result.not_replayable} entries that have no task to replay "
            "(invalid_json/invalid_task: fix the producer, then purge)"
        )


@dlq.command("purge")
@common_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def dlq_purge(yes: bool, **flags: Any) -> None:
    """Delete the whole dead-letter list (says how many first; asks nothing when it is empty)."""
    settings = settings_from(flags)
    where = settings.dead_letter_key
    with friendly_errors(settings):
        queue = open_queue(settings)
        count = queue.dead_length()
    if count == 0:
        click.echo(f"{where} is empty: nothing to purge")
        return
    if not yes:
        click.confirm(f"Delete all {plural(count, 'entry', 'entries')} of {where}?", abort=True)
    with friendly_errors(settings):
        purged = queue.purge_dead()
    click.echo(f"purged {plural(purged, 'entry', 'entries')} from {where}")
