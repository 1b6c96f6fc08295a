"""Lanes beside a campaign, each figure against a baseline of the same run.

(h) One-time codes (template 1, lane ``otp``) pushed one at a time to a worker with lanes, first with
nothing else queued (the idle p99), then while it works through a campaign (template 2, lane
``bulk``) pushed all at once: the codes' p99 beside the campaign against the idle one, and the
campaign's rate with the codes flowing against the same campaign alone.

(i) Routing: how many elements a second ``take.lua`` moves from the queue into the lanes (a take of
nothing, so routing alone is timed), against the tasks a second the worker sent in (h)'s campaign.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import SIGTERM, Api, Proc, Rig, mobiles, percentile, php_task, wait_for
from smsworker.store.keys import default_dead_letter_key
from smsworker.store.queue import RedisQueue

OTP, BULK = 1, 2
LANES_TOML = f"[lanes.otp]\ntemplates = [{OTP}]\nconcurrency = 2\n\n[lanes.bulk]\ntemplates = [{BULK}]\n"
LANE_NAMES = ["otp", "bulk", "default"]  # what the worker declares from LANES_TOML
ROUTES = {str(OTP): "otp", str(BULK): "bulk"}
CAMPAIGN_TEXT = "Spring sale: 20% off until Sunday"
CAMPAIGN_FIRST = 50_000_000  # the campaign's numbers start here, the codes' at 0
WARM_UP_NUMBER = 90_000_000
BULK_LIST = "{sms_queue}:lane:bulk"

# The targets, printed beside the figures.
P99_FACTOR, P99_SLACK_MS = 2.0, 20.0
KEEP_SHARE = 0.90
ROUTING_FACTOR = 20.0


def lanes(
    rig: Rig,
    *,
    campaign_tasks: int,
    idle_codes: int,
    codes_per_s: float = 50.0,
    latency_ms: float = 50.0,
    concurrency: int = 16,
    batch: int = 100,
) -> dict[str, Any]:
    """The runs of (h), each with its own worker and fake provider. The campaign runs alone, with
    codes, with codes, alone: this machine's speed drifts within a run, and the order cancels a
    steady drift; each figure pools the two runs of its kind."""
    config = rig.workdir / "lanes.toml"
    config.write_text(LANES_TOML)
    run = _Run(rig, config, latency_ms=latency_ms, concurrency=concurrency, batch=batch)
    idle = run.session(campaign_tasks=0, codes_per_s=codes_per_s, most_codes=idle_codes)
    alone_1 = run.session(campaign_tasks=campaign_tasks, codes_per_s=0)
    mixed_1 = run.session(campaign_tasks=campaign_tasks, codes_per_s=codes_per_s)
    mixed_2 = run.session(campaign_tasks=campaign_tasks, codes_per_s=codes_per_s)
    alone_2 = run.session(campaign_tasks=campaign_tasks, codes_per_s=0)
    beside = _spread(mixed_1.pop("latencies_ms") + mixed_2.pop("latencies_ms"))
    idle.pop("latencies_ms")
    alone_per_s = (alone_1["campaign_per_s"] + alone_2["campaign_per_s"]) / 2
    mixed_per_s = (mixed_1["campaign_per_s"] + mixed_2["campaign_per_s"]) / 2
    p99_limit = P99_FACTOR * idle["p99_ms"] + P99_SLACK_MS
    kept = mixed_per_s / alone_per_s
    return {
        "params": {
            "campaign_tasks": campaign_tasks,
            "codes_per_s": codes_per_s,
            "latency_ms": latency_ms,
            "concurrency": concurrency,
            "batch": batch,
            "lanes_toml": LANES_TOML,
        },
        "runs": {
            "idle": idle,
            "campaign alone, 1st": alone_1,
            "campaign and codes, 1st": mixed_1,
            "campaign and codes, 2nd": mixed_2,
            "campaign alone, 2nd": alone_2,
        },
        "beside": beside,  # the codes of both runs with the campaign
        "alone_per_s": round(alone_per_s, 1),
        "mixed_per_s": round(mixed_per_s, 1),
        "p99_limit_ms": round(p99_limit, 2),
        "p99_met": beside["p99_ms"] <= p99_limit,
        "campaign_kept": round(kept, 3),
        "campaign_kept_met": kept >= KEEP_SHARE,
    }


def _spread(latencies_ms: list[float]) -> dict[str, Any]:
    return {
        "codes": len(latencies_ms),
        "p50_ms": round(percentile(latencies_ms, 50), 2),
        "p99_ms": round(percentile(latencies_ms, 99), 2),
        "max_ms": round(max(latencies_ms), 2),
    }


class _Run:
    def __init__(self, rig: Rig, config: Path, *, latency_ms: float, concurrency: int, batch: int) -> None:
        self.rig = rig
        self.config = config
        self.latency_ms = latency_ms
        self.concurrency = concurrency
        self.batch = batch

    def _worker(self, api: Api) -> Proc:
        return self.rig.smsworker(
            "run",
            "--config",
            str(self.config),
            "--provider",
            "http",
            "--http-url",
            api.url,
            "--concurrency",
            str(self.concurrency),
            "--http-batch-size",
            str(self.batch),
        )

    def session(self, *, campaign_tasks: int, codes_per_s: float, most_codes: int = 0) -> dict[str, Any]:
        """A waiting worker; the campaign pushed at once, then codes pushed one at a time until
        ``most_codes`` (with no campaign) or until the worker has claimed the whole campaign."""
        rig = self.rig
        rig.redis.flushall()
        api = Api(self.latency_ms)
        proc = self._worker(api)
        try:
            rig.redis.lpush("sms_queue", php_task(OTP, mobiles(WARM_UP_NUMBER, 1), "Your code is 000000"))
            wait_for(lambda: api.stats()["distinct"] >= 1, timeout_s=30, what="the worker to start")
            numbers = mobiles(CAMPAIGN_FIRST, campaign_tasks)
            rig.fill([php_task(BULK, [m], CAMPAIGN_TEXT) for m in numbers])
            pushed: dict[str, float] = {}
            if codes_per_s and campaign_tasks:

                def more(n: int) -> bool:  # while some of the campaign is yet to be claimed
                    return int(rig.redis.llen("sms_queue")) + int(rig.redis.llen(BULK_LIST)) > 0

                pushed = _push_codes(rig, per_s=codes_per_s, more=more)
            elif codes_per_s:
                pushed = _push_codes(rig, per_s=codes_per_s, more=lambda n: n < most_codes)
            total = 1 + campaign_tasks + len(pushed)
            wait_for(lambda: api.stats()["distinct"] >= total, timeout_s=1800, what="every task to arrive")
            stats = api.stats()
            received = api.received()
        finally:
            proc.signal(SIGTERM)
            proc.wait(timeout_s=120)
            api.stop()
        figures: dict[str, Any] = {
            "campaign_tasks": campaign_tasks,
            "requests": stats["requests"],
            "lost": total - stats["distinct"],
            "duplicates": stats["duplicates"],
            "exit_code": proc.returncode,
        }
        if campaign_tasks:
            times = [received["+86" + m][0] for m in numbers]
            elapsed = max(max(times) - min(times) + self.latency_ms / 1000, 1e-9)
            figures["campaign_per_s"] = round(campaign_tasks / elapsed, 1)
            # Only the codes pushed while the campaign still had numbers to send (the first one was
            # pushed right behind the whole campaign).
            last = max(times)
            pushed = {m: t for i, (m, t) in enumerate(pushed.items()) if i == 0 or t <= last}
        if pushed:
            latencies_ms = [(received[m][0] - t) * 1000 for m, t in pushed.items()]
            figures.update(_spread(latencies_ms), latencies_ms=latencies_ms)
        return figures


def _push_codes(rig: Rig, *, per_s: float, more: Callable[[int], bool]) -> dict[str, float]:
    """One-time codes, each its own text, pushed one at a time while ``more(how many so far)``;
    when each was pushed."""
    pushed: dict[str, float] = {}
    n = 0
    while n == 0 or more(n):
        number = mobiles(n, 1)[0]
        pushed["+86" + number] = time.time()
        rig.redis.lpush("sms_queue", php_task(OTP, [number], f"Your code is {n:06d}"))
        n += 1
        time.sleep(1 / per_s)
    return pushed


def routing(rig: Rig, *, elements: int) -> dict[str, Any]:
    """Elements a second ``take`` routes from the queue into the lanes, claiming none."""
    rig.redis.flushall()
    rig.fill([php_task(BULK, [m], CAMPAIGN_TEXT) for m in mobiles(CAMPAIGN_FIRST, elements)])
    queue = RedisQueue(rig.redis, "sms_queue", default_dead_letter_key("sms_queue"))
    queue.declare_lanes(LANE_NAMES, ROUTES)
    routed = calls = 0
    started = time.perf_counter()
    while moved := queue.take("bench-routing", [], 0).routed:
        routed += moved
        calls += 1
    elapsed = max(time.perf_counter() - started, 1e-9)
    in_lane = int(rig.redis.llen(BULK_LIST))
    return {
        "elements": elements,
        "routed": routed,
        "in_lane": in_lane,
        "calls": calls,
        "per_s": round(routed / elapsed, 1),
    }


def routing_against(routed: dict[str, Any], lanes_run: dict[str, Any]) -> dict[str, Any]:
    """(i)'s figure: routing's rate over the rate the worker sent the campaign alone in (h)."""
    sent = lanes_run["alone_per_s"]
    ratio = routed["per_s"] / sent
    return {**routed, "worker_per_s": sent, "ratio": round(ratio, 1), "met": ratio >= ROUTING_FACTOR}
