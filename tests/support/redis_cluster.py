"""A private Redis Cluster on free ports: primaries and replicas, started and stopped by the tests.

Node timeouts are short (1 s) so that a failover takes a few seconds, not the default 15.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from tests.support.redis_server import RedisServer, free_cluster_port

NODE_TIMEOUT_MS = 1000


class LocalCluster:
    def __init__(
        self, workdir: Path, *, primaries: int = 3, replicas: int = 1, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.workdir = workdir
        self.extra_args = extra_args
        self.primaries = primaries
        self.replicas = replicas
        ports: set[int] = set()
        while len(ports) < primaries * (1 + replicas):  # all different: none is bound until they start
            ports.add(free_cluster_port())
        self.nodes = [self._node(port) for port in sorted(ports)]

    def _node(self, port: int) -> RedisServer:
        args = (
            "--cluster-enabled",
            "yes",
            "--cluster-node-timeout",
            str(NODE_TIMEOUT_MS),
            "--repl-diskless-sync-delay",
            "0",  # a replica in sync at once, not after 5 s
            *self.extra_args,
        )
        return RedisServer(self.workdir / f"node-{port}", appendonly=True, extra_args=args, port=port)

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_ok()

    def wait_ok(self, timeout_s: float = 30) -> None:
        """Until every live node says the cluster is ok and every replica is in sync with its primary
        (a replica whose link never came up refuses to fail over, rightly: it has no data)."""
        deadline = time.monotonic() + timeout_s
        while not self._all_ok():
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not come (back) up")
            time.sleep(0.1)

    def _all_ok(self) -> bool:
        live = [node.port for node in self.nodes if node.process is not None]
        in_sync = 0
        for port in live:
            said = _cli(port, "cluster", "info")
            if "cluster_state:ok" not in said:
                return False
            in_sync += "master_link_status:up" in _cli(port, "info", "replication")
        # Every live node beyond the primaries is a replica, and in sync.
        return in_sync == len(live) - self.primaries

    def client(self) -> RedisCluster:
        live = [node for node in self.nodes if node.process is not None]
        return RedisCluster(host="127.0.0.1", port=live[0].port)

    def node_of(self, key: str) -> RedisServer:
        """The primary serving ``key``'s slot now."""
        client = self.client()
        try:
            port = client.get_node_from_key(key).port  # type: ignore[no-untyped-call]
        finally:
            client.close()
        return next(node for node in self.nodes if node.port == port)

    def primaries_now(self) -> list[RedisServer]:
        client = self.client()
        try:
            ports = {node.port for node in client.get_primaries()}  # type: ignore[no-untyped-call]
        finally:
            client.close()
        return [node for node in self.nodes if node.port in ports]

    def move_slot_of(self, key: str, source: RedisServer, target: RedisServer, pause_s: float = 0.2) -> None:
        """Move ``key``'s slot from ``source`` to ``target`` as ``redis-cli --cluster reshard`` does
        (IMPORTING, MIGRATING, MIGRATE key by key, then SETSLOT NODE), slowly, so that a worker's
        calls meet the slot half moved: ASK redirections and TRYAGAIN."""
        slot = key_slot(key.encode())
        src: Any = redis.Redis(port=source.port)
        dst: Any = redis.Redis(port=target.port)
        try:
            src_id = src.execute_command("CLUSTER", "MYID").decode()
            dst_id = dst.execute_command("CLUSTER", "MYID").decode()
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
            while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1):
                src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
                time.sleep(pause_s)
            for node in (target, source, *(n for n in self.primaries_now() if n not in (source, target))):
                each: Any
                with redis.Redis(port=node.port) as each:
                    each.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        finally:
            src.close()
            dst.close()
        self.wait_ok()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True).stdout
