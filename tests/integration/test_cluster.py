"""smsworker on a real Redis Cluster (3 primaries, 3 replicas, started by the tests on free ports).

Pointed at any one node with a plain redis:// URL, every command finds the cluster and works; a
worker follows a primary failing over to its replica, and the queue's slot moving to another
primary, while it sends, and loses nothing; PHP apps push with phpredis's RedisCluster and with
Predis in cluster mode, unchanged.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from tests.integration.test_receipts_receiver import (
    test_a_webhook_report_moves_the_status_shown_by_the_cli as test_delivery_reports_on_a_cluster,
)
from tests.integration.test_receipts_receiver import (
    test_an_undelivered_recipient_is_dead_lettered_and_replayed as test_undelivered_on_a_cluster,
)
from tests.support.dead_letters import dead_lettered_mobiles
from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_cluster import LocalCluster
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
# The receiver's end-to-end tests, run again here with ``redis_url`` (below) naming a cluster node:
# the receiver's WATCH transactions and the status reads work on a cluster as on one server.
__all__ = ["test_delivery_reports_on_a_cluster", "test_undelivered_on_a_cluster"]
Start = Callable[..., WorkerProcess]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), primaries=3, replicas=1)
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def client(cluster: LocalCluster) -> Iterator[RedisCluster]:
    cluster.wait_ok()
    c = cluster.client()
    c.flushall()  # every primary
    yield c
    c.close()


@pytest.fixture
def node_url(cluster: LocalCluster, client: RedisCluster) -> str:
    """A plain URL of one node that does *not* serve the queue's slot: every call must be routed."""
    serving = cluster.node_of("sms_queue")
    other = next(node for node in cluster.nodes if node is not serving and node.process is not None)
    return f"redis://127.0.0.1:{other.port}"


@pytest.fixture
def redis_url(node_url: str) -> str:
    """What the ``cli`` and ``start_worker`` fixtures point smsworker at: one node, as a plain URL."""
    return node_url


@pytest.fixture
def api() -> Iterator[FakeSmsApi]:
    with FakeSmsApi(delay_s=0.02) as fake:
        yield fake


def task(mobiles: list[str], **extra: object) -> str:
    return json.dumps({"template_id": 1, "mobiles": mobiles, "content": "x", **extra})


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"1390000{n:04d}" for n in range(start, start + count)]


def webhook(api: FakeSmsApi) -> tuple[str, ...]:
    return ("--provider", "http", "--http-url", api.url, "--max-attempts", "3", "--backoff-base", "0.05")


def accounted(api: FakeSmsApi, client: RedisCluster, pushed: list[str]) -> set[str]:
    """The pushed numbers neither delivered nor dead-lettered: what was lost."""
    delivered = {m.removeprefix("+86") for m in api.delivered}
    try:
        dead = dead_lettered_mobiles(client.lrange("{sms_queue}:dead", 0, -1))
    except (redis.RedisError, RedisClusterException):  # failing over: ask again later
        return set(pushed)
    return set(pushed) - delivered - dead


def test_every_command_works_through_any_node(
    cli: Callable[..., subprocess.CompletedProcess[str]], client: RedisCluster, api: FakeSmsApi
) -> None:
    checked = cli("check")
    assert checked.returncode == 0, checked.stderr
    assert "Redis Cluster, 3 primaries" in checked.stdout
    for mobile in ("13800138000", "12345"):
        task = ("--template-id", "1", "--mobile", mobile, "--content", "x", "--id", f"o-{mobile}")
        pushed = cli("enqueue", *task, "--force")  # 12345 is dead-lettered, as this test wants
        assert pushed.returncode == 0, pushed.stderr
    stats = cli("stats", "--json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["queue"] == 2 and json.loads(stats.stdout)["redis"] == "cluster"

    drained = cli("drain", *webhook(api))
    assert drained.returncode == 0, drained.stderr
    assert "drained 2 tasks (2 recipients: 1 sent, 1 dead-lettered)" in drained.stdout
    assert '"redis.cluster_detected"' in drained.stderr and "Traceback" not in drained.stderr
    assert api.delivered == ["+8613800138000"] and client.llen("sms_queue") == 0
    assert client.hget("{sms_queue}:stats", "sent") == b"1"

    status = cli("status", "--id", "o-13800138000", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["+8613800138000"]["state"] == "sent"
    by_number = cli("status", "--mobile", "13800138000")
    assert by_number.returncode == 0 and "sent" in by_number.stdout, by_number.stderr
    listed = cli("dlq", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["failed_mobiles"] == ["12345"]
    replayed = cli("dlq", "replay")
    assert replayed.returncode == 0, replayed.stderr
    assert client.llen("sms_queue") == 1 and client.llen("{sms_queue}:dead") == 0
    assert cli("drain", *webhook(api)).returncode == 0
    purged = cli("dlq", "purge", "--yes")
    assert purged.returncode == 0 and "purged 1 entry" in purged.stdout
    # Every key but the producers' list shares the queue's slot.
    keys: list[bytes] = client.keys("*")  # type: ignore[assignment]
    assert all(key.startswith(b"{sms_queue}:") for key in keys if key != b"sms_queue")


def test_sigkill_mid_send_is_recovered_by_the_next_worker(
    start_worker: Start, client: RedisCluster, api: FakeSmsApi
) -> None:
    pushed = numbers(40)
    client.lpush("sms_queue", *(task([m]) for m in pushed))
    api.delay_s = 0.2
    first = start_worker(*webhook(api), "--heartbeat-ttl", "3")
    wait_until(lambda: len(api.delivered) >= 3, timeout_s=30, what="sends to begin")
    first.send(signal.SIGKILL)
    first.wait()
    api.delay_s = 0.0
    second = start_worker(*webhook(api), "--heartbeat-ttl", "3")
    wait_until(lambda: not accounted(api, client, pushed), timeout_s=60, what="every recipient sent")
    assert second.events("worker.recovered")


def test_a_primary_failing_over_under_load_loses_nothing(
    cluster: LocalCluster, start_worker: Start, client: RedisCluster, api: FakeSmsApi
) -> None:
    pushed = numbers(300)
    client.lpush("sms_queue", *(task([m]) for m in pushed))
    worker = start_worker(*webhook(api))
    wait_until(lambda: len(api.delivered) >= 30, timeout_s=30, what="sends to begin")
    primary = cluster.node_of("sms_queue")
    assert primary.process is not None
    primary.process.send_signal(signal.SIGKILL)  # the replica is promoted after the node timeout
    primary.process.wait()
    primary.process = None
    try:
        wait_until(lambda: not accounted(api, client, pushed), timeout_s=90, what="every recipient sent")
    finally:
        primary.start()  # it comes back as a replica of the promoted one
        cluster.wait_ok()
    assert worker.process.poll() is None, worker.log_text()[-2000:]
    assert worker.events("redis.unavailable") or worker.events("redis.command_failed")
    # Only the calls in flight at the failover may have gone twice.
    assert len(api.delivered) - len(set(api.delivered)) <= 16


def test_the_queue_slot_moving_to_another_primary_under_load_loses_nothing(
    cluster: LocalCluster, start_worker: Start, client: RedisCluster, api: FakeSmsApi
) -> None:
    pushed = numbers(300, start=1000)
    client.lpush("sms_queue", *(task([m]) for m in pushed))
    worker = start_worker(*webhook(api))
    wait_until(lambda: len(api.delivered) >= 30, timeout_s=30, what="sends to begin")
    source = cluster.node_of("sms_queue")
    target = next(n for n in cluster.primaries_now() if n is not source)
    moved = threading.Thread(target=cluster.move_slot_of, args=("sms_queue", source, target))
    moved.start()
    moved.join(timeout=60)
    assert cluster.node_of("sms_queue") is target
    wait_until(lambda: not accounted(api, client, pushed), timeout_s=90, what="every recipient sent")
    assert worker.process.poll() is None, worker.log_text()[-2000:]
    assert len(api.delivered) - len(set(api.delivered)) <= 16


def test_three_workers_share_the_rate_limit(
    start_worker: Start, client: RedisCluster, api: FakeSmsApi
) -> None:
    api.delay_s = 0.0
    workers = [start_worker(*webhook(api), "--rate-limit", "http=20/s") for _ in range(3)]
    for worker in workers:
        worker.wait_for_event("worker.started", timeout_s=30)
    pushed = numbers(60, start=2000)
    client.lpush("sms_queue", *(task([m]) for m in pushed))
    wait_until(lambda: not accounted(api, client, pushed), timeout_s=30, what="60 sends")
    assert len({e["worker"] for w in workers for e in w.events("task.settled")}) >= 2  # they shared the work
    # GCRA at 20/s admits one request every 50 ms, whichever worker asks: its key is in the queue's slot.
    assert api.busiest_second() <= 21


@pytest.mark.parametrize("client_kind", ["phpredis", "predis"])
def test_php_apps_push_with_their_cluster_clients_unchanged(
    cluster: LocalCluster,
    cli: Callable[..., subprocess.CompletedProcess[str]],
    client: RedisCluster,
    api: FakeSmsApi,
    client_kind: str,
) -> None:
    seeds = ",".join(str(node.port) for node in cluster.nodes if node.process is not None)
    script = ROOT / "contrib" / "php-producer" / "tests" / "cluster_push.php"
    pushed = subprocess.run(
        ["php", str(script), client_kind, seeds], capture_output=True, text=True, timeout=60
    )
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    status = json.loads(client.hget("{sms_queue}:status:order-9", "13800138009") or b"{}")
    assert status.get("state") == "queued"
    drained = cli("drain", *webhook(api))
    assert drained.returncode == 0, drained.stderr
    assert sorted(api.delivered) == ["+8613800138008", "+8613800138009"]
    assert json.loads(client.hget("{sms_queue}:status:order-9", "+8613800138009") or b"{}")["state"] == "sent"


def test_an_acl_user_with_a_password_file_works_on_every_node(
    tmp_path_factory: pytest.TempPathFactory,
    cli: Callable[..., subprocess.CompletedProcess[str]],
    api: FakeSmsApi,
    tmp_path: Path,
) -> None:
    password = "s3cret-cluster-pass"
    acl = (
        "--user",
        "smsworker",
        "on",
        f">{password}",
        "~sms_queue",
        "~{sms_queue}:*",
        "&*",
        "+@all",
        "-@dangerous",
        "+info",
    )
    fenced = LocalCluster(tmp_path_factory.mktemp("acl-cluster"), primaries=3, replicas=0, extra_args=acl)
    fenced.start()
    try:
        admin = fenced.client()
        admin.lpush("sms_queue", task(["13800138000"]))
        admin.close()
        password_file = tmp_path / "redis-password"
        password_file.write_text(password + "\n")
        auth = ("--redis-username", "smsworker", "--redis-password-file", str(password_file))
        for node in fenced.nodes:  # through any node
            checked = cli("check", *auth, SMSWORKER_REDIS_URL=f"redis://127.0.0.1:{node.port}")
            assert checked.returncode == 0 and "Redis Cluster" in checked.stdout, checked.stderr
        seeds = ",".join(f"127.0.0.1:{node.port}" for node in fenced.nodes[:2])
        drained = cli("drain", *auth, *webhook(api), SMSWORKER_REDIS_CLUSTER=seeds)
        assert drained.returncode == 0, drained.stderr
        assert api.delivered == ["+8613800138000"] and password not in drained.stdout + drained.stderr
    finally:
        fenced.stop()
