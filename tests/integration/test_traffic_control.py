"""Traffic control with real processes: ``smsworker run`` workers on a private redis-server (and on a
Redis Cluster), the ``http`` provider posting to a fake API on loopback that notes the wall-clock time
each request came, and the CLI as an operator runs it.

Lanes route what producers push, unchanged; a scheduled burst is sent on time and once by two workers,
one of them killed mid-burst; quiet hours hold a number until its morning on a clock the test sets
(libfaketime); pause, resume and cancel act on running workers within their bounds.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from glob import glob
from pathlib import Path
from typing import Any

import pytest
from redis.cluster import RedisCluster
from redis.crc import key_slot

from tests.integration.test_control_commands import cluster
from tests.support.dead_letters import dead_lettered_mobiles
from tests.support.fake_sms_api import FakeSmsApi
from tests.support.processes import WorkerProcess
from tests.support.redis_cluster import LocalCluster
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

# The module's cluster (3 primaries, no replicas) is that fixture's.
__all__ = ["cluster"]
Start = Callable[..., WorkerProcess]
Cli = Callable[..., subprocess.CompletedProcess[str]]
OTP, BULK, NIGHT = 1, 2, 3  # template ids, one lane each
LANES = f"""
[lanes.otp]
templates = [{OTP}]

[lanes.bulk]
templates = [{BULK}]
"""


@dataclass
class Arrival:
    at: float  # time.time() as the request came: the clock send_at is written in
    template_id: Any
    mobiles: tuple[str, ...]
    answered_at: float | None = None  # once the answer is written


class ClockedApi(FakeSmsApi):
    """The fake webhook, noting when each request came, with its template and numbers, and when it
    was answered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[Arrival] = []

    def handle(self, headers: Any, raw: bytes) -> Any:
        arrival = Arrival(time.time(), None, ())
        try:
            body = json.loads(raw)
            arrival.template_id = body.get("template_id")
            arrival.mobiles = tuple(body.get("mobiles") or [body.get("mobile")])
        except (ValueError, AttributeError):
            pass
        with self.lock:
            self.arrivals.append(arrival)
        reply = super().handle(headers, raw)
        arrival.answered_at = time.time()
        return reply

    def came(self, template_id: int | None = None) -> list[tuple[float, str]]:
        """(when, number) of every number requested, of one template or of all."""
        with self.lock:
            return [
                (arrival.at, mobile)
                for arrival in self.arrivals
                if template_id is None or arrival.template_id == template_id
                for mobile in arrival.mobiles
            ]


@pytest.fixture
def api() -> Iterator[ClockedApi]:
    fake = ClockedApi()
    with fake:
        yield fake


def config(tmp_path: Path, api: FakeSmsApi, lanes: str = LANES, **more: object) -> dict[str, str]:
    """The environment of a worker (or a command) reading a TOML file with ``lanes`` and the webhook."""
    path = tmp_path / "smsworker.toml"
    top = {"provider": "http", "http_url": api.url, **more}
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in top.items()) + lanes)
    return {"SMSWORKER_CONFIG": str(path)}


def task(template_id: int, mobile: str, content: str = "x", **extra: object) -> str:
    return json.dumps({"template_id": template_id, "mobiles": [mobile], "content": content, **extra})


def numbers(count: int, head: str = "137") -> list[str]:
    """``count`` different mainland mobile numbers, as producers write them (national)."""
    return [f"{head}{n:08d}" for n in range(count)]


def e164(national: str) -> str:
    return f"+86{national}"


def live_workers(r: Any) -> set[bytes]:
    return {w for w in r.smembers("{sms_queue}:workers") if r.exists(b"{sms_queue}:heartbeat:" + w)}


def start_live(start_worker: Start, r: Any, count: int, *args: str, **env: str) -> list[WorkerProcess]:
    workers = [start_worker(*args, **env) for _ in range(count)]
    wait_until(lambda: len(live_workers(r)) == count, timeout_s=20, what=f"{count} live workers")
    return workers


def paced_pair(
    start_worker: Start, r: Any, api: FakeSmsApi, tmp_path: Path, bulk_per_s: int
) -> tuple[dict[str, str], list[WorkerProcess]]:
    """Two workers whose bulk lane is held to ``bulk_per_s`` requests a second (the lane's own
    rate limit): a backlog lasts as long on a slow machine as on a fast one. Their environment."""
    env = config(tmp_path, api, LANES + f"rate_limit = {bulk_per_s}\n")
    return env, start_live(start_worker, r, 2, **env)


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_lanes_route_what_producers_push_to_the_unchanged_list(
    start_worker: Start, redis_server: RedisServer, api: ClockedApi, tmp_path: Path
) -> None:
    r: Any = redis_server.client()
    start_live(start_worker, r, 1, **config(tmp_path, api))
    bulk = numbers(2000)
    r.lpush("sms_queue", *(task(BULK, m, "sale") for m in bulk))
    r.lpush("sms_queue", task(OTP, "13800138000", "code 1234"))  # behind 2,000 in the one list
    wait_until(lambda: api.count("+8613800138000"), timeout_s=20, what="the code to be sent")
    code_at = next(at for at, mobile in api.came(OTP) if mobile == "+8613800138000")
    bulk_before = [at for at, _ in api.came(BULK) if at < code_at]
    assert len(bulk_before) < len(bulk) // 10, f"the code waited behind {len(bulk_before)} bulk sends"

    r.lpush("{sms_queue}:lane:otp", task(OTP, "13800138001", "code 5678"))  # the documented direct way
    r.lpush("sms_queue", task(OTP, "13800138002", "lost?", lane="nope"))
    wait_until(lambda: api.count("+8613800138001"), timeout_s=20, what="the lane's own push to be sent")
    wait_until(lambda: r.llen("{sms_queue}:dead"), timeout_s=20, what="the undeclared lane's dead letter")
    envelope = json.loads(r.lindex("{sms_queue}:dead", 0))
    assert envelope["reason"] == "invalid_task" and "'nope'" in envelope["error"], envelope
    assert dead_lettered_mobiles([r.lindex("{sms_queue}:dead", 0)]) == {"13800138002"}
    wait_until(lambda: len(api.delivered) == len(bulk) + 2, timeout_s=30, what="the bulk backlog")
    assert sorted(api.delivered) == sorted({*api.delivered}) and api.count("+8613800138002") == 0


def test_a_scheduled_burst_is_sent_on_time_once_by_two_workers(
    start_worker: Start, redis_server: RedisServer, api: ClockedApi, tmp_path: Path
) -> None:
    r: Any = redis_server.client()
    start_live(start_worker, r, 2, **config(tmp_path, api, http_batch_size=100))
    # How long these two workers take to send 10,000 such tasks pushed plain, on this machine now
    # (measured on a quarter): the burst, once due, is owed no more than that and a few ticks.
    plain = numbers(2500, head="135")
    began = time.monotonic()
    r.lpush("sms_queue", *(task(BULK, m, "plain") for m in plain))
    wait_until(lambda: len(api.delivered) >= len(plain), timeout_s=30, what="the plain tasks to be sent")
    owed = (time.monotonic() - began) * 4
    api.arrivals.clear()

    burst = numbers(10_000)
    # As long ahead as sending them takes: enough to schedule them all, which is less work.
    send_at = time.time() + max(2.0, owed)
    with r.pipeline(transaction=False) as pipe:
        for start in range(0, len(burst), 1000):
            pipe.lpush(
                "sms_queue", *(task(BULK, m, "burst", send_at=send_at) for m in burst[start : start + 1000])
            )
        pipe.execute()
    wait_until(lambda: len(api.came()) >= len(burst), timeout_s=60, what="the burst to be sent")
    came = api.came()
    early = [at for at, _ in came if at < send_at]
    assert not early, f"{len(early)} numbers sent up to {send_at - min(early):.3f} s before send_at"
    twice = {m: n for m, n in Counter(m for _, m in came).items() if n > 1}
    assert not twice, f"{len(twice)} numbers sent twice or more: {sorted(twice)[:5]}"
    assert {m for _, m in came} == {e164(m) for m in burst}
    late = max(at for at, _ in came) - send_at
    assert late <= 2.0 + owed, f"the last number was sent {late:.2f} s after send_at ({owed:.2f} s owed)"
    assert r.zcard("{sms_queue}:scheduled") == 0 and r.llen("{sms_queue}:dead") == 0


def test_a_worker_killed_mid_burst_loses_nothing_and_repeats_only_what_it_had_in_flight(
    start_worker: Start, redis_server: RedisServer, api: ClockedApi, tmp_path: Path
) -> None:
    r: Any = redis_server.client()
    api.delay_s = 0.05  # one number a request (each task's content is its own): a burst of seconds
    victim, _ = start_live(start_worker, r, 2, **config(tmp_path, api, heartbeat_ttl=3))
    burst = numbers(1000, head="139")
    send_at = time.time() + 1.0
    r.lpush("sms_queue", *(task(BULK, m, f"burst {m}", send_at=send_at) for m in burst))
    wait_until(lambda: len(api.delivered) >= len(burst) // 2, timeout_s=20, what="half the burst sent")
    # Frozen, the victim holds in its processing list what it has not settled; its heartbeat stays
    # fresh meanwhile, so nobody recovers the list before it is read.
    victim.send(signal.SIGSTOP)
    frozen_at = time.time()
    worker_id = next(w for w in live_workers(r) if int(w.split(b":")[-2]) == victim.pid)
    processing = r.lrange(b"{sms_queue}:processing:" + worker_id, 0, -1)
    held = {e164(json.loads(element.split(b"\n", 1)[-1])["mobiles"][0]) for element in processing}
    victim.kill()
    # In flight at the kill: what it held (in its processing list: not settled). A request answered
    # but not yet settled is in flight too (how long a settle lags behind its answer depends on the
    # machine's load), and so is one on its way when the process stopped (the fake API may note its
    # arrival after ``frozen_at``): nobody else may send a held number before the list is recovered.
    requested = {m for arrival in list(api.arrivals) if arrival.at < frozen_at for m in arrival.mobiles}
    assert held & requested, "the victim had nothing in flight: the kill meant nothing"
    in_flight = held

    wait_until(lambda: {*api.delivered} >= {e164(m) for m in burst}, timeout_s=30, what="every number sent")
    came = api.came()
    assert min(at for at, _ in came) >= send_at
    twice = {m for m, n in Counter(m for _, m in came).items() if n > 1}
    assert twice <= in_flight, f"sent twice though not in flight at the kill: {sorted(twice - in_flight)}"
    assert r.llen("{sms_queue}:dead") == 0


def faketime_library() -> str:
    found = sorted(glob("/usr/lib/*/faketime/libfaketime.so.1") + glob("/usr/lib/faketime/libfaketime.so.1"))
    if not found:
        raise RuntimeError("libfaketime is not installed: run `make test`, which installs it (faketime)")
    return found[0]


def states(r: Any, task_id: str) -> dict[str, Any]:
    """The task's recipients' states, as ``status --id --json`` prints them."""
    found = r.hgetall(f"{{sms_queue}}:status:{task_id}")
    return {number.decode(): json.loads(state) for number, state in found.items()}


def test_quiet_hours_hold_a_number_until_its_morning_on_a_clock_the_test_sets(
    start_worker: Start, cli: Cli, redis_server: RedisServer, api: ClockedApi, tmp_path: Path
) -> None:
    r: Any = redis_server.client()
    lanes = f'[lanes.night]\ntemplates = [{NIGHT}]\nquiet_hours = "22:00-08:00"\n'
    env = config(tmp_path, api, lanes)
    shanghai, tokyo, london = "+8613800138000", "+819012345678", "+447400123456"
    morning = datetime(2026, 6, 1, 0, 0, tzinfo=UTC).timestamp()  # 08:00 in Shanghai, 09:00 in Tokyo
    london_morning = datetime(2026, 6, 1, 7, 0, tzinfo=UTC).timestamp()  # 08:00 BST
    pushed = {"template_id": NIGHT, "id": "n-1", "mobiles": [shanghai, tokyo, london], "content": "hi"}
    r.lpush("sms_queue", json.dumps(pushed))
    # The worker's clock (time.time(), so WorkerOptions.now) starts at 07:59:51 in Shanghai;
    # monotonic time stays real, and so do its timeouts and waits.
    start_worker(
        **env,
        LD_PRELOAD=faketime_library(),
        FAKETIME="@2026-05-31 23:59:51",
        FAKETIME_DONT_FAKE_MONOTONIC="1",
        TZ="UTC",
    )
    wait_until(lambda: api.count(tokyo), timeout_s=20, what="the Tokyo number, in its day, to be sent")
    wait_until(lambda: len(states(r, "n-1")) == 3, timeout_s=5, what="the three recipients' states")
    shown = states(r, "n-1")
    assert shown[shanghai]["state"] == "deferred" and shown[shanghai]["until"] == morning, shown
    assert shown[london]["state"] == "deferred" and shown[london]["until"] == london_morning, shown
    assert shown[tokyo]["state"] == "sent", shown
    text = cli("status", "--id", "n-1", TZ="Asia/Shanghai", **env).stdout
    lines = {line.split()[0]: line for line in text.splitlines()}
    assert not api.count(shanghai), "the Shanghai number was sent in its quiet hours"
    assert " deferred " in lines[shanghai] and "until=2026-06-01 08:00:00 +0800" in lines[shanghai], text
    assert " deferred " in lines[london] and "until=2026-06-01 15:00:00 +0800" in lines[london], text

    wait_until(lambda: api.count(shanghai), timeout_s=15, what="the Shanghai number at its 08:00")
    wait_until(lambda: states(r, "n-1")[shanghai]["state"] == "sent", what="its state to be sent")
    sent = states(r, "n-1")[shanghai]
    # The worker's own clock says when: at the end of the window, within a tick or two of it.
    assert morning <= sent["at"] <= morning + 1.0, f"sent {sent['at'] - morning:+.3f} s from 08:00"
    assert api.count(shanghai) == 1 and not api.count(london)
    assert states(r, "n-1")[london]["state"] == "deferred"
    assert r.zcard("{sms_queue}:scheduled") == 1  # London's copy, due at its own 08:00


def test_pause_and_resume_a_lane_from_the_command(
    start_worker: Start, cli: Cli, redis_server: RedisServer, api: ClockedApi, tmp_path: Path
) -> None:
    r: Any = redis_server.client()
    env, _ = paced_pair(start_worker, r, api, tmp_path, bulk_per_s=200)
    bulk = numbers(1000)
    r.lpush("sms_queue", *(task(BULK, m, "sale") for m in bulk))
    wait_until(lambda: len(api.came(BULK)) >= 100, timeout_s=20, what="bulk sends to flow")
    paused = cli("pause", "--lane", "bulk", **env)
    paused_at = time.time()
    assert paused.returncode == 0, paused.stderr
    codes = numbers(20, head="138")
    r.lpush("sms_queue", *(task(OTP, m, "code") for m in codes))
    wait_until(
        lambda: time.time() > paused_at + 1.5 and {e164(m) for m in codes} <= {*api.delivered},
        timeout_s=20,
        what="the codes to be sent while bulk is paused (and 1.5 s to pass)",
    )
    after = [at - paused_at for at, _ in api.came(BULK) if at > paused_at + 1.0]
    assert not after, f"{len(after)} bulk sends after the pause, the last {max(after):.2f} s after it"
    assert len(api.came(BULK)) < len(bulk) and r.llen("{sms_queue}:lane:bulk") > 0

    resumed = cli("resume", "--lane", "bulk", **env)
    assert resumed.returncode == 0, resumed.stderr
    everyone = {e164(m) for m in [*bulk, *codes]}
    wait_until(lambda: {*api.delivered} >= everyone, timeout_s=30, what="bulk to be sent after the resume")
    assert sorted(api.delivered) == sorted(everyone) and r.llen("{sms_queue}:dead") == 0


def test_a_campaign_paused_then_cancelled_and_a_scheduled_task_cancelled(
    start_worker: Start, cli: Cli, redis_server: RedisServer, api: ClockedApi, tmp_path: Path
) -> None:
    r: Any = redis_server.client()
    env, _ = paced_pair(start_worker, r, api, tmp_path, bulk_per_s=100)
    # A task due in a while, cancelled as soon as it waits in the schedule; it falls due while the
    # campaign below is dealt with.
    later = {"template_id": OTP, "id": "later-1", "mobiles": ["13900000001"], "content": "later"}
    send_at = time.time() + 6.0
    r.lpush("sms_queue", json.dumps({**later, "send_at": send_at}))
    wait_until(lambda: states(r, "later-1").get("+8613900000001", {}).get("state") == "scheduled", what="it")
    cancelled_one = cli("cancel", "--id", "later-1", **env)
    assert cancelled_one.returncode == 0, cancelled_one.stderr
    assert time.time() < send_at, "the cancel came after the task was due: the test meant nothing"

    spring = numbers(1000)
    r.lpush("sms_queue", *(task(BULK, m, "spring sale", campaign="spring") for m in spring))
    wait_until(lambda: len(api.came(BULK)) >= 50, timeout_s=20, what="the campaign to be under way")
    assert cli("campaign", "pause", "spring", **env).returncode == 0
    began = time.monotonic()
    cancelled = cli("campaign", "cancel", "spring", "--yes", **env)
    cancelled_at, took = time.time(), time.monotonic() - began
    assert cancelled.returncode == 0 and took < 5.0, (took, cancelled.stderr)

    def counters() -> dict[str, int]:
        found = r.hgetall("{sms_queue}:campaign:spring")
        return {k.decode(): int(v) for k, v in found.items()}

    wait_until(
        lambda: (c := counters()).get("sent", 0) + c.get("cancelled", 0) == len(spring),
        timeout_s=20,
        what="every recipient of the campaign sent or cancelled",
    )
    sent = {m for _, m in api.came(BULK)}
    late = [at - cancelled_at for at, _ in api.came(BULK) if at > cancelled_at + 1.0]
    assert not late, f"{len(late)} campaign sends after the cancel, the last {max(late):.2f} s after it"
    shown = cli("campaign", "show", "spring", **env).stdout
    rows = {line[:16].strip(): line[16:] for line in shown.splitlines()[1:]}  # "  <label:14><value>"
    assert rows["state"] == "cancelled" and int(rows["sent"]) == len(sent) < len(spring), shown
    assert int(rows["cancelled"]) == len(spring) - len(sent) and rows["dead"] == "0", shown
    assert r.llen("{sms_queue}:parked:spring") == 0 and r.llen("{sms_queue}:dead") == 0

    cancelled_total = len(spring) - len(sent) + 1  # and the scheduled task's one recipient
    wait_until(
        lambda: int(r.hget("{sms_queue}:stats", "cancelled") or 0) == cancelled_total,
        timeout_s=15,
        what="the scheduled task, once due, to be ended cancelled",
    )
    assert json_of(cli("stats", "--json", **env))["cancelled_total"] == cancelled_total
    assert not api.count("+8613900000001") and r.zcard("{sms_queue}:scheduled") == 0
    assert states(r, "later-1")["+8613900000001"]["state"] == "cancelled"


def test_lanes_and_a_schedule_on_a_cluster_keep_to_the_queue_slot(
    start_worker: Start, cluster: LocalCluster, api: ClockedApi, tmp_path: Path
) -> None:
    cluster.wait_ok()
    client: RedisCluster = cluster.client()
    client.flushall()
    serving = cluster.node_of("sms_queue")
    other = next(node for node in cluster.nodes if node is not serving)
    start_worker(url=f"redis://127.0.0.1:{other.port}", **config(tmp_path, api))
    wait_until(lambda: client.exists("{sms_queue}:workers"), timeout_s=20, what="the worker on the cluster")
    bulk = numbers(200)
    client.lpush("sms_queue", *(task(BULK, m, "sale") for m in bulk))
    client.lpush("sms_queue", task(OTP, "13800138000", "code"))
    send_at = time.time() + 1.5
    client.lpush("sms_queue", task(OTP, "13800138001", "later", id="sched-1", send_at=send_at))
    wait_until(lambda: client.zcard("{sms_queue}:scheduled") == 1, timeout_s=10, what="the task scheduled")
    slot = key_slot(b"sms_queue")
    keys: list[bytes] = client.keys("*")  # type: ignore[assignment]
    assert keys and {key_slot(k) for k in keys} == {slot}, keys
    wait_until(lambda: len(api.delivered) == len(bulk) + 2, timeout_s=30, what="every task sent")
    later = [at for at, m in api.came() if m == "+8613800138001"]
    assert later == [later[0]] and send_at <= later[0] <= send_at + 1.5
    assert sorted(api.delivered) == sorted({*api.delivered})
    keys = client.keys("*")  # type: ignore[assignment]
    assert {key_slot(k) for k in keys} == {slot}, keys
    client.close()
