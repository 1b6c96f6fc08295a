"""``smsworker enqueue``: push one task as a PHP producer would, refused when the worker would refuse it."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from typing import Any

import click

from smsworker.app import build_parser, open_queue
from smsworker.cli.control_commands import campaign_name, lane_name, local_text
from smsworker.cli.errors import SettingError, friendly_errors
from smsworker.cli.options import common_options, plural, settings_from
from smsworker.config.settings import Settings
from smsworker.errors import InvalidTask
from smsworker.language import say
from smsworker.store.status import StatusBook
from smsworker.strict_json import is_text
from smsworker.task import encode_task

# How far ahead a task may be scheduled; further is taken for a mistake (a date in milliseconds).
SEND_AT_MAX_AHEAD_S = 366 * 24 * 3600


@click.command()
@common_options
@click.option("--template-id", required=True, help="Template id; digits are sent as a number.")
@click.option("--mobile", "mobiles", multiple=True, required=True, help="Recipient; repeatable.")
@click.option("--content", required=True, help="Message text.")
@click.option("--params", help='Template variables as a JSON object, e.g. \'{"code": "1234"}\'.')
@click.option("--id", "task_id", help="Idempotency key: recipients already sent under it are not sent again.")
@click.option(
    "--lane",
    help="The lane to send it in (a [lanes.<name>] table of the settings); without one the worker "
    "picks by template_id, else the default lane.",
)
@click.option(
    "--send-at",
    "send_at",
    metavar="WHEN",
    help="Send it then, not now: unix seconds (1767225600) or RFC 3339 with an offset "
    "(2026-01-01T08:00:00+08:00); at most 366 days ahead. Until then it waits in the schedule "
    "('smsworker status --id' shows it scheduled).",
)
@click.option(
    "--campaign",
    help="Count it in this campaign (1-64 characters): 'smsworker campaign show|pause|cancel NAME'.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Queue the task even with a --mobile that is not a phone number (it is dead-lettered as "
    "invalid_mobile); a warning says which.",
)
def enqueue(
    template_id: str,
    mobiles: tuple[str, ...],
    content: str,
    params: str | None,
    task_id: str | None,
    lane: str | None,
    send_at: str | None,
    campaign: str | None,
    force: bool,
    **flags: Any,
) -> None:
    """Push one task in exactly the format PHP producers use (LPUSH onto the queue).

    What the worker would dead-letter is refused: a bad --params, an empty --content, a --mobile
    that is not a phone number (unless --force), a --send-at that is not a time or is more than
    366 days ahead. A --send-at in the past means now.
    """
    settings = settings_from(flags)
    _check_text(
        ("--template-id", template_id), ("--content", content), ("--id", task_id), ("--params", params)
    )
    _check_text(*(("--mobile", m) for m in mobiles))
    _check_text(("--lane", lane), ("--send-at", send_at), ("--campaign", campaign))
    data = _task_fields(template_id, mobiles, content, params, task_id)
    due = _traffic_fields(data, settings, lane, send_at, campaign)
    try:
        payload = encode_task(data)
        task = build_parser(settings).parse(payload)
    except InvalidTask as exc:
        raise SettingError(f"the worker would dead-letter this task ({exc.reason}): {exc.error}") from None
    except (ValueError, RecursionError) as exc:  # e.g. "\ud800" in --params: not text
        raise SettingError(f"invalid --params: cannot be encoded as a task: {exc}") from None
    if task.invalid_mobiles:
        _not_numbers(task.invalid_mobiles, settings, force)
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
    if due is not None:
        click.echo(
            say(
                f"to be sent at {local_text(due)}: workers hold it in the schedule until then",
                f"将于 {local_text(due)} 发送：在此之前 worker 把它放在定时队列中",
            )
        )


def _traffic_fields(
    data: dict[str, Any], settings: Settings, lane: str | None, send_at: str | None, campaign: str | None
) -> float | None:
    """Add ``lane``, ``send_at`` and ``campaign`` to the task, each checked as the worker would; when
    it is due, if later than now."""
    if lane is not None:
        data["lane"] = lane_name(settings, lane)
    if campaign is not None:
        data["campaign"] = campaign_name(campaign)
    if send_at is None:
        return None
    due = send_at_seconds(send_at, time.time())
    data["send_at"] = int(due) if due == int(due) else due
    return due if due > time.time() else None


def send_at_seconds(text: str, now: float) -> float:
    """``--send-at`` as unix seconds: a number of them, or an RFC 3339 time with its offset. Refused
    (one line saying what is expected) when unreadable or more than 366 days after ``now``: the
    worker would dead-letter the task as invalid_task."""
    written = text.strip()
    try:
        due = float(written)
    except ValueError:
        due = _rfc3339(written)
    if not math.isfinite(due) or due < 0:
        raise SettingError(
            say(
                f"invalid --send-at {text!r}: not a time (unix seconds, or RFC 3339 such as "
                "2026-01-01T08:00:00+08:00)",
                f"--send-at {text!r} 无效：不是时间（unix 秒数，或 RFC 3339，如 2026-01-01T08:00:00+08:00）",
            )
        )
    if due > now + SEND_AT_MAX_AHEAD_S:
        raise SettingError(
            say(
                f"invalid --send-at {text!r}: more than 366 days ahead ({local_text(due)}); the worker "
                "would dead-letter the task as invalid_task",
                f"--send-at {text!r} 无效：超过 366 天之后（{local_text(due)}），worker 会把任务作为 "
                "invalid_task 放进死信队列",
            )
        )
    return round(due, 3)


def _rfc3339(text: str) -> float:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return math.nan
    if when.tzinfo is None:
        raise SettingError(
            say(
                f"invalid --send-at {text!r}: no offset; write it with one (Z, +08:00) so that it "
                "means the same moment on every machine",
                f"--send-at {text!r} 无效：没有时区偏移；请带上偏移（Z、+08:00），"
                "使它在每台机器上都是同一时刻",
            )
        )
    return when.timestamp()


def _not_numbers(invalid: tuple[str, ...], settings: Settings, force: bool) -> None:
    """Refuse numbers the worker's parser did not take (what it would dead-letter as
    ``invalid_mobile``), or, with --force, warn and go on."""
    shown = ", ".join(repr(m) for m in invalid)
    region = settings.default_region
    if not force:
        raise SettingError(
            say(
                f"invalid --mobile {shown}: not a phone number (one without +country code is read in "
                f"default_region {region}); the worker would dead-letter it as invalid_mobile. "
                "Correct it, or add --force to queue it anyway",
                f"--mobile {shown} 无效：不是手机号（不带 +国家码 的号码按 default_region {region} 解析），"
                "worker 会把它作为 invalid_mobile 放进死信队列。请改正号码，或加 --force 照样入队",
            )
        )
    click.echo(
        say(
            f"warning: queued with --force: {shown} is not a phone number in default_region {region}; "
            "the worker will dead-letter it as invalid_mobile",
            f"警告：已按 --force 入队，但 {shown} 按 default_region {region} 不是手机号，"
            "worker 会把它作为 invalid_mobile 放进死信队列",
        ),
        err=True,
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
