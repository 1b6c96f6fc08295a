"""``stats`` through click's CliRunner, on fakeredis: what each prints, in
English and in Chinese. The same commands against a real redis-server, and ``stats --watch`` through
a Redis restart, are in tests/integration/test_cli.py."""

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
    for module in ("stats_command",):
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
