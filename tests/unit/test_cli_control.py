"""``pause``, ``resume``, ``cancel``, ``campaign ...`` and the traffic-control parts of ``enqueue``,
``status`` and ``stats``, through click's CliRunner on fakeredis: what each writes and prints, in English
and in Chinese."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from smsworker.cli import cli
from smsworker.receipts import state_json
from smsworker.store.control import TrafficControl
from smsworker.store.queue import RedisQueue

ENGLISH: dict[str, str | None] = {
    "LC_ALL": None,
    "LC_MESSAGES": None,
    "LANG": "C.UTF-8",
    "TZ": "Asia/Shanghai",
}
CHINESE: dict[str, str | None] = {**ENGLISH, "LANG": "zh_CN.UTF-8"}
TASK = ("--template-id", "1", "--mobile", "13800138000", "--content", "x")


@pytest.fixture(autouse=True)
def local_time_in_beijing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time is UTC+8 (a POSIX zone: no tz database needed), then as it was."""
    monkeypatch.setenv("TZ", "CST-8")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def run(queue: RedisQueue, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Run ``smsworker ARGS`` with every command's queue on fakeredis, and the lanes otp and bulk."""
    for module in ("control_commands", "stats_command", "status_command", "enqueue_command"):
        monkeypatch.setattr(f"smsworker.cli.{module}.open_queue", lambda settings: queue)
    config = tmp_path / "smsworker.toml"
    config.write_text("[lanes.otp]\ntemplates = [1]\n[lanes.bulk]\ntemplates = [2]\n", "utf-8")

    def invoke(*args: str, chinese: bool = False, input: str | None = None) -> Result:
        env = {**(CHINESE if chinese else ENGLISH), "SMSWORKER_CONFIG": str(config)}
        return CliRunner().invoke(cli, list(args), env=env, input=input)

    return invoke


@pytest.fixture
def control(queue: RedisQueue) -> TrafficControl:
    return TrafficControl.of(queue)


def test_pause_and_resume_everything_a_lane_or_a_provider(run: Any, control: TrafficControl) -> None:
    paused = run("pause")
    assert paused.exit_code == 0, paused.output
    assert paused.stdout.startswith("paused everything on sms_queue: no new send starts")
    assert run("pause", "--lane", "otp").stdout.startswith("paused lane otp on sms_queue")
    assert run("pause", "--provider", "aliyun").stdout.startswith("paused provider aliyun on sms_queue")
    assert [p.scope for p in control.paused()] == ["all", "lane:otp", "provider:aliyun"]
    assert control.paused()[0].by.startswith("cli ") and "@" in control.paused()[0].by
    again = run("pause", "--lane", "otp").stdout
    assert again.startswith("lane otp was paused already (since ") and ", by cli " in again
    resumed = run("resume", "--lane", "otp")
    assert resumed.stdout == "resumed lane otp on sms_queue\n"
    assert resumed.stderr == "still paused: all, provider:aliyun\n"
    assert run("resume", "--lane", "otp").stdout == "lane otp was not paused\n"
    assert run("resume", chinese=True).stdout == "已恢复 sms_queue 的全部发送\n"


def test_pause_refuses_a_bad_name_or_two_scopes_at_once(run: Any, control: TrafficControl) -> None:
    bad = run("pause", "--lane", "OTP")
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: --lane: invalid lane name 'OTP': lowercase")
    unknown = run("pause", "--provider", "alyun")
    assert (
        unknown.exit_code == 2
        and "not a provider (one of aliyun, http, log, tencent, twilio)" in unknown.stderr
    )
    both = run("pause", "--lane", "otp", "--provider", "aliyun")
    assert both.exit_code == 2 and "not both" in both.stderr
    assert control.paused() == []


def test_pause_checks_the_lane_against_the_declared_ones(
    run: Any, control: TrafficControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("smsworker.cli.control_commands.declared_lanes", lambda settings: ["default", "otp"])
    refused = run("pause", "--lane", "bulk")
    assert refused.exit_code == 2
    assert "not a declared lane (the settings declare default, otp)" in refused.stderr
    assert "不是已声明的通道" in run("pause", "--lane", "bulk", chinese=True).stderr
    assert run("pause", "--lane", "default").exit_code == 0
    assert [p.scope for p in control.paused()] == ["lane:default"]


def test_cancel_says_what_will_not_be_sent_and_what_was_sent(
    run: Any, queue: RedisQueue, control: TrafficControl
) -> None:
    status = queue.keys.status("order-1")
    queue.client.hset(
        status,
        mapping={
            "13800138000": state_json("queued", 1.0),
            "+8613800138001": state_json("sent", 2.0),
            "+8613800138002": state_json("dead", 3.0),
        },
    )
    first = run("cancel", "--id", "order-1")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "cancelled task 'order-1' on sms_queue",
        "not to be sent (1 recipient): 13800138000",
        "sent already, cannot be called back (1 recipient): +8613800138001",
        "dead-lettered already (1 recipient; a dlq replay would send them): +8613800138002",
    ]
    second = run("cancel", "--id", "order-1", chinese=True).stdout.splitlines()
    assert second[0] == "任务 'order-1' 此前已取消"
    assert second[1:3] == [
        "不会发送（1 个收件人）：13800138000",
        "已发送，无法撤回（1 个收件人）：+8613800138001",
    ]
    shown = run("status", "--id", "order-1").stdout
    assert "13800138000      cancelled " in shown


def test_cancel_of_an_unknown_task_says_it_is_still_cancelled(run: Any, queue: RedisQueue) -> None:
    shown = run("cancel", "--id", "later").stdout.splitlines()
    assert shown[0] == "cancelled task 'later' on sms_queue"
    assert shown[1].startswith("no recipient of it is known yet")
    assert queue.client.exists(queue.keys.cancel_id("later"))


def test_a_long_list_of_numbers_is_cut_and_counted(run: Any, queue: RedisQueue) -> None:
    queued = state_json("queued", 1.0)
    queue.client.hset(queue.keys.status("big"), mapping={f"+86138001380{n:02d}": queued for n in range(25)})
    line = run("cancel", "--id", "big").stdout.splitlines()[1]
    assert line.startswith("not to be sent (25 recipients): +8613800138000, ")
    assert line.count(",") == 19 and line.endswith(" and 5 more")


def campaign_counts(queue: RedisQueue, name: str, **counters: int) -> None:
    queue.client.hset(queue.keys.campaign(name), mapping={k: v for k, v in counters.items()})
    queue.client.zadd(queue.keys.campaigns, {name: time.time()})


def test_campaign_list_and_show_in_text_and_json(
    run: Any, queue: RedisQueue, control: TrafficControl
) -> None:
    assert run("campaign", "list").stdout == "no campaign on sms_queue yet\n"
    assert json.loads(run("campaign", "list", "--json").stdout) == []
    campaign_counts(queue, "spring", tasks=4, sent=390, delivered=370, undelivered=5, dead=10, segments=400)
    control.pause("campaign:spring", "me")
    listed = run("campaign", "list").stdout.splitlines()
    columns = "name state tasks sent delivered undelivered dead cancelled scheduled last write"
    assert listed[0].split() == columns.split()
    assert listed[1].split()[:9] == ["spring", "paused", "4", "390", "370", "5", "10", "0", "0"]
    assert listed[1].endswith("+0800")  # local time (UTC+8)
    [entry] = json.loads(run("campaign", "list", "--json").stdout)
    assert entry["name"] == "spring" and entry["state"] == "paused" and entry["segments"] == 400
    shown = run("campaign", "show", "spring").stdout
    assert shown.startswith("campaign spring\n  state         paused\n  tasks         4\n")
    assert "  已送达" in run("campaign", "show", "spring", chinese=True).stdout
    assert json.loads(run("campaign", "show", "spring", "--json").stdout)["delivered"] == 370
    unknown = run("campaign", "show", "never")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("nothing known of campaign 'never'")


def test_campaign_pause_resume_and_cancel(run: Any, queue: RedisQueue, control: TrafficControl) -> None:
    assert run("campaign", "pause", "spring").stdout.startswith("paused campaign 'spring'")
    assert run("campaign", "pause", "spring").stdout == "campaign 'spring' was paused already\n"
    queue.client.lpush(queue.keys.parked("spring"), b"bulk\nt-1")
    assert run("campaign", "resume", "spring").stdout == "resumed campaign 'spring'\n"
    assert queue.client.lrange(queue.keys.lane("bulk"), 0, -1) == [b"t-1"]
    assert run("campaign", "resume", "spring").stdout == "campaign 'spring' was not paused\n"

    campaign_counts(queue, "spring", tasks=2, sent=10)
    refused = run("campaign", "cancel", "spring", input="n\n")
    assert refused.exit_code == 1 and "Cancel campaign 'spring' (2 tasks so far, 10 sent)?" in refused.stdout
    assert not queue.client.exists(queue.keys.cancel_campaign("spring"))
    asked = run("campaign", "cancel", "spring", input="y\n", chinese=True)
    assert asked.exit_code == 0 and "已取消 sms_queue 上的活动 'spring'" in asked.stdout
    assert run("campaign", "cancel", "spring", "--yes").stdout == "campaign 'spring' was cancelled already\n"
    assert json.loads(run("campaign", "show", "spring", "--json").stdout)["state"] == "cancelled"
    bad = run("campaign", "pause", "a\tb")
    assert bad.exit_code == 2 and "invalid campaign name" in bad.stderr


def test_enqueue_adds_the_lane_the_time_and_the_campaign(run: Any, queue: RedisQueue) -> None:
    due = int(time.time()) + 3600
    queued = run("enqueue", *TASK, "--lane", "otp", "--send-at", str(due), "--campaign", "spring")
    assert queued.exit_code == 0, queued.output
    local = datetime.fromtimestamp(due).strftime("%Y-%m-%d %H:%M:%S +0800")
    assert f"to be sent at {local}: workers hold it" in queued.stdout
    [raw] = queue.client.lrange(queue.keys.queue, 0, -1)
    task = json.loads(raw)
    assert (task["lane"], task["send_at"], task["campaign"]) == ("otp", due, "spring")

    run("enqueue", *TASK, "--send-at", "2026-01-01T08:00:00+08:00")
    assert json.loads(queue.client.lindex(queue.keys.queue, 0) or b"")["send_at"] == 1767225600


@pytest.mark.parametrize(
    ("when", "said"),
    [
        ("tomorrow", "not a time"),
        ("nan", "not a time"),
        ("inf", "not a time"),
        ("-5", "not a time"),
        ("2026-01-01T08:00:00", "no offset"),
        ("4102444800", "more than 366 days ahead"),  # 2100-01-01
        ("1767225600000", "more than 366 days ahead"),  # milliseconds
    ],
)
def test_enqueue_refuses_a_send_at_the_worker_would_dead_letter(
    run: Any, queue: RedisQueue, when: str, said: str
) -> None:
    refused = run("enqueue", *TASK, "--send-at", when)
    assert refused.exit_code == 2 and refused.stderr.startswith(f"Error: invalid --send-at {when!r}: {said}")
    assert "\n" not in refused.stderr.rstrip("\n")
    assert queue.length() == 0


def test_enqueue_refuses_a_bad_lane_or_campaign(run: Any, queue: RedisQueue) -> None:
    assert run("enqueue", *TASK, "--lane", "Big Lane").exit_code == 2
    assert run("enqueue", *TASK, "--campaign", "x" * 65).exit_code == 2
    assert queue.length() == 0


def test_status_shows_until_in_local_time_and_cancelled(run: Any, queue: RedisQueue) -> None:
    queue.client.hset(
        queue.keys.status("later"),
        mapping={
            "+8613800138000": state_json("scheduled", 1.0, until=1767225600),
            "+8613800138001": state_json("deferred", 1.0, until=1767225600.5),
            "+8613800138002": state_json("cancelled", 1.0),
        },
    )
    lines = run("status", "--id", "later").stdout.splitlines()
    assert lines[0].startswith("+8613800138000   scheduled  1970-01-01T00:00:01Z")
    assert lines[0].endswith("until=2026-01-01 08:00:00 +0800")
    assert lines[1].endswith("until=2026-01-01 08:00:00 +0800") and "deferred" in lines[1]
    assert lines[2].split()[1] == "cancelled"


def test_stats_shows_scheduled_cancelled_and_paused(
    run: Any, queue: RedisQueue, control: TrafficControl
) -> None:
    figures = json.loads(run("stats", "--json").stdout)
    assert (figures["scheduled"], figures["cancelled_total"], figures["paused"]) == (0, 0, [])
    assert "paused            -\n" in run("stats").stdout
    queue.client.zadd(queue.keys.scheduled, {"0123456789abcdef\n\n\n1\n{}": 9e9})
    queue.client.hincrby(queue.keys.stats, "cancelled", 3)
    control.pause("lane:otp", "me")
    control.pause("all", "me")
    figures = json.loads(run("stats", "--json").stdout)
    assert (figures["scheduled"], figures["cancelled_total"], figures["paused"]) == (
        1,
        3,
        ["all", "lane:otp"],
    )
    shown = run("stats").stdout
    assert "scheduled         1\n" in shown and "paused            all, lane:otp\n" in shown
    watched = run("stats", "--watch", "--count", "1").stdout
    assert "scheduled 1  cancelled 3  paused all, lane:otp" in watched
