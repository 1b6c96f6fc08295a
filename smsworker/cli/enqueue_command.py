"""``smsworker enqueue``: push one task as a PHP producer would, refused when the worker would refuse it."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import json
from typing import Any

import click

from smsworker.app import build_parser, open_queue
from smsworker.cli.errors import SettingError, friendly_errors
from smsworker.cli.options import common_options, plural, settings_from
from smsworker.config.settings import Settings
from smsworker.errors import InvalidTask
from smsworker.language import say
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
    force: bool,
    **flags: Any,
) -> None:
    """Push one task in exactly the format PHP producers use (LPUSH onto the queue).

    What the worker would dead-letter is refused: a bad --params, an empty --content, a --mobile
    that is not a phone number (unless --force).
    """
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
