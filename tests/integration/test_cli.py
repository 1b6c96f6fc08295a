"""The CLI driven as an operator would, against a private redis-server and a loopback webhook."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import redis

from tests.support.commands import cli_env, smsworker_cmd, watched
from tests.support.fake_sms_api import FakeSmsApi, Reply
from tests.support.redis_server import RedisServer, free_port
from tests.support.terminal import screen
from tests.support.waiting import wait_until

Cli = Callable[..., subprocess.CompletedProcess[str]]
SEED = '{"template_id":123,"mobiles":["13800138000","13800138001"],"content":"Test SMS"}'


def test_seed_task_is_sent_through_the_http_provider(
    cli: Cli, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    redis_server.client().lpush("sms_queue", SEED)
    result = cli("drain", "--provider", "http", "--http-url", fake_api.url, "--http-header", "X-Token: abc")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("drained 1 task (2 recipients: 2 sent, 0 dead-lettered) in ")
    assert sorted(fake_api.delivered) == ["+8613800138000", "+8613800138001"]
    assert fake_api.requests[0] == {
        "template_id": 123,
        "mobile": fake_api.requests[0]["mobile"],
        "content": "Test SMS",
    }
    assert fake_api.headers[0]["X-Token"] == "abc"
    summary = [json.loads(line) for line in result.stderr.splitlines() if '"task.settled"' in line]
    assert summary[0]["sent"] == 2


def test_enqueue_writes_the_seed_format(cli: Cli, redis_server: RedisServer) -> None:
    result = cli(
        "enqueue",
        "--template-id",
        "123",
        "--mobile",
        "13800138000",
        "--mobile",
        "13800138001",
        "--content",
        "测试短信",
        "--params",
        '{"code": "1234"}',
        "--id",
        "order-1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "queued 1 task for 2 recipients on sms_queue (queue length 1)\n"
    [raw] = redis_server.client().lrange("sms_queue", 0, -1)
    assert json.loads(raw) == {
        "template_id": 123,
        "mobiles": ["13800138000", "13800138001"],
        "content": "测试短信",
        "params": {"code": "1234"},
        "id": "order-1",
    }


def test_enqueue_refuses_what_the_worker_would_refuse(cli: Cli, redis_server: RedisServer) -> None:
    result = cli("enqueue", "--template-id", "1", "--mobile", "13800138000", "--content", "")
    assert result.returncode == 2
    assert "would dead-letter this task (invalid_task): content is empty" in result.stderr
    bad_json = cli("enqueue", "--template-id", "1", "--mobile", "1", "--content", "x", "--params", "{")
    assert bad_json.returncode == 2 and "--params" in bad_json.stderr
    assert redis_server.client().llen("sms_queue") == 0


def test_dead_letters_can_be_listed_replayed_and_purged(
    cli: Cli, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    r = redis_server.client()
    r.lpush(
        "sms_queue", '{"template_id":1,"mobiles":["13800138000","13800138001"],"content":"x"}', "not json"
    )
    fake_api.script("+8613800138001", Reply(400, body='{"error":"blocked"}'))
    http = ("--provider", "http", "--http-url", fake_api.url)
    assert cli("drain", *http).returncode == 0

    listed = cli("dlq", "list")
    assert listed.returncode == 0
    assert "invalid_json  0 recipients" in listed.stdout
    assert "provider_rejected  1 recipient: 13800138001" in listed.stdout
    assert 'error: HTTP 400: {"error":"blocked"}' in listed.stdout
    as_json = json.loads(cli("dlq", "list", "--json", "--limit", "1").stdout)
    assert as_json == [json.loads(r.lindex("{sms_queue}:dead", 0) or b"")]  # newest first

    replayed = cli("dlq", "replay", "--reason", "provider_rejected")
    assert "replayed 1 task (1 recipient)" in replayed.stdout
    assert json.loads(r.lrange("sms_queue", 0, -1)[0])["mobiles"] == ["13800138001"]
    assert cli("drain", *http).returncode == 0
    assert fake_api.count("+8613800138001") == 1

    left = cli("dlq", "replay")
    assert "replayed 0 tasks" in left.stdout and "left 1 entry without a task to replay" in left.stdout
    refused = cli("dlq", "purge", input="n\n")
    assert refused.returncode == 1 and r.llen("{sms_queue}:dead") == 1
    assert "Delete all 1 entry of {sms_queue}:dead?" in refused.stdout  # says how many it asks about
    purged = cli("dlq", "purge", "--yes")
    assert purged.stdout == "purged 1 entry from {sms_queue}:dead\n"
    assert cli("dlq", "list").stdout == "{sms_queue}:dead is empty\n"
    empty = cli("dlq", "purge")  # no input given: it must not ask
    assert empty.returncode == 0 and empty.stdout == "{sms_queue}:dead is empty: nothing to purge\n"


def test_stats(cli: Cli, redis_server: RedisServer) -> None:
    redis_server.client().lpush("sms_queue", SEED, SEED)
    figures = json.loads(cli("stats", "--json").stdout)
    assert figures["queue"] == 2 and figures["processing"] == 0 and figures["dead"] == 0
    assert figures["workers"] == 0
    text = cli("stats").stdout
    assert "queue             2" in text


def test_options_work_from_flags_env_and_file(cli: Cli, redis_server: RedisServer, tmp_path: Path) -> None:
    config = tmp_path / "smsworker.toml"
    config.write_text('queue = "file_q"\n')
    r = redis_server.client()
    cli("enqueue", "--config", str(config), "--template-id", "1", "--mobile", "13800138000", "--content", "a")
    cli("enqueue", "--template-id", "1", "--mobile", "13800138000", "--content", "b", SMSWORKER_QUEUE="env_q")
    cli(
        "enqueue",
        "--queue",
        "flag_q",
        "--template-id",
        "1",
        "--mobile",
        "13800138000",
        "--content",
        "c",
        SMSWORKER_QUEUE="env_q",
        SMSWORKER_CONFIG=str(config),
    )
    assert (r.llen("file_q"), r.llen("env_q"), r.llen("flag_q")) == (1, 1, 1)


def test_a_bad_value_is_one_line_naming_the_setting(cli: Cli) -> None:
    result = cli("run", "--concurrency", "lots")
    assert result.returncode == 2
    assert result.stderr == "Error: invalid concurrency 'lots' (from --concurrency): must be an integer\n"
    env = cli("drain", SMSWORKER_MAX_ATTEMPTS="-1")
    assert env.stderr.strip() == (
        "Error: invalid max_attempts '-1' (from environment SMSWORKER_MAX_ATTEMPTS): must be at least 1"
    )
    http = cli("check", "--provider", "http")
    assert http.returncode == 2 and "needs http_url" in http.stderr and "Traceback" not in http.stderr


def test_check(cli: Cli) -> None:
    ok = cli("check")
    assert ok.returncode == 0, ok.stderr
    assert "redis ok:" in ok.stdout and "fetch with BLMOVE" in ok.stdout
    down = cli("check", SMSWORKER_REDIS_URL=f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    assert down.returncode == 1
    assert down.stderr.startswith("Error: cannot reach Redis at redis://:***@127.0.0.1:")
    assert "hunter2" not in down.stderr and "Traceback" not in down.stderr


def test_stats_with_redis_down_is_a_clear_error(cli: Cli) -> None:
    result = cli("stats", "--redis-url", f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 1 and "Is redis-server running?" in result.stderr


def test_help_teaches(cli: Cli) -> None:
    for command in (["--help"], ["run", "--help"], ["drain", "--help"], ["dlq", "replay", "--help"]):
        result = cli(*command)
        assert result.returncode == 0, command
    assert "SMSWORKER_REDIS_URL" in cli("run", "--help").stdout
    assert "lPush('sms_queue'" in cli("--help").stdout


def test_brpoplpush_fallback_on_a_real_server(redis_server: RedisServer, redis_url: str) -> None:
    from smsworker.store.queue import RedisQueue

    q = RedisQueue(redis.Redis.from_url(redis_url), "sms_queue", "{sms_queue}:dead", use_blmove=False)
    redis_server.client().lpush("sms_queue", b"a", b"b")
    assert q.claim("w", 1) == b"a"
    assert q.claim("w", 1) == b"b"
    assert q.claim("w", 1) is None


def drain_on_a_terminal(redis_url: str, **env: str) -> tuple[list[str], str]:
    """Run ``drain`` with stderr on a pseudo-terminal: what the terminal shows, and stdout."""
    leader, follower = pty.openpty()
    command = smsworker_cmd("drain")
    process = subprocess.Popen(
        command, env=cli_env(redis_url, **env), stdout=subprocess.PIPE, stderr=follower
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 0, shown
    return screen(shown.decode()), stdout.decode()


def test_drain_shows_a_progress_bar_on_a_terminal(redis_url: str, redis_server: RedisServer) -> None:
    redis_server.client().lpush("sms_queue", *[SEED] * 30)
    shown, stdout = drain_on_a_terminal(redis_url, SMSWORKER_LOG_LEVEL="warning")
    assert any(line.startswith("draining") and "100%" in line for line in shown), shown
    assert stdout.startswith("drained 30 tasks (60 recipients: 60 sent, 0 dead-lettered)")


def test_drain_keeps_the_log_off_the_bar(redis_url: str, redis_server: RedisServer) -> None:
    """At the default level: no line per task while the bar is shown, and a warning on a line of
    its own, never on the bar's."""
    redis_server.client().lpush("sms_queue", *[SEED] * 20, b"not json", *[SEED] * 20)
    shown, stdout = drain_on_a_terminal(redis_url)
    assert not [line for line in shown if "task.settled" in line], shown
    [warning] = [line for line in shown if "task.dead_lettered" in line]
    assert warning.startswith("{") and warning.endswith("}") and "draining" not in warning
    assert shown[-2].startswith("draining") and "100%" in shown[-2] and shown[-1] == ""
    assert stdout.startswith("drained 41 tasks (81 recipients: 80 sent, 1 dead-lettered) in ")


def test_drain_summary_in_chinese(cli: Cli, redis_server: RedisServer) -> None:
    redis_server.client().lpush(
        "sms_queue", SEED, '{"template_id":1,"mobiles":["13800138002","12345"],"content":"x"}'
    )
    result = cli("drain", SMSWORKER_LOG_LEVEL="warning", LC_ALL="", LC_MESSAGES="", LANG="zh_CN.UTF-8")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("共处理 2 个任务（4 个收件人：已发送 3 个，转入死信 1 个），耗时 ")


def test_no_progress_bar_off_a_terminal(cli: Cli, redis_server: RedisServer) -> None:
    redis_server.client().lpush("sms_queue", SEED)
    result = cli("drain", SMSWORKER_LOG_LEVEL="warning")
    assert result.returncode == 0 and "draining" not in result.stderr and result.stderr == ""


def test_stats_watch_refreshes_until_ctrl_c(redis_url: str, redis_server: RedisServer) -> None:
    redis_server.client().lpush("sms_queue", SEED)
    out = Path(redis_server.workdir) / "watch.out"
    command = smsworker_cmd("stats", "--watch", "--interval", "0.1")
    with watched(command, cli_env(redis_url), out) as process:
        wait_until(lambda: out.read_text().count("queued 1") >= 2, what="two refreshes")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    assert "queued 1  in flight 0  dead letters 0  workers 0  oldest " in out.read_text()


def test_stats_watch_json_goes_on_through_a_redis_restart(tmp_path: Path) -> None:
    """A Redis of its own, stopped and started again between refreshes: a line on stderr says it is
    away, the JSON lines go on once it is back, and Ctrl-C exits 0."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    out, err = tmp_path / "watch.out", tmp_path / "watch.err"

    def lines() -> list[dict[str, object]]:
        return [json.loads(line) for line in out.read_text().splitlines()]

    command = smsworker_cmd("stats", "--watch", "--json", "--interval", "0.1")
    try:
        with watched(command, cli_env(server.url), out, err) as process:
            wait_until(lambda: len(lines()) >= 2, what="two refreshes")
            server.stop()
            away = "Redis unreachable, retrying every 0.1 s"
            wait_until(lambda: away in err.read_text(), what="the outage")
            before = len(lines())
            server.start()
            server.client().lpush("sms_queue", SEED)
            wait_until(lambda: any(line["queue"] == 1 for line in lines()[before:]), what="refreshes again")
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=10) == 0
    finally:
        server.stop()
    assert "Redis answers again" in err.read_text()
    assert all(isinstance(line["sent_per_s"], float | None) for line in lines())
    never = subprocess.run(
        smsworker_cmd("stats", "--watch", "--json"),
        env=cli_env(f"redis://127.0.0.1:{free_port()}/0"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert never.returncode == 1 and "cannot reach Redis" in never.stderr and never.stdout == ""


def test_status_shows_what_became_of_each_recipient(
    cli: Cli, fake_api: FakeSmsApi, redis_server: RedisServer
) -> None:
    fake_api.script("+8613800138001", Reply(400, body='{"error": "blocked number"}'))
    pushed = cli(
        "enqueue",
        "--template-id",
        "1",
        "--mobile",
        "13800138000",
        "--mobile",
        "13800138001",
        "--content",
        "x",
        "--id",
        "order-42",
    )
    assert pushed.returncode == 0, pushed.stderr
    queued = cli("status", "--id", "order-42")
    assert (
        queued.returncode == 0 and [line.split()[1] for line in queued.stdout.splitlines()] == ["queued"] * 2
    )
    assert cli("status", "--id", "order-404").returncode == 1  # nothing known
    drained = cli("drain", "--provider", "http", "--http-url", fake_api.url)
    assert drained.returncode == 0, drained.stderr
    shown = cli("status", "--id", "order-42")
    assert shown.returncode == 0, shown.stderr
    sent, dead = shown.stdout.splitlines()
    assert sent.startswith("+8613800138000") and " sent " in sent and "provider=http" in sent
    assert dead.startswith("+8613800138001") and " dead " in dead and "reason=provider_rejected" in dead
    as_json = json.loads(cli("status", "--id", "order-42", "--json").stdout)
    assert as_json["+8613800138001"]["code"] == "400"
    # A state written by hand (another tool, an older version) is shown as it is, never a traceback.
    redis_server.client().hset(
        "{sms_queue}:status:order-42", "+8613800138009", '{"state": "sent", "at": 1e308}'
    )
    odd = cli("status", "--id", "order-42")
    assert odd.returncode == 0 and "at=1e+308" in odd.stdout and "Traceback" not in odd.stderr
    unknown = cli("status", "--id", "never-pushed")
    assert unknown.returncode == 1 and "nothing known of id 'never-pushed'" in unknown.stderr
