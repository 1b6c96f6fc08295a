"""``make chaos``: break things under load, count what was lost (must be 0) and sent twice.

Every scenario runs real processes (redis-server, the fake API, smsworker) and reports:
- lost: recipients neither received by the provider nor in the dead-letter list;
- duplicates: recipients the provider received more than once, against what the guarantees allow
  (the provider calls in flight at each fault);
- resume_s: from the end of the fault to the first send after it.

    python -m bench.chaos [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.harness import SIGTERM, Api, Proc, Rig, mobiles, php_task, rig, wait_for
from smsworker.store import scripts
from tests.support.dead_letters import dead_lettered_mobiles
from tests.support.redis_proxy import RedisProxy, script

RECIPIENTS_PER_TASK = 5


@dataclass
class Outcome:
    scenario: str
    recipients: int
    lost: int
    duplicates: int
    allowed_duplicates: int
    dead_lettered: int
    resume_s: float | None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicates <= self.allowed_duplicates


def _fill(
    rig: Rig, tasks: int, start: int = 0, *, ids: bool = False, per_task: int = RECIPIENTS_PER_TASK
) -> list[str]:
    """Tasks of ``per_task`` recipients as the seed writes them, one text for all (a campaign);
    with ``ids``, every other one has an id."""
    numbers = mobiles(start, tasks * per_task)
    payloads = []
    for n, i in enumerate(range(0, len(numbers), per_task)):
        task = {"template_id": 1, "mobiles": numbers[i : i + per_task], "content": "Test SMS"}
        if ids and n % 2:
            task["id"] = f"order-{n}"
        payloads.append(json.dumps(task, separators=(",", ":")).encode())
    rig.fill(payloads)
    return ["+86" + n for n in numbers]


def _dead_lettered(rig: Rig) -> set[str]:
    return {"+86" + m for m in dead_lettered_mobiles(rig.redis.lrange("{sms_queue}:dead", 0, -1))}


def _settled(rig: Rig) -> bool:
    # One transaction: read one after the other, a task put back from a processing list onto the
    # queue between the two reads would be seen in neither, and the run would end without it.
    pipe = rig.redis.pipeline(transaction=True)
    pipe.llen("sms_queue")
    pipe.keys("{sms_queue}:processing:*")
    queued, processing = pipe.execute()
    return queued == 0 and not processing


def _outcome(
    name: str, rig: Rig, api: Api, expected: list[str], allowed: int, resume_s: float | None, note: str = ""
) -> Outcome:
    received = api.received()
    dead = _dead_lettered(rig)
    delivered = set(received)
    return Outcome(
        scenario=name,
        recipients=len(expected),
        lost=len(set(expected) - delivered - dead),
        duplicates=sum(len(times) - 1 for times in received.values()),
        allowed_duplicates=allowed,
        dead_lettered=len(dead),
        resume_s=None if resume_s is None else round(resume_s, 2),
        note=note,
    )


def _resume_after(api: Api, moment: float, timeout_s: float = 60) -> float:
    """Seconds from ``moment`` to the first send after it (waiting for one)."""
    wait_for(lambda: api.stats()["last"] > moment, timeout_s=timeout_s, what="a send after the fault")
    return min(t for times in api.received().values() for t in times if t > moment) - moment


def _worker(rig: Rig, api: Api, *args: str, **env: str) -> Proc:
    return rig.smsworker(
        "run", "--provider", "http", "--http-url", api.url, "--heartbeat-ttl", "5", *args, **env
    )


def _mid_run(rig: Rig, api: Api, *, sent: int, in_flight: int) -> None:
    """Wait until ``sent`` recipients went out and more than ``in_flight`` tasks are still queued, so
    the fault lands under load and there is work left to resume (a small run can finish first)."""
    wait_for(
        lambda: api.stats()["distinct"] > sent and rig.redis.llen("sms_queue") > in_flight,
        timeout_s=30,
        what="sending to start, with work left",
    )


def _wait_started(proc: Proc) -> None:
    wait_for(lambda: '"worker.started"' in proc.log.read_text(), timeout_s=30, what="a worker to start")


def _stop(*procs: Proc) -> None:
    for proc in procs:
        proc.signal(SIGTERM)
    for proc in procs:
        proc.wait(timeout_s=60)


def sigkill_storm(rig: Rig, scale: float, *, grouped: bool = False) -> Outcome:
    """SIGKILL one of two workers at random moments, restart it at once; 20 times. ``grouped``:
    one-recipient tasks of one campaign, 20 to a request (cross-task batching), ids on half."""
    kills = max(3, round(20 * scale))
    api = rig.api(latency_ms=20)
    batch = 20 if grouped else 1
    tasks = max(200, round(4000 * scale)) * (RECIPIENTS_PER_TASK if grouped else 1)
    expected = _fill(rig, tasks, ids=grouped, per_task=1 if grouped else RECIPIENTS_PER_TASK)
    concurrency = 8
    flags = ("--concurrency", str(concurrency), "--http-batch-size", str(batch))
    workers = [_worker(rig, api, *flags) for _ in range(2)]
    resumes = []
    rng = random.Random(20261121)
    for _ in range(kills):
        time.sleep(rng.uniform(0.2, 1.0))
        victim = rng.randrange(2)
        workers[victim].signal(9)
        workers[victim].wait(timeout_s=10)
        killed_at = time.time()
        workers[victim] = _worker(rig, api, *flags)
        resumes.append(_resume_after(api, killed_at))
    wait_for(lambda: _settled(rig), timeout_s=600, what="the queue to drain")
    _stop(*workers)
    outcome = _outcome(
        f"SIGKILL x{kills}, 2 workers" + (", tasks sharing requests" if grouped else ""),
        rig,
        api,
        expected,
        # What a killed worker had in flight: each request carries up to a batch of recipients.
        kills * concurrency * batch,
        max(resumes),
        note="resume: worst of the kills",
    )
    api.stop()
    return outcome


def redis_restart(rig: Rig, scale: float) -> Outcome:
    """Restart redis-server (appendonly yes) under load; the worker reconnects by itself."""
    api = rig.api(latency_ms=10)
    expected = _fill(rig, max(500, round(3000 * scale)))
    worker = _worker(rig, api, "--concurrency", "8")
    _mid_run(rig, api, sent=50, in_flight=8)
    rig.redis_server.stop()
    time.sleep(2)
    rig.redis_server.start()
    back_at = time.time()
    resumed = _resume_after(api, back_at)
    wait_for(lambda: _settled(rig), timeout_s=600, what="the queue to drain")
    _stop(worker)
    outcome = _outcome("redis-server restart", rig, api, expected, 8, resumed)
    api.stop()
    return outcome


def redis_freeze(rig: Rig, scale: float) -> Outcome:
    """SIGSTOP redis-server for 8 s under load: past the client's socket timeout (6 s) and the
    heartbeat TTL (5 s), so calls time out while Redis still runs them on waking, and heartbeats
    expire under live workers."""
    api = rig.api(latency_ms=10)
    expected = _fill(rig, max(500, round(3000 * scale)))
    concurrency = 8
    workers = [_worker(rig, api, "--concurrency", str(concurrency)) for _ in range(2)]
    _mid_run(rig, api, sent=50, in_flight=2 * concurrency)
    server = rig.redis_server.process
    assert server is not None
    server.send_signal(signal.SIGSTOP)
    time.sleep(8)
    server.send_signal(signal.SIGCONT)
    thawed = time.time()
    resumed = _resume_after(api, thawed)
    wait_for(lambda: _settled(rig), timeout_s=600, what="the queue to drain")
    _stop(*workers)
    # A live worker judged dead while Redis slept has its calls in flight sent again.
    recovered = sum(p.log.read_text().count('"worker.recovered"') for p in workers)
    note = f"heartbeats (5 s) expired in the freeze; live workers recovered by the other: {recovered}"
    outcome = _outcome(
        "redis-server frozen 8 s (SIGSTOP)", rig, api, expected, 2 * concurrency, resumed, note
    )
    api.stop()
    return outcome


def worker_freeze(rig: Rig, scale: float) -> Outcome:
    """SIGSTOP one of two workers for 8 s, past its 5 s heartbeat: the other takes its tasks over
    while it is frozen. Woken, it must not send again what the other took (its heartbeat is in
    doubt, so it reserves each request again); only its calls in flight at the stop may repeat."""
    api = rig.api(latency_ms=20)
    expected = _fill(rig, max(200, round(3000 * scale)))
    concurrency = 8
    frozen, other = (_worker(rig, api, "--concurrency", str(concurrency)) for _ in range(2))
    # Both registered (and beating) before the freeze: a worker frozen before it registered has no
    # heartbeat to expire, and nothing would ever be taken over.
    for worker in (frozen, other):
        _wait_started(worker)
    wait_for(lambda: api.stats()["distinct"] > 50, timeout_s=30, what="sending to start")
    frozen.signal(signal.SIGSTOP)
    wait_for(lambda: '"worker.recovered"' in other.log.read_text(), timeout_s=30, what="the take-over")
    time.sleep(2)  # the other worker sends what it took over while this one sleeps
    frozen.signal(signal.SIGCONT)  # the other never stopped sending: no resume time to measure
    wait_for(lambda: _settled(rig), timeout_s=600, what="the queue to drain")
    _stop(frozen, other)
    skipped = frozen.log.read_text().count('"task.settle_skipped"')
    note = f"taken over while frozen; {skipped} of its settles skipped on waking"
    outcome = _outcome("a worker frozen past its heartbeat", rig, api, expected, concurrency, None, note)
    api.stop()
    return outcome


def lost_replies(rig: Rig, scale: float) -> Outcome:
    """A proxy between the workers and Redis loses the reply to a claim, stamp, reservation, progress
    mark or settle (Redis did it; the worker sees the connection close), one after another, until
    everything is sent."""
    api = rig.api(latency_ms=5)
    expected = _fill(rig, max(200, round(2000 * scale)), ids=True)  # ids: reservations too
    proxy = RedisProxy(rig.redis_server.port)
    calls = [scripts.TAKE, scripts.STAMP, scripts.RESERVE, scripts.FINISH, scripts.SETTLE]
    workers = [_worker(rig, api, "--concurrency", "8", SMSWORKER_REDIS_URL=proxy.url) for _ in range(2)]
    rng = random.Random(20261121)
    lost = 0
    started = time.time()
    while not _settled(rig) and time.time() - started < 600:
        fault = proxy.lose_reply(script(rng.choice(calls)))  # one at a time: the next once it hit
        fault.fired.wait(2)
        lost += proxy.disarm(fault)
        time.sleep(0.2)
    wait_for(lambda: _settled(rig), timeout_s=600, what="the queue to drain")
    _stop(*workers)
    proxy.close()
    outcome = _outcome("lost replies under load", rig, api, expected, 0, None, note=f"{lost} replies lost")
    api.stop()
    return outcome


def provider_outage(rig: Rig, scale: float, *, within_budget: bool) -> Outcome:
    """503 for 30 s, then healthy. Within the retry budget nothing is dead-lettered; with a short
    budget everything is, and `dlq replay` then sends it."""
    outage_s = max(3.0, 30 * scale)
    api = rig.api()
    api.set_mode("503")
    expected = _fill(rig, max(40, round(400 * scale)))
    budget = (
        ["--max-attempts", "15", "--backoff-base", "1", "--backoff-max", "10"]
        if within_budget
        else ["--max-attempts", "2", "--backoff-base", "0.1", "--backoff-max", "0.2"]
    )
    worker = _worker(rig, api, "--concurrency", "8", *budget)
    time.sleep(outage_s)
    api.set_mode("ok")
    healthy_at = time.time()
    if within_budget:
        resumed: float | None = _resume_after(api, healthy_at)
        wait_for(lambda: _settled(rig), timeout_s=300, what="the queue to drain")
        _stop(worker)
        name, note = f"provider 503 for {outage_s:.0f} s, within the retry budget", ""
        if rig.redis.llen("{sms_queue}:dead"):
            note = "dead-lettered inside the budget"
    else:
        wait_for(lambda: _settled(rig), timeout_s=300, what="everything to be dead-lettered")
        _stop(worker)
        dead_before = len(_dead_lettered(rig))
        replay = rig.smsworker("dlq", "replay")
        replay.wait(timeout_s=60)
        drained = rig.smsworker("drain", "--provider", "http", "--http-url", api.url)
        drained.wait(timeout_s=300)
        resumed = _resume_after(api, healthy_at)
        name = f"provider 503 for {outage_s:.0f} s, short budget, then dlq replay"
        note = f"{dead_before} dead-lettered, then replayed"
    outcome = _outcome(name, rig, api, expected, 0, resumed, note)
    api.stop()
    return outcome


def provider_hangs(rig: Rig, scale: float) -> Outcome:
    """The provider accepts connections and never answers for a while: timeouts, then recovery."""
    api = rig.api()
    api.set_mode("hang")
    expected = _fill(rig, max(20, round(100 * scale)))
    worker = _worker(
        rig,
        api,
        "--concurrency",
        "8",
        "--http-timeout",
        "1",
        "--max-attempts",
        "10",
        "--backoff-base",
        "0.2",
        "--backoff-max",
        "1",
    )
    time.sleep(3)
    api.set_mode("ok")
    healthy_at = time.time()
    resumed = _resume_after(api, healthy_at)
    wait_for(lambda: _settled(rig), timeout_s=300, what="the queue to drain")
    _stop(worker)
    outcome = _outcome("provider hangs for 3 s (timeouts)", rig, api, expected, 0, resumed)
    api.stop()
    return outcome


def sigterm_under_load(rig: Rig, scale: float) -> Outcome:
    """SIGTERM mid-load: exits within the shutdown timeout; a second worker finishes; no duplicates."""
    api = rig.api(latency_ms=50)
    expected = _fill(rig, max(200, round(2000 * scale)))
    worker = _worker(rig, api, "--concurrency", "16", "--shutdown-timeout", "10")
    _mid_run(rig, api, sent=100, in_flight=16)
    asked = time.time()
    worker.signal(SIGTERM)
    code = worker.wait(timeout_s=60)
    exit_s = time.time() - asked
    restarted_at = time.time()
    successor = _worker(rig, api, "--concurrency", "16")
    resumed = _resume_after(api, restarted_at)
    wait_for(lambda: _settled(rig), timeout_s=600, what="the queue to drain")
    _stop(successor)
    note = f"exit code {code} after {exit_s:.2f} s (timeout 10 s)"
    outcome = _outcome("SIGTERM under load", rig, api, expected, 0, resumed, note)
    if code != 0 or exit_s > 10:
        outcome.lost = max(outcome.lost, 1)  # a failed graceful stop fails the scenario
    api.stop()
    return outcome


def flooded_queue(rig: Rig, scale: float) -> Outcome:
    """Slow consumer, fast producer: 1,000,000 tasks queued; the worker's memory stays flat."""
    queued = max(10_000, round(1_000_000 * scale))
    chunk = 10_000
    for start in range(0, queued, chunk):
        rig.fill([php_task(1, [n]) for n in mobiles(start, min(chunk, queued - start))])
    api = rig.api(latency_ms=50)
    worker = _worker(rig, api, "--concurrency", "8")
    wait_for(lambda: api.stats()["distinct"] > 100, timeout_s=30, what="sending to start")
    samples = []
    for _ in range(max(5, round(20 * scale))):
        time.sleep(1)
        samples.append(worker.rss_mb())
    _stop(worker)
    left = int(rig.redis.llen("sms_queue"))
    received = api.stats()
    growth = samples[-1] - samples[0]
    outcome = Outcome(
        scenario=f"{queued:,} tasks queued, slow provider",
        recipients=received["distinct"],
        # After a graceful stop every task is either sent or back in the queue.
        lost=queued - left - received["distinct"],
        duplicates=received["duplicates"],
        allowed_duplicates=0,
        dead_lettered=0,
        resume_s=None,
        note=f"RSS {samples[0]:.1f} -> {samples[-1]:.1f} MB over {len(samples)} s; {left:,} left queued",
    )
    if growth > 5:
        outcome.note += " - MEMORY GREW"
        outcome.lost = max(outcome.lost, 1)
    api.stop()
    return outcome


SCENARIOS: dict[str, Callable[[Rig, float], Outcome]] = {
    "sigkill": sigkill_storm,
    "sigkill-grouped": lambda r, s: sigkill_storm(r, s, grouped=True),
    "redis-restart": redis_restart,
    "redis-freeze": redis_freeze,
    "worker-freeze": worker_freeze,
    "lost-replies": lost_replies,
    "outage-within-budget": lambda r, s: provider_outage(r, s, within_budget=True),
    "outage-then-replay": lambda r, s: provider_outage(r, s, within_budget=False),
    "provider-hangs": provider_hangs,
    "sigterm": sigterm_under_load,
    "flooded-queue": flooded_queue,
}


def run_all(workdir: Path, scale: float) -> list[Outcome]:
    outcomes = []
    for name, scenario in SCENARIOS.items():
        with rig(workdir / name, appendonly=True) as current:
            outcomes.append(scenario(current, scale))
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| scenario | recipients | lost | duplicates (allowed) | dead-lettered | resume | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        resume = "-" if o.resume_s is None else f"{o.resume_s} s"
        lines.append(
            f"| {o.scenario} | {o.recipients:,} | **{o.lost}** | {o.duplicates} ({o.allowed_duplicates}) | "
            f"{o.dead_lettered} | {resume} | {o.note} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="smsworker chaos scenarios")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smsworker-chaos-") as tmp:
        outcomes = run_all(Path(tmp), args.scale)
    text = f"Measured by `make chaos` (python -m bench.chaos --scale {args.scale}).\n\n" + table(outcomes)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chaos.md").write_text(text + "\n")
    (args.out / "chaos.json").write_text(json.dumps([asdict(o) for o in outcomes], indent=2) + "\n")
    print(text)
    if not all(o.ok for o in outcomes):
        raise SystemExit("chaos: something was lost or sent twice beyond what the guarantees allow")


if __name__ == "__main__":
    main()
