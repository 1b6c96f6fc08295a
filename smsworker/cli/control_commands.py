"""``smsworker pause|resume|cancel`` and ``smsworker campaign list|show|pause|resume|cancel``: traffic
control, through ``store/control.py`` as the dashboard reaches it. What they print is in the reader's
language."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click

from smsworker.app import open_queue
from smsworker.cli.errors import SettingError, friendly_errors
from smsworker.cli.options import common_options, plural, settings_from
from smsworker.config.lanes import DEFAULT_LANE, lane_order
from smsworker.config.settings import Settings
from smsworker.language import Text, say
from smsworker.providers.registry import FACTORIES
from smsworker.receipts import is_time
from smsworker.store.control import CampaignCounts, Pause, TrafficControl, check_name

# Numbers shown at most in a line of them; the rest are counted.
SHOWN_NUMBERS = 20


def local_text(at: float) -> str:
    """A moment in the reader's local time, with its offset: ``2026-12-03 21:15:00 +0800``."""
    if not is_time(at):
        return "?"
    return datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def operator() -> str:
    """Who a pause or cancel from here is by: ``cli user@host``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry (a container)
        user = "?"
    return f"cli {user}@{socket.gethostname()}"


def open_control(settings: Settings) -> TrafficControl:
    return TrafficControl.of(open_queue(settings), receipt_ttl_s=settings.receipt_ttl)


def declared_lanes(settings: Settings) -> list[str]:
    """The lanes the settings declare, in priority order (``default`` always among them: without
    lanes, the queue itself is the one lane, named so)."""
    return [lane.name for lane in lane_order(settings.lanes)] or [DEFAULT_LANE]


def lane_name(settings: Settings, name: str, hint: str = "--lane") -> str:
    """``name`` as a lane: a valid name, and a declared lane when the settings declare lanes."""
    try:
        check_name("lane", name)
    except ValueError as exc:
        raise SettingError(f"{hint}: {exc}") from None
    lanes = declared_lanes(settings)
    if name not in lanes:
        shown = ", ".join(lanes)
        raise SettingError(
            say(
                f"invalid {hint} {name!r}: not a declared lane (the settings declare {shown})",
                f"{hint} {name!r} 无效：不是已声明的通道（配置中声明的有 {shown}）",
            )
        )
    return name


def campaign_name(name: str) -> str:
    try:
        return check_name("campaign", name)
    except ValueError as exc:
        raise SettingError(str(exc)) from None


def _scope(settings: Settings, lane: str | None, provider: str | None) -> tuple[str, Text]:
    """The scope the flags name, and how to say it."""
    if lane is not None and provider is not None:
        raise click.UsageError("give --lane or --provider (or neither, for everything), not both")
    if lane is not None:
        name = lane_name(settings, lane)
        return f"lane:{name}", Text(f"lane {name}", f"通道 {name}")
    if provider is not None:
        if provider not in FACTORIES:
            known = ", ".join(sorted(FACTORIES))
            raise SettingError(
                say(
                    f"invalid --provider {provider!r}: not a provider (one of {known})",
                    f"--provider {provider!r} 无效：不是服务商（可选 {known}）",
                )
            )
        return f"provider:{provider}", Text(f"provider {provider}", f"服务商 {provider}")
    return "all", Text("everything", "全部发送")


def _either(changed: bool, done: Text, already: Text) -> None:
    """Say what the command did, or that it had been done before: each of them is idempotent."""
    click.echo((done if changed else already).shown())


def _since(pause: Pause | None) -> Text:
    if pause is None:
        return Text("", "")
    by = pause.by or "?"
    return Text(" (since {at}, by {by})", "（自 {at} 起，操作者 {by}）").format(
        at=local_text(pause.at), by=by
    )


scope_options = [
    click.option("--lane", help="Only this lane (a [lanes.<name>] table of the settings, or default)."),
    click.option("--provider", help="Only sends through this provider (aliyun, tencent, ...)."),
]


def _with_scope_options(func: Any) -> Any:
    for option in reversed(scope_options):
        func = option(func)
    return func


@click.command()
@common_options
@_with_scope_options
def pause(lane: str | None, provider: str | None, **flags: Any) -> None:
    """Stop starting new sends: everything, one lane (--lane), or one provider (--provider).

    \b
    Paused work stays queued and nothing is lost: tasks keep arriving, sends in flight finish,
    and every worker starts no new send for what is paused within a quarter of a second.
    'smsworker resume' with the same option ends the pause; 'smsworker stats' shows what is
    paused. The metric smsworker_paused shows it too (alert: SmsPausedForAnHour).
    A campaign is paused with 'smsworker campaign pause NAME'.
    """
    settings = settings_from(flags)
    scope, what = _scope(settings, lane, provider)
    with friendly_errors(settings):
        control = open_control(settings)
        new = control.pause(scope, operator())
        current = {p.scope: p for p in control.paused()}.get(scope)
    _either(
        new,
        Text(
            "paused {what} on {queue}: no new send starts; queued tasks wait for 'smsworker resume'",
            "已暂停 {queue} 的{what}：不再开始新的发送；排队的任务等待 'smsworker resume'",
        ).format(what=what, queue=settings.queue),
        (Text("{what} was paused already", "{what}此前已暂停").format(what=what) + _since(current)),
    )


@click.command()
@common_options
@_with_scope_options
def resume(lane: str | None, provider: str | None, **flags: Any) -> None:
    """End a pause: of everything (no option), of one lane (--lane), or of one provider (--provider).

    Give the option the pause was made with: resuming a lane does not end a pause of everything.
    """
    settings = settings_from(flags)
    scope, what = _scope(settings, lane, provider)
    with friendly_errors(settings):
        control = open_control(settings)
        ended = control.resume(scope)
        left = control.paused()
    _either(
        ended,
        Text("resumed {what} on {queue}", "已恢复 {queue} 的{what}").format(what=what, queue=settings.queue),
        Text("{what} was not paused", "{what}并未暂停").format(what=what),
    )
    if left:
        scopes = ", ".join(p.scope for p in left)
        click.echo(say(f"still paused: {scopes}", f"仍在暂停：{scopes}"), err=True)


@click.command()
@common_options
@click.option(
    "--id", "task_id", required=True, help="The id the task was pushed with (enqueue --id, pushWithId)."
)
def cancel(task_id: str, **flags: Any) -> None:
    """Cancel a task pushed with an id: its recipients not yet sent are not sent.

    \b
    Says which recipients will not be sent and which were sent already (a sent SMS cannot be
    called back). Workers end the task's remaining recipients as 'cancelled' when they reach it,
    wherever it waits (queue, lane, schedule); 'smsworker status --id ID' shows each one.
    The cancel is kept for the workers' --receipt-ttl; cancelling again changes nothing.
    A whole campaign is cancelled with 'smsworker campaign cancel NAME'.
    """
    settings = settings_from(flags)
    if not task_id:
        raise SettingError(say("invalid --id '': it is empty", "--id '' 无效：为空"))
    with friendly_errors(settings):
        report = open_control(settings).cancel_task(task_id, operator())
    _either(
        report.cancelled,
        Text(
            f"cancelled task {task_id!r} on {settings.queue}",
            f"已取消 {settings.queue} 上的任务 {task_id!r}",
        ),
        Text(f"task {task_id!r} was cancelled already", f"任务 {task_id!r} 此前已取消"),
    )
    for numbers, en, zh in (
        (report.pending, "not to be sent ({n})", "不会发送（{count} 个收件人）"),
        (report.sent, "sent already, cannot be called back ({n})", "已发送，无法撤回（{count} 个收件人）"),
        (
            report.dead,
            "dead-lettered already ({n}; a dlq replay would send them)",
            "已进入死信队列（{count} 个收件人；dlq replay 会重新发送）",
        ),
    ):
        if numbers:
            said = Text(en + ": ", zh + "：").format(n=plural(len(numbers), "recipient"), count=len(numbers))
            click.echo(said.shown() + _numbers(numbers))
    if not (report.pending or report.sent or report.dead):
        click.echo(
            say(
                "no recipient of it is known yet (pushed without a status, or not pushed yet): workers end "
                f"it cancelled if it comes within --receipt-ttl ({settings.receipt_ttl} s)",
                "尚不知道它的任何收件人（推送时没有状态，或尚未推送）：若它在 --receipt-ttl"
                f"（{settings.receipt_ttl} 秒）内到来，worker 会将其结束为已取消",
            )
        )


def _numbers(numbers: Sequence[str]) -> str:
    shown = ", ".join(numbers[:SHOWN_NUMBERS])
    more = len(numbers) - SHOWN_NUMBERS
    return shown + (say(f" and {more} more", f" 等，另有 {more} 个") if more > 0 else "")


@click.group()
def campaign() -> None:
    """Campaigns: tasks pushed with a "campaign" field (enqueue --campaign NAME).

    \b
    list            every campaign of the workers' last --receipt-ttl, the most recent first
    show NAME       one campaign's counts: tasks, sent, delivered, dead, cancelled, scheduled
    pause NAME      its tasks wait (set aside as workers reach them) until 'campaign resume'
    resume NAME     its set-aside tasks go back to the front of their lanes
    cancel NAME     its recipients not yet sent are not sent (asks first; --yes does not)
    """


def _state(counts: CampaignCounts) -> Text:
    if counts.cancelled_at is not None:
        return Text("cancelled", "已取消")
    return Text("paused", "已暂停") if counts.paused else Text("running", "进行中")


def _as_json(counts: CampaignCounts) -> dict[str, Any]:
    return {**asdict(counts), "state": _state(counts).en}


@campaign.command("list")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object a campaign.")
def campaign_list(as_json: bool, **flags: Any) -> None:
    """Every campaign written to within the workers' --receipt-ttl, the most recent first, with its
    counts."""
    settings = settings_from(flags)
    with friendly_errors(settings):
        found = open_control(settings).campaigns()
    if as_json:
        click.echo(json.dumps([_as_json(c) for c in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(say(f"no campaign on {settings.queue} yet", f"{settings.queue} 上还没有活动"))
        return
    # Column names are the JSON's field names, in either language, as 'stats' prints its figures.
    click.echo(_ROW.format("name", "state", *COLUMNS, "last write"))
    for c in found:
        figures = (getattr(c, column) for column in COLUMNS)
        click.echo(_ROW.format(c.name, _state(c).shown(), *figures, local_text(c.last_at)))


COLUMNS = ("tasks", "sent", "delivered", "undelivered", "dead", "cancelled", "scheduled")
_ROW = "{:<20} {:<10} {:>6} {:>7} {:>9} {:>11} {:>6} {:>9} {:>9}  {}"


@campaign.command("show")
@common_options
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def campaign_show(name: str, as_json: bool, **flags: Any) -> None:
    """One campaign's counts and state. Exits 1 when nothing is known of it."""
    settings = settings_from(flags)
    campaign_name(name)
    with friendly_errors(settings):
        counts = open_control(settings).campaign(name)
    if counts is None:
        click.echo(
            say(
                f"nothing known of campaign {name!r} on {settings.queue} "
                "(kept --receipt-ttl after its last write)",
                f"{settings.queue} 上没有活动 {name!r} 的记录（最后写入后保留 --receipt-ttl）",
            ),
            err=True,
        )
        raise SystemExit(1)
    if as_json:
        click.echo(json.dumps(_as_json(counts), ensure_ascii=False, indent=2))
        return
    rows = [
        (Text("state", "状态"), _state(counts).shown()),
        (Text("tasks", "任务"), counts.tasks),
        (Text("sent", "已发送"), counts.sent),
        (Text("delivered", "已送达"), counts.delivered),
        (Text("undelivered", "未送达"), counts.undelivered),
        (Text("dead", "死信"), counts.dead),
        (Text("cancelled", "已取消"), counts.cancelled),
        (Text("scheduled", "定时等待"), counts.scheduled),
        (Text("segments", "短信条数"), counts.segments),
        (Text("last write", "最后写入"), local_text(counts.last_at) if counts.last_at else "-"),
    ]
    if counts.cancelled_at is not None:
        rows.append((Text("cancelled at", "取消时间"), local_text(counts.cancelled_at)))
    click.echo(say(f"campaign {name}", f"活动 {name}"))
    for label, value in rows:
        click.echo(f"  {label.shown():<14}{value}")


@campaign.command("pause")
@common_options
@click.argument("name")
def campaign_pause(name: str, **flags: Any) -> None:
    """Hold a campaign's tasks: workers set them aside as they reach them, other traffic goes on.
    'smsworker campaign resume NAME' puts them back at the front of their lanes."""
    settings = settings_from(flags)
    campaign_name(name)
    with friendly_errors(settings):
        new = open_control(settings).pause(f"campaign:{name}", operator())
    _either(
        new,
        Text(
            f"paused campaign {name!r}: its tasks wait for 'smsworker campaign resume {name}'",
            f"已暂停活动 {name!r}：其任务等待 'smsworker campaign resume {name}'",
        ),
        Text(f"campaign {name!r} was paused already", f"活动 {name!r} 此前已暂停"),
    )


@campaign.command("resume")
@common_options
@click.argument("name")
def campaign_resume(name: str, **flags: Any) -> None:
    """End a campaign's pause: the tasks set aside go back to the front of their lanes, once."""
    settings = settings_from(flags)
    campaign_name(name)
    with friendly_errors(settings):
        ended = open_control(settings).resume(f"campaign:{name}")
    _either(
        ended,
        Text(f"resumed campaign {name!r}", f"已恢复活动 {name!r}"),
        Text(f"campaign {name!r} was not paused", f"活动 {name!r} 并未暂停"),
    )


@campaign.command("cancel")
@common_options
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def campaign_cancel(name: str, yes: bool, **flags: Any) -> None:
    """Cancel a campaign: its recipients not yet sent are not sent (sent ones cannot be called
    back). Workers end its tasks as 'cancelled' as they reach them, including the ones it has
    waiting in the schedule and the ones its pause set aside. Kept for the workers' --receipt-ttl;
    cannot be undone."""
    settings = settings_from(flags)
    campaign_name(name)
    with friendly_errors(settings):
        control = open_control(settings)
        counts = control.campaign(name)
    if not yes:
        known = (
            say(
                f" ({plural(counts.tasks, 'task')} so far, {counts.sent} sent)",
                f"（目前 {counts.tasks} 个任务，已发送 {counts.sent}）",
            )
            if counts is not None
            else ""
        )
        click.confirm(
            say(
                f"Cancel campaign {name!r}{known}? Its recipients not yet sent will not be",
                f"取消活动 {name!r}{known}？其尚未发送的收件人将不再发送",
            ),
            abort=True,
        )
    with friendly_errors(settings):
        new = control.cancel_campaign(name, operator())
    _either(
        new,
        Text(
            f"cancelled campaign {name!r} on {settings.queue}",
            f"已取消 {settings.queue} 上的活动 {name!r}",
        ),
        Text(f"campaign {name!r} was cancelled already", f"活动 {name!r} 此前已取消"),
    )
