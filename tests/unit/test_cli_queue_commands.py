"""``stats``, ``dlq`` and ``enqueue`` through click's CliRunner, on fakeredis: what each prints, in
English and in Chinese. The same commands against a real redis-server, and ``stats --watch`` through
a Redis restart, are in tests/integration/test_cli.py."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from smsworker.cli import cli
from smsworker.store.queue import RedisQueue
from tests.support.dashboard import dead_letter

ENGLISH: dict[str, str | None] = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": "C.UTF-8"}
CHINESE: dict[str, str | None] = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": "zh_CN.UTF-8"}
SEED = b'{"template_id":123,"mobiles":["13800138000","13800138001"],"content":"Test SMS"}'


@pytest.fixture
def run(queue: RedisQueue, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``smsworker ARGS`` with every command's queue on fakeredis."""
    for module in ("stats_command", "dlq_commands", "enqueue_command"):
        monkeypatch.setattr(f"smsworker.cli.{module}.open_queue", lambda settings: queue)

    def invoke(*args: str, chinese: bool = False, input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, list(args), env=CHINESE if chinese else ENGLISH, input=input)

    return invoke


def test_stats_shows_how_long_the_oldest_task_has_waited(run: Any, queue: RedisQueue) -> None:
    queue.push(SEED)
    queue.oldest_age_s(now=1000.0)  # a reader saw it at the head then
    figures = json.loads(run("stats", "--json").stdout)
    assert figures["queue"] == 1 and figures["oldest_age_s"] > 0  # seconds since t=1000
    assert "oldest_age_s      " in run("stats").stdout
    queue.client.delete(queue.keys.queue)
    assert json.loads(run("stats", "--json").stdout)["oldest_age_s"] is None  # nothing waits


def test_stats_watch_json_prints_one_object_a_refresh(run: Any, queue: RedisQueue) -> None:
    queue.push(SEED)
    result = run("stats", "--watch", "--json", "--count", "3", "--interval", "0.1")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert all(line["queue"] == 1 and "oldest_age_s" in line for line in lines)
    assert lines[0]["sent_per_s"] is None and lines[2]["sent_per_s"] == 0.0  # a rate needs two


def test_stats_watch_shows_more_than_the_sent_rate(run: Any, queue: RedisQueue) -> None:
    queue.push(SEED)
    dead_letter(queue, "13800138000")
    shown = run("stats", "--watch", "--count", "2", "--interval", "0.1").stdout.splitlines()
    assert shown[0].startswith("queued 1  in flight 0  dead letters 1  workers 0  oldest ")
    assert "sent 0 (-)  failed 0 (-)" in shown[0] and "sent 0 (0.0/s)  failed 0 (0.0/s)" in shown[1]


def test_dlq_list_says_how_many_of_how_many(run: Any, queue: RedisQueue) -> None:
    for n in range(25):
        dead_letter(queue, f"138001380{n:02d}")
    listed = run("dlq", "list")
    assert listed.stdout.count("provider_rejected  1 recipient") == 20
    assert listed.stdout.endswith("showing 20 of 25 entries of {sms_queue}:dead, newest first\n")
    as_json = run("dlq", "list", "--json", "--limit", "2")
    assert [e["failed_mobiles"] for e in json.loads(as_json.stdout)] == [["13800138024"], ["13800138023"]]
    assert as_json.stderr == "showing 2 of 25 entries of {sms_queue}:dead, newest first\n"


def test_dlq_list_filters_as_the_dashboard_does(run: Any, queue: RedisQueue) -> None:
    dead_letter(queue, "13800138000")
    dead_letter(queue, "13900139000", reason="retries_exhausted")
    dead_letter(queue, "+86 139-0013-8000")
    by_reason = json.loads(run("dlq", "list", "--json", "--reason", "retries_exhausted").stdout)
    assert [e["failed_mobiles"] for e in by_reason] == [["13900139000"]]
    # A number by its digits, whole or its ending, however it was written.
    by_number = run("dlq", "list", "--mobile", "138-0013-8000")
    assert "1 recipient: 13800138000" in by_number.stdout and "139-0013" not in by_number.stdout
    assert by_number.stdout.endswith("showing 1 of 1 matching entry (3 in {sms_queue}:dead), newest first\n")
    ending = json.loads(run("dlq", "list", "--json", "--mobile", "8000").stdout)
    assert [e["failed_mobiles"] for e in ending] == [["+86 139-0013-8000"], ["13800138000"]]
    both = run("dlq", "list", "--json", "--mobile", "9000", "--reason", "retries_exhausted")
    assert len(json.loads(both.stdout)) == 1
    none = run("dlq", "list", "--mobile", "4444")
    assert none.stdout == "no entry of {sms_queue}:dead matches (3 entries in all)\n"
    bad = run("dlq", "list", "--mobile", "abc")
    assert bad.exit_code == 2 and "--mobile 'abc'" in bad.stderr


def test_dlq_list_json_of_nothing_is_an_empty_array(run: Any, queue: RedisQueue) -> None:
    empty = run("dlq", "list", "--json")
    assert empty.exit_code == 0 and json.loads(empty.stdout) == []
    assert empty.stderr == "{sms_queue}:dead is empty\n"
    dead_letter(queue, "13800138000")
    assert json.loads(run("dlq", "list", "--json", "--mobile", "139").stdout) == []


def test_dlq_summaries_in_chinese(run: Any, queue: RedisQueue) -> None:
    dead_letter(queue, "13800138000")
    dead_letter(queue, "13800138001")
    assert run("dlq", "list", chinese=True).stdout.endswith("显示 {sms_queue}:dead 全部 2 条中最新的 2 条\n")
    replayed = run("dlq", "replay", "--limit", "1", chinese=True)
    assert replayed.stdout == "已把 1 个任务（1 个收件人）重新放回 sms_queue\n"
    asked = run("dlq", "purge", chinese=True, input="y\n")
    assert "删除 {sms_queue}:dead 中全部 1 条？" in asked.stdout
    assert asked.stdout.endswith("已从 {sms_queue}:dead 删除 1 条\n")
    assert run("dlq", "purge", chinese=True).stdout == "{sms_queue}:dead 是空的，无需清空\n"


def test_dlq_replay_counts_in_the_right_number(run: Any, queue: RedisQueue) -> None:
    dead_letter(queue, "13800138000")
    assert run("dlq", "replay").stdout == "replayed 1 task (1 recipient) onto sms_queue\n"


def test_enqueue_refuses_a_number_the_worker_would_dead_letter(run: Any, queue: RedisQueue) -> None:
    args = ("enqueue", "--template-id", "1", "--mobile", "13800138000", "--mobile", "12345", "--content", "x")
    refused = run(*args)
    assert refused.exit_code == 2 and queue.length() == 0
    [line] = refused.stderr.splitlines()
    assert line.startswith("Error: invalid --mobile '12345': not a phone number")
    assert "default_region CN" in line and "--force" in line
    chinese = run(*args, chinese=True)
    assert chinese.exit_code == 2 and "--mobile '12345' 无效：不是手机号" in chinese.stderr
    forced = run(*args, "--force")
    assert forced.exit_code == 0 and queue.length() == 1
    assert forced.stderr.startswith("warning: queued with --force: '12345' is not a phone number")
    assert json.loads(queue.client.lindex(queue.keys.queue, 0) or b"")["mobiles"] == ["13800138000", "12345"]
