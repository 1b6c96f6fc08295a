"""Traffic control on a real redis-server and on a Redis Cluster: the commands as a user runs them, and
the scripts behind them (cjson, SET NX inside Lua, every lane a parked task names declared in KEYS so
that a cluster runs the script)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from smsworker.receipts import state_json
from smsworker.store.control import TrafficControl
from smsworker.store.keys import Keys
from tests.support.redis_cluster import LocalCluster
from tests.support.redis_server import RedisServer

Cli = Callable[..., subprocess.CompletedProcess[str]]
KEYS = Keys("sms_queue", "{sms_queue}:dead")


def test_pause_cancel_and_a_campaign_through_the_command(
    cli: Cli, redis_server: RedisServer, tmp_path: Path
) -> None:
    r = redis_server.client()
    config = tmp_path / "smsworker.toml"
    config.write_text("[lanes.otp]\ntemplates = [1]\n", "utf-8")
    assert cli("pause", "--lane", "otp").returncode == 2  # a lane the settings do not declare
    assert cli("pause", "--lane", "otp", SMSWORKER_CONFIG=str(config)).returncode == 0
    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["paused"] == ["lane:otp"]
    r.hset(
        KEYS.status("order-1"),
        mapping={"13800138000": state_json("queued", 1.0), "+8613800138001": state_json("sent", 2.0)},
    )
    cancelled = cli("cancel", "--id", "order-1")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "not to be sent (1 recipient): 13800138000" in cancelled.stdout
    assert "sent already, cannot be called back (1 recipient): +8613800138001" in cancelled.stdout
    assert "was cancelled already" in cli("cancel", "--id", "order-1").stdout

    assert cli("campaign", "pause", "spring").returncode == 0
    r.lpush(KEYS.parked("spring"), b"bulk\nb-1", b"\nq-1")
    assert cli("campaign", "resume", "spring").stdout == "resumed campaign 'spring'\n"
    assert r.lrange(KEYS.lane("bulk"), 0, -1) == [b"b-1"] and r.lrange(KEYS.queue, 0, -1) == [b"q-1"]
    assert cli("campaign", "cancel", "spring", "--yes").returncode == 0
    assert json.loads(cli("campaign", "show", "spring", "--json").stdout)["state"] == "cancelled"
    r.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), primaries=3, replicas=0)
    local.start()
    try:
        yield local
    finally:
        local.stop()


def test_a_campaign_resumes_and_a_task_is_cancelled_on_a_cluster(cluster: LocalCluster) -> None:
    cluster.wait_ok()
    client: RedisCluster = cluster.client()
    control = TrafficControl(client, KEYS)  # type: ignore[arg-type]  # a cluster client, as app.py builds
    control.pause("campaign:spring", "me")
    client.lpush(KEYS.parked("spring"), b"bulk\nb-1", b"otp\no-1", b"\nq-1")
    assert control.resume("campaign:spring")
    assert client.lrange(KEYS.lane("bulk"), 0, -1) == [b"b-1"]
    assert client.lrange(KEYS.lane("otp"), 0, -1) == [b"o-1"]
    assert client.lrange(KEYS.queue, 0, -1) == [b"q-1"]
    client.hset(KEYS.status("order-1"), "13800138000", state_json("queued", 1.0))
    report = control.cancel_task("order-1", "me")
    assert report.cancelled and report.pending == ("13800138000",)
    assert control.cancel_campaign("spring", "me") and not control.cancel_campaign("spring", "me")
    client.close()


def test_a_key_of_the_wrong_type_is_refused_before_anything_moves(redis_server: RedisServer) -> None:
    r = redis_server.client()
    r.flushall()
    r.set(KEYS.lane("bulk"), "not a list")
    r.hset(KEYS.paused, "campaign:spring", "{}")
    r.lpush(KEYS.parked("spring"), b"bulk\nb-1")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        TrafficControl(r, KEYS).resume("campaign:spring")
    assert r.lrange(KEYS.parked("spring"), 0, -1) == [b"bulk\nb-1"]  # still parked, still paused
    assert r.hexists(KEYS.paused, "campaign:spring")
    r.close()
