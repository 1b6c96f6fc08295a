"""Every way a setting or an unhelpful Redis can be wrong: one line, the setting named, no traceback,
no secret, and an exit status that says it failed (2 for a bad value, 1 for everything else)."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.commands import ROOT, cli_env, smsworker_cmd
from tests.support.redis_server import RedisServer, free_port

Cli = Callable[..., subprocess.CompletedProcess[str]]
SECRET = "s3cr3tpw"


def assert_one_line_error(result: subprocess.CompletedProcess[Any], code: int, *named: str) -> str:
    stderr = result.stderr if isinstance(result.stderr, str) else result.stderr.decode("utf-8", "replace")
    assert result.returncode == code, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr and SECRET not in stderr
    for name in named:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["run", "--redis-url", f"redis://:{SECRET}@127.0.0.1:notaport/0"], ["redis_url", "port"]),
        (["run", "--redis-url", f"redis://:{SECRET}@127.0.0.1:99999/0"], ["redis_url", "port"]),
        (["check", "--redis-url", f"reddis://:{SECRET}@127.0.0.1:6379/0"], ["redis_url", "reddis://:***@"]),
        (["run", "--http-timeout", "inf"], ["http_timeout", "finite"]),
        (["drain", "--shutdown-timeout", "inf"], ["shutdown_timeout", "finite"]),
        (["run", "--backoff-max", "1e999"], ["backoff_max"]),
        (["run", "--concurrency", "nan"], ["concurrency"]),
        (
            [
                "check",
                "--provider",
                "http",
                "--http-url",
                "http://127.0.0.1:1/x",
                "--http-header",
                f"Token {SECRET}",
            ],
            ["http_headers", "--http-header"],
        ),
        (["run", "--rate-limit", "nan/s"], ["rate_limits", "--rate-limit"]),
        (
            [
                "enqueue",
                "--template-id",
                "1",
                "--mobile",
                "13800138000",
                "--content",
                "x",
                "--params",
                '{"a": "\\ud800"}',
            ],
            ["--params"],
        ),
    ],
)
def test_bad_values_are_one_line_naming_the_setting(cli: Cli, args: list[str], named: list[str]) -> None:
    assert_one_line_error(cli(*args), 2, *named)


def test_non_utf8_arguments_are_refused_by_name(redis_url: str, redis_server: RedisServer) -> None:
    args = [a.encode() for a in smsworker_cmd("enqueue", "--template-id", "1", "--mobile", "13800138000")]
    result = subprocess.run(
        [*args, b"--content", b"caf\xe9"], env=cli_env(redis_url), capture_output=True, timeout=60, cwd=ROOT
    )
    assert_one_line_error(result, 2, "--content", "UTF-8")
    assert redis_server.client().llen("sms_queue") == 0


def test_a_database_the_server_does_not_have(cli: Cli, redis_server: RedisServer) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:{redis_server.port}/99"
    for command in ("check", "stats", "run"):
        line = assert_one_line_error(cli(command, SMSWORKER_REDIS_URL=url), 1, "no such database")
        assert ":***@" in line


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers: a Redis that is frozen, or not Redis at all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_redis_that_never_answers(redis_url: str, silent_server: int) -> None:
    env = cli_env(redis_url, SMSWORKER_REDIS_URL=f"redis://127.0.0.1:{silent_server}/0")
    # Both at once: each waits out the socket timeout.
    started = [
        subprocess.Popen(smsworker_cmd(c), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in ("check", "stats")
    ]
    for process in started:
        out, err = process.communicate(timeout=60)
        result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        assert_one_line_error(result, 1, "did not answer in time")


def test_a_metrics_port_in_use(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli("run", "--metrics-port", str(port), SMSWORKER_LOG_LEVEL="error")
    assert_one_line_error(result, 1, f"127.0.0.1:{port}", "--metrics-port")


def test_a_drain_that_could_not_drain_says_why_and_fails(cli: Cli, redis_server: RedisServer) -> None:
    r = redis_server.client()
    r.set("sms_queue", "not a list")
    assert_one_line_error(cli("drain"), 1, "WRONGTYPE", "--queue")
    r.delete("sms_queue")
    r.lpush("sms_queue", b'{"template_id":1,"mobiles":["13800138000"],"content":"x"}')
    r.set("{sms_queue}:workers", "not a set")  # the worker's first write fails for good
    result = cli("drain", SMSWORKER_LOG_LEVEL="error")
    assert result.returncode == 1
    assert result.stdout.startswith("drained 0 tasks")
    assert "error: the queue was not drained: Redis kept failing: ResponseError: " in result.stderr
    assert "WRONGTYPE" in result.stderr
    assert "Traceback" not in result.stderr
    assert r.llen("sms_queue") == 1


def test_an_unreachable_redis_still_names_the_setting(cli: Cli) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:{free_port()}/0"
    line = assert_one_line_error(cli("stats", "--redis-url", url), 1, "cannot reach Redis", "--redis-url")
    assert ":***@" in line
