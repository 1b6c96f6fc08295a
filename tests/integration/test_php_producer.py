"""The PHP side with real php, phpredis and Predis: what PHP writes validates against the task
schema and is delivered by the real worker; the library refuses bad input with a clear exception."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.commands import ROOT
from tests.support.fake_sms_api import FakeSmsApi
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_until

Cli = Callable[..., subprocess.CompletedProcess[str]]
SCHEMA = json.loads((ROOT / "docs" / "task.schema.json").read_text())
PUSH = ROOT / "contrib" / "php-producer" / "tests" / "push.php"


def php(scenario: str, port: int, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["php", str(PUSH), scenario, str(port), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", **env},
    )
    assert "Fatal error" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def queued(server: RedisServer) -> list[Any]:
    raws: Any = server.client().lrange("sms_queue", 0, -1)
    return [json.loads(raw) for raw in reversed(raws)]


EXPECTED = {
    "library-phpredis": [f"+861380013800{n}" for n in range(6)],
    "library-predis": [f"+861380013800{n}" for n in range(6)],
    "seed-raw": [f"+861380013800{n}" for n in range(8)],
}


@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_what_php_pushes_matches_the_contract_and_is_delivered(
    scenario: str, redis_server: RedisServer, redis_url: str, cli: Cli, fake_api: FakeSmsApi
) -> None:
    result = php(scenario, redis_server.port)
    assert result.returncode == 0, result.stderr
    tasks = queued(redis_server)
    for task in tasks:
        jsonschema.validate(task, SCHEMA)
    drained = cli("drain", "--provider", "http", "--http-url", fake_api.url)
    assert drained.returncode == 0, drained.stderr
    assert sorted(fake_api.delivered) == EXPECTED[scenario]
    assert redis_server.client().llen("{sms_queue}:dead") == 0
    if scenario.startswith("library"):
        by_template = {str(t["template_id"]): t for t in tasks}
        expected = {
            "template_id": "456",
            "mobiles": ["13800138002"],
            "content": "with an id",
            "params": {"code": "1234"},
            "id": "order-1",
        }
        assert by_template["456"] == expected
        assert [t["mobiles"] for t in tasks][:1] == [["13800138000", "13800138001"]]  # FIFO kept
        assert len([t for t in tasks if "id" in t and t["id"] != "order-1"]) == 1  # 'id' => true made one


def test_smsworker_enqueue_matches_the_contract(redis_server: RedisServer, cli: Cli) -> None:
    assert (
        cli(
            "enqueue",
            "--template-id",
            "1",
            "--mobile",
            "13800138000",
            "--content",
            "测试",
            "--params",
            '{"a": "b"}',
            "--id",
            "x",
        ).returncode
        == 0
    )
    [task] = queued(redis_server)
    jsonschema.validate(task, SCHEMA)


@pytest.mark.parametrize("client", ["phpredis", "predis"])
def test_the_library_refuses_with_clear_exceptions(
    client: str, redis_server: RedisServer, redis_url: str
) -> None:
    lines = php(f"errors-{client}", redis_server.port).stdout.splitlines()
    assert lines == [
        "empty mobiles: InvalidArgumentException: mobiles must not be empty",
        "array mobile: InvalidArgumentException: each mobile must be a non-empty string or an integer",
        "empty content: InvalidArgumentException: content is empty and there are no params to send",
        "bad template: InvalidArgumentException: template_id must be an integer or a non-empty string",
        "bad utf-8: SmsWorker\\Producer\\SmsQueueException: cannot encode the task as JSON: Malformed UTF-8 "
        "characters, possibly incorrectly encoded",
        "not a client: InvalidArgumentException: SmsQueue needs a phpredis \\Redis or \\RedisCluster, "
        "or a Predis client, got stdClass",
        "wrong type: SmsWorker\\Producer\\SmsQueueException: cannot push to Redis list wrong_type: WRONGTYPE "
        "Operation against a key holding the wrong kind of value",
    ]
    assert redis_server.client().llen("sms_queue") == 0


def test_redis_down_is_an_exception_never_false(tmp_path: Path) -> None:
    [line] = php("redis-down", free_port()).stdout.splitlines()
    assert line.startswith(
        "predis down: SmsWorker\\Producer\\SmsQueueException: cannot push to Redis list sms_queue:"
    )


@pytest.mark.parametrize("client", ["phpredis", "predis"])
def test_php_reads_what_became_of_each_recipient(
    client: str, redis_server: RedisServer, redis_url: str, cli: Cli, fake_api: FakeSmsApi
) -> None:
    pushed = php(f"status-{client}", redis_server.port)
    assert pushed.returncode == 0, pushed.stderr
    task_id = pushed.stdout.strip()
    assert len(task_id) == 32  # a fresh id, returned to the caller
    before = json.loads(php(f"status-{client}", redis_server.port, task_id).stdout)
    assert {number: state["state"] for number, state in before.items()} == {
        "13800138000": "queued",
        "12345": "queued",
    }
    drained = cli("drain", "--provider", "http", "--http-url", fake_api.url, "--receipts-list")
    assert drained.returncode == 0, drained.stderr
    after = json.loads(php(f"status-{client}", redis_server.port, task_id).stdout)
    assert after["+8613800138000"]["state"] == "sent" and after["+8613800138000"]["provider"] == "http"
    assert (after["12345"]["state"], after["12345"]["reason"]) == ("dead", "invalid_mobile")
    shown = json.loads(cli("status", "--id", task_id, "--json").stdout)
    assert after == shown  # PHP reads exactly what smsworker status shows
    assert "13800138000" not in after  # the queued entry moved to E.164
    # --receipts-list: the app takes each change, oldest first, with the task's id.
    changes = [json.loads(php(f"changes-{client}", redis_server.port).stdout) for _ in range(2)]
    assert sorted((c["id"], c["number"], c["state"]) for c in changes) == [
        (task_id, "+8613800138000", "sent"),
        (task_id, "12345", "dead"),
    ]


def _brpop_calls(server: RedisServer) -> int:
    stats: Any = server.client().info("commandstats")
    return int(stats.get("cmdstat_brpop", {}).get("calls", 0))


@pytest.mark.parametrize("client", ["phpredis", "predis"])
def test_next_change_waits_past_the_socket_timeout(client: str, redis_server: RedisServer) -> None:
    # With default_socket_timeout=2 one BRPOP of over 2 s ends in a read error in both clients: the
    # default nextChange() must still be waiting when four of its calls have gone by, and return the
    # change pushed then.
    with subprocess.Popen(
        ["php", "-d", "default_socket_timeout=2", str(PUSH), f"wait-{client}", str(redis_server.port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"},
    ) as waiting:
        wait_until(lambda: _brpop_calls(redis_server) >= 4, what="four BRPOPs", timeout_s=30)
        assert waiting.poll() is None, waiting.communicate()
        change = {"id": "order-1", "number": "+8613800138000", "state": "sent", "at": 1}
        redis_server.client().lpush("{sms_queue}:changes", json.dumps(change))
        out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 0, err
    assert json.loads(out) == change


@pytest.mark.parametrize("client", ["phpredis", "predis"])
def test_next_change_gives_null_when_its_timeout_passes(client: str, redis_server: RedisServer) -> None:
    result = subprocess.run(
        ["php", "-d", "default_socket_timeout=2", str(PUSH), f"timeout-{client}", str(redis_server.port)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"},
    )
    assert result.returncode == 0 and result.stdout == "null\n", result.stdout + result.stderr
    assert _brpop_calls(redis_server) >= 3  # it waited its 3 s, past the 2 s socket timeout
