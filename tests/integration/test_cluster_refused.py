"""Pointed at a node of a real 3-primary Redis Cluster, every command says, in one line, that
clusters are not supported yet, and touches nothing: no MOVED traceback, no "drained 0 tasks" with
exit 0 while the task is still queued (issue 12 will make it work)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis.cluster import RedisCluster

from tests.support.redis_server import RedisServer, free_cluster_port

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RedisServer]]:
    ports: set[int] = set()
    while len(ports) < 3:  # three different ones: none is bound until the nodes start
        ports.add(free_cluster_port())
    nodes = [
        RedisServer(tmp_path_factory.mktemp(f"node{n}"), extra_args=("--cluster-enabled", "yes"), port=port)
        for n, port in enumerate(sorted(ports))
    ]
    for node in nodes:
        node.start()
    try:
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{node.port}" for node in nodes),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not all(_cluster_ok(node.port) for node in nodes):
            assert time.monotonic() < deadline, "the cluster did not come up"
            time.sleep(0.1)
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def _cluster_ok(port: int) -> bool:
    said = subprocess.run(["redis-cli", "-p", str(port), "cluster", "info"], capture_output=True, text=True)
    return "cluster_state:ok" in said.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("drain", "--provider", "log"),
        ("run", "--provider", "log"),
        ("check",),
        ("stats",),
        ("enqueue", "--template-id", "1", "--mobile", "13800138000", "--content", "x"),
        ("dlq", "list"),
        ("status", "--id", "order-1"),
    ],
)
def test_every_command_refuses_a_cluster_node_in_one_line(
    cli: Cli, cluster: list[RedisServer], args: tuple[str, ...], tmp_path: Path
) -> None:
    client = RedisCluster(host="127.0.0.1", port=cluster[0].port)
    client.delete("sms_queue")
    client.lpush("sms_queue", '{"template_id":1,"mobiles":["13800138000"],"content":"x"}')
    for node in cluster:  # whichever node the queue's slot is on, and the others
        result = cli(*args, SMSWORKER_REDIS_URL=f"redis://127.0.0.1:{node.port}")
        assert result.returncode != 0, result.stdout
        lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("{")]
        assert len(lines) == 1 and "is a node of a Redis Cluster" in lines[0], result.stderr
        assert "Traceback" not in result.stderr and "MOVED" not in result.stderr
    assert client.llen("sms_queue") == 1  # the task is still there, untouched
    assert client.keys("sms_queue:*") == []  # nothing written
