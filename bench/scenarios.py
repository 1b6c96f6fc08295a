"""The benchmark scenarios. Each returns plain figures; ``run.py`` prints and saves them.

``scale`` shrinks every count (1.0 is the full run, 0.01 the smoke run in ``make test``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from bench.harness import SIGTERM, Api, Proc, Rig, mobiles, percentile, php_task, wait_for
from bench.lanes import lanes, routing, routing_against


@dataclass
class Throughput:
    runner: str
    recipients: int
    lost: int
    duplicates: int
    per_s: float
    peak_rss_mb: float | None
    exit_code: int
    requests: int = 0
    # CPU of the runner's processes per recipient sent, less what starting and stopping costs.
    cpu_ms_per_send: float | None = None

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
    extra: tuple[str, ...] = (),
    label: str = "",
) -> Throughput:
    """Fill the queue, run the runner until it is empty; the rate counts from the first request
    (the fake provider notes each recipient when it answers: less the latency) to the last answer."""
    rig.redis.flushall()
    idle_cpu_s = _run_cpu_s(rig, runner, Api(latency_ms), concurrency, batch, processes, extra)
    api = Api(latency_ms)
    try:
        numbers = mobiles(0, tasks * per_task)
        rig.fill([php_task(1, numbers[i * per_task : (i + 1) * per_task]) for i in range(tasks)])
        proc = _start(rig, runner, api, concurrency, batch, processes=processes, extra=extra)
        code = proc.wait(timeout_s=1800)
        stats = api.stats()
        elapsed = max(stats["last"] - stats["first"] + latency_ms / 1000, 1e-9)
        cpu_s = proc.cpu_s
        return Throughput(
            runner=label or (runner if processes == 1 else f"{runner} --processes {processes}"),
            recipients=stats["recipients"],
            lost=len(numbers) - stats["distinct"],
            duplicates=stats["duplicates"],
            per_s=round(stats["distinct"] / elapsed, 1),
            peak_rss_mb=None if proc.peak_rss_mb is None else round(proc.peak_rss_mb, 1),
            exit_code=code,
            requests=stats["requests"],
            cpu_ms_per_send=None
            if cpu_s is None
            else round(max(0.0, cpu_s - idle_cpu_s) * 1000 / max(stats["distinct"], 1), 3),
        )
    finally:
        api.stop()


def _run_cpu_s(
    rig: Rig, runner: str, api: Api, concurrency: int, batch: int, processes: int, extra: tuple[str, ...]
) -> float:
    """CPU seconds the runner spends starting, finding an empty queue and exiting: subtracted from
    a measured run, so CPU per send counts the sending only."""
    try:
        proc = _start(rig, runner, api, concurrency, batch, processes=processes, extra=extra)
        proc.wait(timeout_s=120)
        return proc.cpu_s or 0.0
    finally:
        api.stop()


def _start(
    rig: Rig,
    runner: str,
    api: Api,
    concurrency: int,
    batch: int,
    *,
    daemon: bool = False,
    processes: int = 1,
    extra: tuple[str, ...] = (),
) -> Proc:
    if runner == "bare loop":
        return rig.bareloop(api, "--concurrency", str(concurrency), *(["--forever"] if daemon else []))
    return rig.smsworker(
        "run" if daemon else "drain",
        "--provider",
        "http",
        "--http-url",
        api.url,
        "--concurrency",
        str(concurrency),
        "--http-batch-size",
        str(batch),
        "--processes",
        str(processes),
        *extra,
    )


def idle_latency(rig: Rig, runner: str, *, count: int, per_s: float = 50.0) -> dict[str, Any]:
    """Push single tasks one at a time to a waiting runner; LPUSH-to-receive latency."""
    rig.redis.flushall()
    api = Api(0)
    proc = _start(rig, runner, api, 16, 1, daemon=True)
    try:
        _warm_up(rig, api, runner)
        latencies_ms = _latencies_ms(api, _push_singles(rig, count=count, per_s=per_s, start=0))
        return {"runner": runner, "tasks": count, **_spread(latencies_ms)}
    finally:
        proc.signal(SIGTERM)
        proc.wait(timeout_s=60)
        api.stop()


def _warm_up(rig: Rig, api: Api, runner: str) -> None:
    rig.redis.lpush("sms_queue", php_task(1, mobiles(90_000_000, 1)))
    wait_for(lambda: api.stats()["distinct"] >= 1, timeout_s=30, what=f"{runner} to start")


def _push_singles(
    rig: Rig, *, count: int, per_s: float, start: int, distinct_text: bool = False
) -> dict[str, float]:
    """Push ``count`` one-recipient tasks at ``per_s``; the time each was pushed, by number.
    With ``distinct_text`` each is its own message (a one-time code), so none can share a request."""
    pushed: dict[str, float] = {}
    for i, number in enumerate(mobiles(start, count)):
        pushed["+86" + number] = time.time()
        content = f"Your code is {i:06d}" if distinct_text else "Test SMS"
        rig.redis.lpush("sms_queue", php_task(1, [number], content))
        time.sleep(1 / per_s)
    return pushed


def _latencies_ms(api: Api, pushed: dict[str, float]) -> list[float]:
    """LPUSH-to-answer time of each pushed number, once all have arrived."""
    wait_for(lambda: all(m in api.received() for m in pushed), timeout_s=600, what="every task to arrive")
    received = api.received()
    return [(received[m][0] - t) * 1000 for m, t in pushed.items()]


def _spread(latencies_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies_ms, 50), 2),
        "p99_ms": round(percentile(latencies_ms, 99), 2),
        "max_ms": round(max(latencies_ms), 2),
    }


def otp_latency(
    rig: Rig, *, otps: int, campaign_per_s: float, group: bool, batch: int = 100, latency_ms: float = 50
) -> dict[str, Any]:
    """One-time codes (each its own text) pushed at 20/s to a waiting worker, alone or while a
    campaign (one text, one recipient a task) is pushed at ``campaign_per_s`` beside them."""
    rig.redis.flushall()
    api = Api(latency_ms)
    proc = rig.smsworker(
        "run",
        "--provider",
        "http",
        "--http-url",
        api.url,
        "--concurrency",
        "16",
        "--http-batch-size",
        str(batch),
        *([] if group else ["--no-group-tasks"]),
    )
    stop = threading.Event()
    pushed_campaign = [0]

    def campaign() -> None:  # the PHP app's foreach, paced: one chunk every 10 ms
        started, n = time.monotonic(), 0
        while not stop.is_set():
            due = int((time.monotonic() - started) * campaign_per_s)
            if due > n:
                rig.redis.lpush("sms_queue", *[php_task(1, [m]) for m in mobiles(50_000_000 + n, due - n)])
                n = due
            time.sleep(0.01)
        pushed_campaign[0] = n

    try:
        _warm_up(rig, api, "smsworker")
        pusher = threading.Thread(target=campaign, daemon=True)
        if campaign_per_s:
            pusher.start()
        pushed = _push_singles(rig, count=otps, per_s=20, start=0, distinct_text=True)
        stop.set()  # the campaign is pushed while the codes are
        if campaign_per_s:
            pusher.join()
        latencies_ms = _latencies_ms(api, pushed)
        total = otps + 1 + pushed_campaign[0]
        wait_for(lambda: api.stats()["distinct"] >= total, timeout_s=600, what="the campaign to arrive")
        stats = api.stats()
        return {
            "campaign_per_s": campaign_per_s,
            "grouping": group,
            "otps": otps,
            "campaign_tasks": pushed_campaign[0],
            "requests": stats["requests"],
            "lost": total - stats["distinct"],
            "duplicates": stats["duplicates"],
            **_spread(latencies_ms),
        }
    finally:
        stop.set()
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


# Every scenario, in the order run_all runs them; (i) compares with (h), so it brings (h) along.
SCENARIOS = "abcdfghie"


def run_all(rig: Rig, scale: float, only: str = SCENARIOS) -> dict[str, Any]:
    """The scenarios whose letters are in ``only``; each result under its letter."""
    results: dict[str, Any] = {"scale": scale}
    if "a" in only:
        results["a"] = _a(rig, scale)
    if "b" in only:
        results["b"] = _b(rig, scale)
    if "c" in only:
        count = _count(200, scale)
        results["c"] = {"runs": [idle_latency(rig, r, count=count) for r in ("bare loop", "smsworker")]}
    if "d" in only:
        d: dict[str, Any] = {
            "tasks": _count(200, scale),
            "per_task": 1000,
            "latency_ms": 50,
            "concurrency": 16,
            "batch": 1000,
        }
        results["d"] = {"params": d, "runs": [throughput(rig, "smsworker", **d).as_dict()]}
    if "f" in only:
        results["f"] = _f(rig, scale)
    if "g" in only:
        otps = _count(200, scale)
        results["g"] = {
            "runs": [
                otp_latency(rig, otps=otps, campaign_per_s=0, group=True),
                otp_latency(rig, otps=otps, campaign_per_s=1000, group=True),
                otp_latency(rig, otps=otps, campaign_per_s=1000, group=False),
            ]
        }
    if "h" in only or "i" in only:
        results["h"] = lanes(rig, campaign_tasks=_count(50_000, scale), idle_codes=_count(200, scale))
    if "i" in only:
        results["i"] = routing_against(routing(rig, elements=_count(50_000, scale)), results["h"])
    if "e" in only:
        marks = [_count(100_000, scale), _count(1_000_000, scale)]
        at_64 = results["b"]["runs"][1]["peak_rss_mb"] if "b" in results else None
        results["e"] = {"peak_rss_mb_at_64": at_64, **memory(rig, checkpoints=marks)}
    return results


def _a(rig: Rig, scale: float) -> dict[str, Any]:
    a: dict[str, Any] = {"tasks": _count(10_000, scale), "per_task": 1, "latency_ms": 0}
    return {
        "params": {**a, "concurrency": 16},
        "runs": [
            throughput(rig, "bare loop", **a, concurrency=1, label="bare loop, 1 thread").as_dict(),
            throughput(rig, "bare loop", **a, concurrency=16, label="bare loop, 16 threads").as_dict(),
            throughput(rig, "smsworker", **a, concurrency=16).as_dict(),
            throughput(rig, "smsworker", **a, concurrency=8, processes=2).as_dict(),
        ],
    }


def _b(rig: Rig, scale: float) -> dict[str, Any]:
    runs = []
    b: dict[str, Any] = {"tasks": _count(2_000, scale), "per_task": 5, "latency_ms": 50}
    for concurrency in (64, 256):
        for runner, processes in (("bare loop", 1), ("smsworker", 1), ("smsworker", 2)):
            run = throughput(rig, runner, **b, concurrency=concurrency // processes, processes=processes)
            row = run.as_dict()
            row["params"] = {**b, "concurrency": concurrency}
            row["ideal_per_s"] = concurrency / 0.050
            row["of_ideal"] = round(row["per_s"] / row["ideal_per_s"], 3)
            runs.append(row)
    return {"runs": runs}


def _f(rig: Rig, scale: float) -> dict[str, Any]:
    f: dict[str, Any] = {
        "tasks": _count(10_000, scale),
        "per_task": 1,
        "latency_ms": 50,
        "concurrency": 16,
        "batch": 100,
    }
    return {
        "params": f,
        "runs": [
            throughput(rig, "smsworker", **f, label="grouping on").as_dict(),
            throughput(rig, "smsworker", **f, extra=("--no-group-tasks",), label="grouping off").as_dict(),
        ],
    }
