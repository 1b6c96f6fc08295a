"""What each command says when the Redis it was pointed at is the wrong kind, or does not answer:
one line that names what was tried (the sentinels and the primary's name, the cluster's seed nodes,
or the URL), never the default URL when sentinels or nodes were given, never a password, never
redis-py's representation of its pools; and what to do. Real servers: a plain redis-server, a
Sentinel watching another, a Redis Cluster, and closed ports."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol

import pytest

from tests.support.commands import ROOT, cli_env, smsworker_cmd
from tests.support.redis_cluster import LocalCluster
from tests.support.redis_sentinel import LocalSentinel
from tests.support.redis_server import RedisServer, free_port

SECRET = "pw-Zq8v1tK3-rT5mW9xY"  # long enough for a report secret too
DEFAULT_URL = "redis://127.0.0.1:6379"
LONGEST = 300


# An ACL user beside the open default one (which a sentinel and the cluster's own nodes use): a
# wrong password for it is refused by the server itself.
USER = ("--user", "smsworker", "on", ">right-password", "~*", "&*", "+@all")


class Startable(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def running(*servers: Startable) -> Iterator[None]:
    """The servers started in order, for as long as the fixture lasts; stopped in reverse."""
    with ExitStack() as started:
        for server in servers:
            started.callback(server.stop)
            server.start()
        yield


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSentinel]:
    primary = RedisServer(tmp_path_factory.mktemp("primary"), extra_args=USER)
    watcher = LocalSentinel(tmp_path_factory.mktemp("sentinel"), primary)
    for _ in running(primary, watcher):
        yield watcher


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), primaries=3, replicas=0, extra_args=USER)
    for _ in running(local):
        yield local


@pytest.fixture
def plain(redis_server: RedisServer) -> str:
    return f"127.0.0.1:{redis_server.port}"


def smsworker(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it with no Redis URL set: the default one is there, unused."""
    environ = cli_env("", **env)
    del environ["SMSWORKER_REDIS_URL"]
    return subprocess.run(
        smsworker_cmd(*args), env=environ, capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def redis_line(result: subprocess.CompletedProcess[str], *named: str) -> str:
    """The one line a Redis problem is, checked for what every such line must (and must not) say."""
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and lines[0].startswith(("Error: ", "错误：")), result.stderr
    line = lines[0]
    assert len(line) < LONGEST, line
    for internal in ("Traceback", "<redis.", "ConnectionPool", SECRET):
        assert internal not in result.stderr, result.stderr
    assert DEFAULT_URL not in line, line
    for name in named:
        assert name in line, line
    return line


def password_file(tmp_path: Path) -> str:
    path = tmp_path / "redis_password"
    path.write_text(SECRET + "\n")
    return str(path)


COMMANDS = [
    ["run"],
    ["drain"],
    ["check"],
    ["stats"],
    ["dlq", "list"],
    ["status", "--id", "t-1"],
    ["receipts", "--receipts-port", "{port}", "--http-report-secret-file", "{secret}"],
    ["dashboard", "--dashboard-no-auth", "--dashboard-port", "{port}"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0] + (f" {c[1]}" if c[0] == "dlq" else ""))
def test_every_command_says_a_sentinel_address_is_a_plain_redis(
    command: list[str], plain: str, tmp_path: Path
) -> None:
    # What each needs but Redis to start: a port to listen on, a report secret.
    args = [arg.format(port=free_port(), secret=password_file(tmp_path)) for arg in command]
    redis_line(smsworker(*args, "--sentinel", plain), f"is {plain} a Sentinel?", "use --redis-url")


def test_sentinels_that_do_not_answer_are_each_named(tmp_path: Path) -> None:
    first, second = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    result = smsworker(
        "stats", "--sentinel", first, "--sentinel", second, "--redis-password-file", password_file(tmp_path)
    )
    redis_line(result, "no sentinel answered", first, second, "Check --sentinel")


@pytest.mark.parametrize("command", [["check"], ["run"], ["dlq", "list"]])
def test_a_primary_name_no_sentinel_knows(command: list[str], sentinel: LocalSentinel) -> None:
    result = smsworker(*command, "--sentinel", sentinel.address, "--sentinel-master", "nope")
    redis_line(result, sentinel.address, "knows a primary named 'nope'", "check --sentinel-master")


def test_the_primary_names_its_sentinel_when_it_refuses_the_password(
    sentinel: LocalSentinel, tmp_path: Path
) -> None:
    result = smsworker(
        "check",
        "--sentinel",
        sentinel.address,
        "--redis-username",
        "smsworker",
        "--redis-password-file",
        password_file(tmp_path),
    )
    redis_line(
        result, f"the primary 'mymaster' found by the sentinels {sentinel.address}", "--redis-password-file"
    )


def test_check_through_a_sentinel_names_the_sentinel(sentinel: LocalSentinel) -> None:
    result = smsworker("check", "--sentinel", sentinel.address)
    assert result.returncode == 0, result.stderr
    assert f"redis ok: the primary 'mymaster' found by the sentinels {sentinel.address}" in result.stdout
    assert DEFAULT_URL not in result.stdout


def test_a_url_that_names_a_sentinel(sentinel: LocalSentinel) -> None:
    result = smsworker("check", "--redis-url", f"redis://:{SECRET}@{sentinel.address}/0")
    redis_line(result, "is a Sentinel", f"--sentinel {sentinel.address}", "redis://:***@")


def test_cluster_nodes_that_do_not_answer_are_each_named() -> None:
    first, second = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    # The URL gives a cluster its password, never its address: it is not named.
    url = f"redis://:{SECRET}@127.0.0.1:6379/0"
    result = smsworker("dlq", "list", "--redis-cluster", first, "--redis-cluster", second, "--redis-url", url)
    line = redis_line(result, "no Redis Cluster node answered", first, second, "Check --redis-cluster")
    assert "redis://" not in line


def test_a_cluster_flag_that_names_a_plain_redis(plain: str) -> None:
    result = smsworker("check", "--redis-cluster", plain)
    redis_line(result, f"{plain} is not a Redis Cluster node", "use --redis-url")


def test_a_sentinel_flag_that_names_a_cluster_node(cluster: LocalCluster) -> None:
    node = f"127.0.0.1:{cluster.ports[0]}"
    redis_line(smsworker("stats", "--sentinel", node), f"is {node} a Sentinel?", "--redis-cluster")


def test_a_cluster_that_refuses_the_password_is_named(cluster: LocalCluster, tmp_path: Path) -> None:
    node = f"127.0.0.1:{cluster.ports[2]}"
    auth = ("--redis-username", "smsworker", "--redis-password-file", password_file(tmp_path))
    result = smsworker("stats", "--redis-cluster", node, *auth)
    redis_line(result, f"the Redis Cluster nodes {node} refused the credentials", "--redis-password-file")


def test_check_on_a_cluster_names_its_nodes(cluster: LocalCluster) -> None:
    node = f"127.0.0.1:{cluster.ports[1]}"
    result = smsworker("check", "--redis-cluster", node)
    assert result.returncode == 0, result.stderr
    assert f"redis ok: the Redis Cluster nodes {node} (Redis Cluster, 3 primaries" in result.stdout
    assert DEFAULT_URL not in result.stdout


def test_in_chinese(sentinel: LocalSentinel) -> None:
    result = smsworker(
        "check",
        "--sentinel",
        sentinel.address,
        "--sentinel-master",
        "nope",
        LANG="zh_CN.UTF-8",
        LC_ALL="",
        LC_MESSAGES="",
    )
    line = redis_line(result, f"哨兵 {sentinel.address} 都不知道名为 'nope' 的主节点", "--sentinel-master")
    assert line.startswith("错误：") and "sentinel at" not in line
