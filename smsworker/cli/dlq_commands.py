"""``smsworker dlq list|replay|purge``: the dead-letter list, through ``deadletters.py`` as the
dashboard reaches it. Their summaries are in the reader's language."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import json
from typing import Any

import click

from smsworker.app import open_queue
from smsworker.cli.errors import SettingError, friendly_errors
from smsworker.cli.options import common_options, plural, settings_from
from smsworker.cli.progress import progress
from smsworker.dead_filter import DeadFilter, digits
from smsworker.deadletters import Listing, list_dead, replay
from smsworker.language import say
from smsworker.outcome import REASONS


@click.group()
def dlq() -> None:
    """Inspect, replay or purge the dead-letter list."""


@dlq.command("list")
@common_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest first.")
@click.option("--reason", type=click.Choice(REASONS), help="Only entries with this reason.")
@click.option(
    "--mobile",
    help="Only entries with a failed number ending in these digits (13800138000, or its last digits).",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array of the envelopes, as stored.")
def dlq_list(limit: int, reason: str | None, mobile: str | None, as_json: bool, **flags: Any) -> None:
    """Show dead-lettered tasks, newest first, with the reason for each, and how many there are
    (on stderr with --json)."""
    settings = settings_from(flags)
    if mobile is not None and not digits(mobile):
        raise SettingError(
            say(f"invalid --mobile {mobile!r}: no digits", f"--mobile {mobile!r} 无效：没有数字")
        )
    wanted = DeadFilter(reason=reason or "", number=mobile or "")
    with friendly_errors(settings):
        listing = list_dead(open_queue(settings), limit, wanted.choose if wanted.fields else None)
    if as_json:
        shown = ",\n".join(json.dumps(entry, ensure_ascii=False) for entry in listing.entries)
        click.echo(f"[\n{shown}\n]" if shown else "[]")
    for entry in [] if as_json else listing.entries:
        _print_entry(entry)
    click.echo(_how_many(listing, settings.dead_letter_key, filtered=bool(wanted.fields)), err=as_json)


def _print_entry(entry: dict[str, Any]) -> None:
    mobiles = entry.get("failed_mobiles") or []
    click.echo(
        f"{entry.get('failed_at', '?')}  {entry.get('reason')}  {plural(len(mobiles), 'recipient')}"
        + (f": {', '.join(mobiles[:5])}" + (" ..." if len(mobiles) > 5 else "") if mobiles else "")
    )
    click.echo(f"    error: {entry.get('error')}")
    payload = entry.get("payload", "<binary: see payload_b64 in --json>")
    click.echo(f"    payload: {payload[:120]}{'...' if len(payload) > 120 else ''}")


def _how_many(listing: Listing, where: str, *, filtered: bool) -> str:
    """ "showing 20 of 301 ...": how much of the list the entries shown are."""
    shown, matching, total = len(listing.entries), listing.matching, listing.total
    if total == 0:
        return say(f"{where} is empty", f"{where} 是空的")
    if not filtered:
        return say(
            f"showing {shown} of {plural(total, 'entry', 'entries')} of {where}, newest first",
            f"显示 {where} 全部 {total} 条中最新的 {shown} 条",
        )
    if matching == 0:
        return say(
            f"no entry of {where} matches ({plural(total, 'entry', 'entries')} in all)",
            f"{where} 中没有符合条件的条目（共 {total} 条）",
        )
    return say(
        f"showing {shown} of {plural(matching, 'matching entry', 'matching entries')} "
        f"({total} in {where}), newest first",
        f"显示符合条件的 {matching} 条中最新的 {shown} 条（{where} 共 {total} 条）",
    )


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
        with progress(total, say("replaying", "重新入队")) as bar:
            result = replay(queue, limit=limit, reason=reason, on_each=bar.step)
    tasks, recipients = plural(result.replayed, "task"), plural(result.recipients, "recipient")
    click.echo(
        say(
            f"replayed {tasks} ({recipients}) onto {settings.queue}",
            f"已把 {result.replayed} 个任务（{result.recipients} 个收件人）重新放回 {settings.queue}",
        )
    )
    if result.vanished:
        click.echo(
            say(
                f"skipped {plural(result.vanished, 'entry', 'entries')} taken meanwhile by another "
                "replay or a purge",
                f"跳过 {result.vanished} 条：这期间已被另一次重放或清空取走",
            )
        )
    if result.not_replayable:
        click.echo(
            say(
                f"left {plural(result.not_replayable, 'entry', 'entries')} without a task to replay "
                "(invalid_json/invalid_task: fix the producer, then purge)",
                f"留下 {result.not_replayable} 条没有可重放任务的条目"
                "（invalid_json/invalid_task：请先修正生产者，再清空）",
            )
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
        click.echo(say(f"{where} is empty: nothing to purge", f"{where} 是空的，无需清空"))
        return
    if not yes:
        click.confirm(
            say(
                f"Delete all {plural(count, 'entry', 'entries')} of {where}?",
                f"删除 {where} 中全部 {count} 条？",
            ),
            abort=True,
        )
    with friendly_errors(settings):
        purged = queue.purge_dead()
    click.echo(
        say(
            f"purged {plural(purged, 'entry', 'entries')} from {where}",
            f"已从 {where} 删除 {purged} 条",
        )
    )
