"""The benchmark scenarios. Each returns plain figures; ``run.py`` prints and saves them.

``scale`` shrinks every count (1.0 is the full run, 0.01 the smoke run in ``make test``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from bench.harness import SIGTERM, Api, Proc, Rig, mobiles, percentile, php_task, wait_for


@dataclass
class Throughput:
    runner: str
    recipients: int
    lost: int
    duplicates: int
    per_s: float
    peak_rss_mb: float | None
    exit_code: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _count(n: float, scale: float) -> int:
    return max(2, round(n * scale))


def throughput(
    rig: Rig,
    runner: str,
    *,
    tasks: int,
    per_task: int,
    latency_ms: float,
    concurrency: int,
    batch: int = 1,
    processes: int = 1,
) -> Throughput:
    """Fill the queue, run the runner until it is empty, rate from first to last receive."""
    rig.redis.flushall()
    api = Api(latency_ms)
    try:
        numbers = mobiles(0, tasks * per_task)
        rig.fill([php_task(1, numbers[i * per_task : (i + 1) * per_task]) for i in range(tasks)])
        proc = _start(rig, runner, api, concurrency, batch, processes=processes)
        code = proc.wait(timeout_s=1800)
        stats = api.stats()
        elapsed = max(stats["last"] - stats["first"], 1e-9)
        return Throughput(
            runner=runner if processes == 1 else f"{runner} --processes {processes}",
            recipients=stats["recipients"],
            lost=len(numbers) - stats["distinct"],
            duplicates=stats["duplicates"],
            per_s=round(stats["distinct"] / elapsed, 1),
            peak_rss_mb=None if proc.peak_rss_mb is None else round(proc.peak_rss_mb, 1),
            exit_code=code,
        )
    finally:
        api.stop()


def _start(
    rig: Rig, runner: str, api: Api, concurrency: int, batch: int, *, daemon: bool = False, processes: int = 1
) -> Proc:
    if runner == "bare loop":
        return rig.bareloop(api, "--concurrency", str(concurrency), *(["--forever"] if daemon else []))
    return rig.smsworker(
        "run" if daemon else "drain",
        "--provider", "http", "--http-url", api.url, "--concurrency", str(concurrency),
        "--http-batch-size", str(batch), "--processes", str(processes),
    )  # fmt: skip


def idle_latency(rig: Rig, runner: str, *, count: int, per_s: float = 50.0) -> dict[str, Any]:
    """Push single tasks one at a time to a waiting runner; LPUSH-to-receive latency."""
    rig.redis.flushall()
    api = Api(0)
    proc = _start(rig, runner, api, 16, 1, daemon=True)
    try:
        warm_up = mobiles(90_000_000, 1)
        rig.redis.lpush("sms_queue", php_task(1, warm_up))
        wait_for(lambda: api.stats()["distinct"] >= 1, timeout_s=30, what=f"{runner} to start")
        numbers = mobiles(0, count)
        pushed: dict[str, float] = {}
        for number in numbers:
            pushed["+86" + number] = time.time()
            rig.redis.lpush("sms_queue", php_task(1, [number]))
            time.sleep(1 / per_s)
        wait_for(lambda: api.stats()["distinct"] >= count + 1, timeout_s=60, what="every task to arrive")
        received = api.received()
        latencies_ms = [(received[m][0] - t) * 1000 for m, t in pushed.items()]
        return {
            "runner": runner,
            "tasks": count,
            "p50_ms": round(percentile(latencies_ms, 50), 2),
            "p99_ms": round(percentile(latencies_ms, 99), 2),
            "max_ms": round(max(latencies_ms), 2),
        }
    finally:
        proc.signal(SIGTERM)
        proc.wait(timeout_s=60)
        api.stop()


def memory(rig: Rig, *, checkpoints: list[int]) -> dict[str, Any]:
    """RSS of ``smsworker run`` with the log provider as it works through a long queue."""
    rig.redis.flushall()
    total = checkpoints[-1]
    chunk = 10_000
    for start in range(0, total, chunk):
        rig.fill([php_task(1, [n]) for n in mobiles(start, min(chunk, total - start))])
    proc = rig.smsworker("run", "--provider", "log", "--concurrency", "16")
    rss: dict[str, float] = {}
    started = time.monotonic()
    try:
        for mark in checkpoints:
            wait_for(partial(_reached, rig, mark), timeout_s=3600, what=f"{mark} tasks", every_s=0.05)
            rss[str(mark)] = round(proc.rss_mb(), 1)
        elapsed = time.monotonic() - started
    finally:
        proc.signal(SIGTERM)
        proc.wait(timeout_s=120)
    return {
        "rss_mb_after": rss,
        "peak_rss_mb": proc.peak_rss_mb and round(proc.peak_rss_mb, 1),
        "tasks_per_s": round(total / elapsed, 1),
    }


def _reached(rig: Rig, mark: int) -> bool:
    return int(rig.redis.hget("{sms_queue}:stats", "tasks") or 0) >= mark


def run_all(rig: Rig, scale: float) -> dict[str, Any]:
    results: dict[str, Any] = {"scale": scale}
    a = {"tasks": _count(10_000, scale), "per_task": 1, "latency_ms": 0}
    results["a"] = {
        "params": {**a, "concurrency": 16},
        "runs": [
            throughput(rig, "bare loop", **a, concurrency=16).as_dict(),
            throughput(rig, "smsworker", **a, concurrency=16).as_dict(),
            throughput(rig, "smsworker", **a, concurrency=8, processes=2).as_dict(),
        ],
    }
    results["b"] = {"runs": []}
    for concurrency in (64, 256):
        b = {"tasks": _count(2_000, scale), "per_task": 5, "latency_ms": 50}
        for processes in (1, 2):
            run = throughput(rig, "smsworker", **b, concurrency=concurrency // processes, processes=processes)
            row = run.as_dict()
            row["params"] = {**b, "concurrency": concurrency}
            row["ideal_per_s"] = concurrency / 0.050
            row["of_ideal"] = round(row["per_s"] / row["ideal_per_s"], 3)
            results["b"]["runs"].append(row)
    count = _count(200, scale)
    results["c"] = {"runs": [idle_latency(rig, r, count=count) for r in ("bare loop", "smsworker")]}
    d = {"tasks": _count(200, scale), "per_task": 1000, "latency_ms": 50, "concurrency": 16, "batch": 1000}
    results["d"] = {"params": d, "runs": [throughput(rig, "smsworker", **d).as_dict()]}
    marks = [_count(100_000, scale), _count(1_000_000, scale)]
    results["e"] = {
        "peak_rss_mb_at_64": results["b"]["runs"][0]["peak_rss_mb"],
        **memory(rig, checkpoints=marks),
    }
    return results
