"""The PHP side with real php, phpredis and Predis: what PHP writes validates against the task
schema and is delivered by the real worker; the library refuses bad input with a clear exception."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from smsworker.store.keys import CANCEL_TTL_S
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


# Traffic control: each SmsQueue method run alone through push.php's "call" scenario, with both clients.

CLIENTS = ["phpredis", "predis"]
DAY = 86400


def call(client: str, server: RedisServer, method: str, *args: Any, ttl: int | None = None) -> Any:
    """``$queue->method(...args)`` in real php: its result, or ``{"error": "<class>: <message>"}``."""
    extra = [] if ttl is None else [str(ttl)]
    result = php(f"call-{client}", server.port, method, json.dumps(args), *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer.get("result", answer)


@pytest.mark.parametrize("client", CLIENTS)
def test_each_option_writes_the_field_the_worker_reads(
    client: str, redis_server: RedisServer, redis_url: str
) -> None:
    at = int(time.time()) + 3600
    options = {"lane": "otp", "sendAt": at, "campaign": "双11"}
    assert call(client, redis_server, "push", 1, ["13800138000"], "a", options) == 1
    when = datetime.now(timezone(timedelta(hours=8))).replace(microsecond=0) + timedelta(days=30)
    options = {"id": "c-1", "sendAt": {"datetime": when.isoformat()}, "lane": "bulk"}
    assert call(client, redis_server, "pushWithId", 2, ["13800138001"], "b", options) == "c-1"
    before = int(time.time())
    many = [
        {"template_id": 3, "mobiles": ["13800138002"], "content": "c", "delay": 600, "campaign": "spring"},
        {"template_id": 4, "mobiles": ["13800138003"], "content": "d", "lane": "default", "delay": 0},
    ]
    assert call(client, redis_server, "pushMany", many) == 4
    after = int(time.time())
    first, second, third, fourth = queued(redis_server)
    for task in (first, second, third, fourth):
        jsonschema.validate(task, SCHEMA)
    assert (first["lane"], first["send_at"], first["campaign"]) == ("otp", at, "双11")
    assert (second["lane"], second["send_at"], second["id"]) == ("bulk", int(when.timestamp()), "c-1")
    assert "campaign" not in second and "lane" not in third and "campaign" not in fourth
    assert third["campaign"] == "spring" and before + 600 <= third["send_at"] <= after + 600
    assert fourth["lane"] == "default" and before <= fourth["send_at"] <= after
    assert all(type(task.get("send_at", 0)) is int for task in (first, second, third, fourth))
    # Without the options nothing new is written: the task is what it was before lanes.
    assert call(client, redis_server, "push", 5, ["13800138004"], "e") == 5
    assert set(queued(redis_server)[-1]) == {"template_id", "mobiles", "content"}


NEGATIVE = "{} is before 1970 (negative unix seconds): the worker would dead-letter the task"
LANE_RULE = "lane must be 1 to 32 lowercase letters, digits, _ and -, starting with a letter or digit, got "
CAMPAIGN_RULE = "campaign must be 1 to 64 characters of UTF-8 with no control characters or line breaks, got "
REFUSED = [
    ({"lane": "OTP"}, LANE_RULE + '"OTP"'),
    ({"lane": "-otp"}, LANE_RULE + '"-otp"'),
    ({"lane": "a" * 33}, LANE_RULE + '"' + "a" * 33 + '"'),
    ({"lane": "otp\n"}, LANE_RULE + '"otp\\n"'),
    ({"lane": ""}, LANE_RULE + '""'),
    ({"lane": 7}, LANE_RULE + "7"),
    (
        {"sendAt": "2030-01-01"},
        'sendAt must be unix seconds (an int) or a DateTimeInterface, got "2030-01-01"',
    ),
    ({"sendAt": 1.5}, "sendAt must be unix seconds (an int) or a DateTimeInterface, got 1.5"),
    (
        {"sendAt": 4102444800000},
        "sendAt is more than 366 days ahead (milliseconds instead of seconds?): the worker would "
        "dead-letter the task",
    ),
    ({"sendAt": {"datetime": "1969-12-31T23:59:59Z"}}, NEGATIVE.format("sendAt")),
    ({"sendAt": -1}, NEGATIVE.format("sendAt")),
    ({"delay": -1}, "delay must be a number of seconds (an int, 0 or more), got -1"),
    ({"delay": "60"}, 'delay must be a number of seconds (an int, 0 or more), got "60"'),
    ({"delay": 367 * DAY}, "delay is more than 366 days ahead: the worker would dead-letter the task"),
    ({"delay": 60, "sendAt": 1}, "give sendAt or delay, not both"),
    ({"send_at": 1}, "send_at is written from the option sendAt (or delay): give that instead"),
    ({"campaign": ""}, CAMPAIGN_RULE + '""'),
    ({"campaign": "x" * 65}, CAMPAIGN_RULE + '"' + "x" * 65 + '"'),
    ({"campaign": "a\tb"}, CAMPAIGN_RULE + '"a\\tb"'),
    ({"campaign": "a\u2028b"}, CAMPAIGN_RULE + '"a\\u2028b"'),
    ({"campaign": "a\x85b"}, CAMPAIGN_RULE + '"a\x85b"'),
    ({"campaign": ["a"]}, CAMPAIGN_RULE + "array"),
]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(("options", "message"), REFUSED, ids=[json.dumps(o) for o, _ in REFUSED])
def test_bad_options_are_refused_with_the_rule(
    client: str, options: dict[str, Any], message: str, redis_server: RedisServer, redis_url: str
) -> None:
    expected = {"error": f"InvalidArgumentException: {message}"}
    assert call(client, redis_server, "push", 1, ["13800138000"], "x", options) == expected
    assert call(client, redis_server, "pushWithId", 1, ["13800138000"], "x", options) == expected
    many = [{"template_id": 1, "mobiles": ["13800138000"], "content": "x"}]
    assert call(client, redis_server, "pushMany", [*many, {**many[0], **options}]) == expected
    assert redis_server.client().llen("sms_queue") == 0  # pushMany: none of the tasks either


def test_the_longest_names_pass(redis_server: RedisServer, redis_url: str) -> None:
    options = {"lane": "a_" + "9" * 29 + "-", "campaign": "活" * 64, "sendAt": int(time.time()) + 365 * DAY}
    assert call("phpredis", redis_server, "push", 1, ["13800138000"], "x", options) == 1


def paused(server: RedisServer) -> dict[str, Any]:
    found: Any = server.client().hgetall("{sms_queue}:paused")
    return {field.decode(): json.loads(value) for field, value in found.items()}


@pytest.mark.parametrize("client", CLIENTS)
def test_pause_and_resume_write_the_field_the_worker_reads(
    client: str, redis_server: RedisServer, redis_url: str
) -> None:
    before = time.time()
    assert call(client, redis_server, "pause") is True
    assert call(client, redis_server, "pause", "otp") is True
    assert call(client, redis_server, "pause", None, "aliyun", "ops@shop") is True
    assert call(client, redis_server, "pauseCampaign", "双11", "运营") is True
    assert call(client, redis_server, "pause", "otp", None, "later") is False  # the first pause stays
    written = paused(redis_server)
    assert set(written) == {"all", "lane:otp", "provider:aliyun", "campaign:双11"}
    assert {field: value["by"] for field, value in written.items()} == {
        "all": "php",
        "lane:otp": "php",
        "provider:aliyun": "ops@shop",
        "campaign:双11": "运营",
    }
    for value in written.values():
        assert set(value) == {"at", "by"} and before - 1 <= value["at"] <= time.time() + 1
    assert call(client, redis_server, "paused") == written
    assert call(client, redis_server, "resume", None, "aliyun") is True
    assert call(client, redis_server, "resume", None, "aliyun") is False
    assert call(client, redis_server, "resume") is True
    assert call(client, redis_server, "resumeCampaign", "双11") == 0
    assert set(paused(redis_server)) == {"lane:otp"}
    assert call(client, redis_server, "pause", "otp", "aliyun") == {
        "error": "InvalidArgumentException: pause and resume take a lane or a provider, not both "
        "(one scope per call)"
    }
    assert call(client, redis_server, "resume", "Otp") == {
        "error": f'InvalidArgumentException: {LANE_RULE}"Otp"'
    }
    assert call(client, redis_server, "pause", None, "ali yun")["error"].startswith(
        "InvalidArgumentException: provider must be a provider's name"
    )
    assert set(paused(redis_server)) == {"lane:otp"}


@pytest.mark.parametrize("client", CLIENTS)
def test_cancel_writes_the_key_and_says_what_is_already_sent(
    client: str, redis_server: RedisServer, redis_url: str
) -> None:
    numbers = ["13800138000", "13800138001", "13800138002", "13800138003", "13800138004"]
    task_id = call(client, redis_server, "pushWithId", 1, numbers, "x")
    status = f"{{sms_queue}}:status:{task_id}"
    redis = redis_server.client()
    for number, state in [("13800138000", "sent"), ("13800138001", "delivered"), ("13800138002", "dead")]:
        redis.hdel(status, number)
        redis.hset(status, f"+86{number}", json.dumps({"state": state, "at": 1}))
    redis.hset(status, "13800138004", json.dumps({"state": "scheduled", "at": 1, "until": 2}))
    answer = {
        "cancelled": True,
        "sent": ["+8613800138000", "+8613800138001"],
        "pending": ["13800138003", "13800138004"],
        "dead": ["+8613800138002"],
    }
    assert call(client, redis_server, "cancel", task_id, "客服") == answer
    key = f"{{sms_queue}}:cancel:id:{task_id}"
    stamp = json.loads(redis.get(key) or b"")
    assert stamp["by"] == "客服" and time.time() - 5 <= stamp["at"] <= time.time()
    assert CANCEL_TTL_S - 60 <= redis.ttl(key) <= CANCEL_TTL_S
    # The waiting recipients read cancelled at once; the others keep their state.
    states: Any = redis.hgetall(status)
    assert {n.decode(): json.loads(v)["state"] for n, v in states.items()} == {
        "+8613800138000": "sent",
        "+8613800138001": "delivered",
        "+8613800138002": "dead",
        "13800138003": "cancelled",
        "13800138004": "cancelled",
    }
    # Again: nothing new, the first cancel's author stays.
    assert call(client, redis_server, "cancel", task_id, "php") == {**answer, "cancelled": False}
    assert json.loads(redis.get(key) or b"")["by"] == "客服"
    # A task pushed without pushWithId: nothing to say, and cancelled all the same, for as long.
    nothing = {"cancelled": True, "sent": [], "pending": [], "dead": []}
    assert call(client, redis_server, "cancel", "order-7", ttl=3600) == nothing
    assert json.loads(redis.get("{sms_queue}:cancel:id:order-7") or b"")["by"] == "php"
    # A cancel outlives the status TTL: it lasts as long as a task may wait scheduled.
    assert CANCEL_TTL_S - 60 <= redis.ttl("{sms_queue}:cancel:id:order-7") <= CANCEL_TTL_S
    assert call(client, redis_server, "cancel", " ") == {
        "error": "InvalidArgumentException: cancel() needs the id the task was pushed with"
    }


def park(server: RedisServer, campaign: str, *entries: tuple[str, str]) -> None:
    """What a worker does with a task of a paused campaign: LPUSH lane + "\\n" + its bytes."""
    for lane, task in entries:
        server.client().lpush(f"{{sms_queue}}:parked:{campaign}", f"{lane}\n{task}".encode())


def lists(server: RedisServer) -> dict[str, list[str]]:
    redis = server.client()
    names: Any = redis.keys("*")
    found: dict[str, list[str]] = {}
    for name in sorted(names):
        if redis.type(name) == b"list":
            elements: Any = redis.lrange(name, 0, -1)
            found[name.decode()] = [element.decode() for element in elements]
    return found


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("how", ["resumeCampaign", "cancelCampaign"])
def test_parked_tasks_go_back_to_the_front_of_their_lanes_once(
    client: str, how: str, redis_server: RedisServer, redis_url: str
) -> None:
    redis = redis_server.client()
    redis.lpush("{sms_queue}:lane:otp", "queued otp")
    redis.lpush("sms_queue", "queued")
    assert call(client, redis_server, "pauseCampaign", "双11") is True
    park(redis_server, "双11", ("otp", "t1"), ("", '{"a":\n"multi-line"}'), ("otp", "t3"), ("bulk", "t4"))
    park(redis_server, "other", ("otp", "not this one"))
    assert call(client, redis_server, how, "双11") == 4
    expected = {
        # Workers take from the right: the oldest parked task comes first, before what was queued.
        "sms_queue": ["queued", '{"a":\n"multi-line"}'],
        "{sms_queue}:lane:bulk": ["t4"],
        "{sms_queue}:lane:otp": ["queued otp", "t3", "t1"],
        "{sms_queue}:parked:other": ["otp\nnot this one"],
    }
    assert lists(redis_server) == expected
    assert call(client, redis_server, how, "双11") == 0  # again: nothing moves twice
    assert lists(redis_server) == expected
    if how == "cancelCampaign":
        stamp = json.loads(redis.get("{sms_queue}:cancel:campaign:双11") or b"")
        assert set(stamp) == {"at", "by"} and stamp["by"] == "php"
        assert CANCEL_TTL_S - 60 <= redis.ttl("{sms_queue}:cancel:campaign:双11") <= CANCEL_TTL_S
    assert "campaign:双11" not in paused(redis_server)  # a cancel outranks the pause


@pytest.mark.parametrize("client", CLIENTS)
def test_a_lane_of_the_wrong_type_moves_nothing(
    client: str, redis_server: RedisServer, redis_url: str
) -> None:
    redis = redis_server.client()
    redis.set("{sms_queue}:lane:bulk", "not a list")
    call(client, redis_server, "pauseCampaign", "spring")
    park(redis_server, "spring", ("otp", "t1"), ("bulk", "t2"))
    answer = call(client, redis_server, "resumeCampaign", "spring")
    assert answer["error"].startswith(
        "SmsWorker\\Producer\\SmsQueueException: cannot move the parked tasks of campaign spring back: "
        "WRONGTYPE {sms_queue}:lane:bulk holds a string, not a list"
    )
    assert lists(redis_server) == {"{sms_queue}:parked:spring": ["bulk\nt2", "otp\nt1"]}
    assert "campaign:spring" in paused(redis_server)


@pytest.mark.parametrize("client", CLIENTS)
def test_campaign_counters_and_the_campaign_list(
    client: str, redis_server: RedisServer, redis_url: str
) -> None:
    redis = redis_server.client()
    redis.hset("{sms_queue}:campaign:双11", mapping={"tasks": 3, "sent": 250, "dead": 2, "segments": 510})
    assert call(client, redis_server, "campaign", "双11") == {
        "tasks": 3,
        "sent": 250,
        "dead": 2,
        "cancelled": 0,
        "scheduled": 0,
        "delivered": 0,
        "undelivered": 0,
        "segments": 510,
    }
    assert set(call(client, redis_server, "campaign", "unknown").values()) == {0}
    now = time.time()
    redis.zadd("{sms_queue}:campaigns", {"双11": now - 60, "618": now - 10, "old": now - 3 * DAY - 60})
    assert call(client, redis_server, "campaigns") == [
        {"name": "618", "at": pytest.approx(now - 10)},
        {"name": "双11", "at": pytest.approx(now - 60)},
    ]
    assert redis.zscore("{sms_queue}:campaigns", "old") is None  # dropped when read
    assert call(client, redis_server, "campaigns", ttl=30) == [{"name": "618", "at": pytest.approx(now - 10)}]
    assert call(client, redis_server, "campaign", "a\nb") == {
        "error": f'InvalidArgumentException: {CAMPAIGN_RULE}"a\\nb"'
    }


def test_a_task_parked_under_a_lane_the_caller_did_not_read_moves_nothing(
    redis_server: RedisServer, redis_url: str
) -> None:
    # The PHP library reads the parked list, then runs UNPARK with each lane it named in KEYS; a task
    # parked in between under another lane makes the script write nothing and answer -1, and the
    # library reads again. The script is run here as the library runs it, with "otp" read, not "bulk".
    source = (ROOT / "contrib" / "php-producer" / "src" / "SmsQueue.php").read_text()
    prelude = re.search(r"WRONG_TYPE = <<<'LUA'\n(.*?)\nLUA;", source, re.S)
    script = re.search(r"UNPARK = self::WRONG_TYPE . <<<'LUA'\n(.*?)\nLUA;", source, re.S)
    assert prelude is not None and script is not None
    unpark = prelude.group(1) + "\n" + script.group(1)
    park(redis_server, "spring", ("otp", "t1"), ("bulk", "t2"))
    redis = redis_server.client()
    redis.hset("{sms_queue}:paused", "campaign:spring", "{}")
    keys = [
        "{sms_queue}:paused",
        "{sms_queue}:parked:spring",
        "sms_queue",
        "{sms_queue}:cancel:campaign:spring",
    ]
    args = ["campaign:spring", "", "60"]
    assert redis.eval(unpark, 5, *keys, "{sms_queue}:lane:otp", *args, "otp") == -1
    assert lists(redis_server) == {"{sms_queue}:parked:spring": ["bulk\nt2", "otp\nt1"]}
    assert "campaign:spring" in paused(redis_server)
    lanes = ["{sms_queue}:lane:bulk", "{sms_queue}:lane:otp"]
    assert redis.eval(unpark, 6, *keys, *lanes, *args, "bulk", "otp") == 2
    assert lists(redis_server) == {"{sms_queue}:lane:bulk": ["t2"], "{sms_queue}:lane:otp": ["t1"]}
