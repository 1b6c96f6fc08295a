"""``smsworker status --id ID`` / ``--mobile NUMBER``: what became of a task's recipients, or of a number."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from smsworker.app import open_queue
from smsworker.cli.control_commands import local_text
from smsworker.cli.errors import friendly_errors
from smsworker.cli.options import common_options, settings_from
from smsworker.config.settings import Settings
from smsworker.deadletters import utc_text
from smsworker.receipts import is_time, parse_state
from smsworker.store.status import StatusBook
from smsworker.task import normalise_mobile


@click.command()
@common_options
@click.option("--id", "task_id", help="The id the task was pushed with.")
@click.option("--mobile", help="A number (as pushed, or E.164): its states in every task still known.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: number -> state (with --mobile: a list).")
def status(task_id: str | None, mobile: str | None, as_json: bool, **flags: Any) -> None:
    """Show what became of each recipient of a task pushed with an id, or of one number.

    \b
    queued       pushed (SmsQueue::pushWithId, enqueue --id), not settled yet
    scheduled    waiting for its send_at (until: when, in local time)
    deferred     held by its lane's quiet hours (until: when they end, in local time)
    cancelled    not sent: the task or its campaign was cancelled ('smsworker cancel')
    sent         the provider accepted it (with its message id, if it gave one)
    delivered    the vendor's delivery report says it reached the phone
    undelivered  the report says it did not (with the vendor's code and text)
    dead         dead-lettered (with the reason; see 'smsworker dlq list')
    States are kept for the workers' --receipt-ttl after the task settled. A task that is
    pushed by other means shows nothing until it settles. --mobile scans the keyspace (no index is kept
    for it): seconds on a Redis with millions of keys. Exits 1 when nothing is known.
    """
    if (task_id is None) == (mobile is None):
        raise click.UsageError("give --id ID or --mobile NUMBER (one of them)")
    settings = settings_from(flags)
    if mobile is not None:
        _by_number(settings, mobile, as_json)
        return
    assert task_id is not None
    with friendly_errors(settings):
        found = StatusBook(open_queue(settings)).statuses(task_id)
    states = {number: parse_state(raw) for number, raw in found.items()}
    if as_json:
        click.echo(json.dumps(states, ensure_ascii=False, indent=2))
    else:
        for number, state in states.items():
            click.echo(_line(number, state))
    if not states:
        click.echo(
            f"nothing known of id {task_id!r} on {settings.queue}: not settled yet, pushed without this "
            "id, or older than --receipt-ttl",
            err=True,
        )
        raise SystemExit(1)


def _by_number(settings: Settings, mobile: str, as_json: bool) -> None:
    number = normalise_mobile(mobile.strip(), settings.default_region)
    if number is None:
        raise click.BadParameter(
            f"{mobile!r} is not a valid phone number (default region {settings.default_region})",
            param_hint="--mobile",
        )
    with friendly_errors(settings):
        found = StatusBook(open_queue(settings)).states_of_number(number)
    if as_json:
        click.echo(
            json.dumps(
                [{"id": task_id, "number": number, **state} for task_id, state in found],
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for task_id, state in found:
            click.echo(f"{task_id or '(no id)':<20} " + _line(number, state))
    if not found:
        click.echo(f"nothing known of {number} on {settings.queue} (states are kept --receipt-ttl)", err=True)
        raise SystemExit(1)


def _line(number: str, state: dict[str, Any]) -> str:
    at = state.get("at")
    # A state written by hand (or by an older smsworker) may hold anything: show it, never fail on it.
    when = utc_text(datetime.fromtimestamp(at, UTC)) if is_time(at) else f"at={at!r}"
    until = state.get("until")
    # scheduled, deferred: when it is due, in the reader's own time (they plan by it).
    shown = [f"until={local_text(until) if is_time(until) else repr(until)}"] if "until" in state else []
    shown += [
        f"{name}={state[name]}"
        for name in ("provider", "message_id", "reason", "code", "error")
        if name in state
    ]
    detail = " ".join(shown)
    return f"{number:<16} {state['state']:<10} {when}  {detail}".rstrip()
