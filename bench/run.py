"""``make bench``: every scenario, each printed beside the ceiling measured in the same run.

    python -m bench.run [--scale 1.0] [--out bench/results] [--only hi]

Writes ``results.json`` and ``results.md`` to --out. Targets (issue 3) are printed next to each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import MALLOC_ARENA_MAX, rig
from bench.scenarios import SCENARIOS, run_all


def _cpu(run: dict[str, Any]) -> str:
    cpu = run.get("cpu_ms_per_send")
    return "-" if cpu is None else f"{cpu:.3f}"


def _a(r: dict[str, Any]) -> list[str]:
    a_bare, a_bare16, a_one, a_two = r["a"]["runs"]
    p = r["a"]["params"]
    return [
        f"### (a) {p['tasks']:,} tasks x 1 recipient, provider latency 0 ms, 16 sends in flight",
        "",
        "| runner | sends/s | vs bare loop, 1 thread | CPU ms per send | lost | duplicates |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {x['runner']} | {x['per_s']:,.0f} | {x['per_s'] / a_bare['per_s']:.2f} | {_cpu(x)} | "
            f"{x['lost']} | {x['duplicates']} |"
            for x in (a_bare, a_bare16, a_one, a_two)
        ],
        "",
        "target: one process >= 1.00 x the bare one-thread loop; CPU per send <= its + 0.1 ms",
        "",
    ]


def _b(r: dict[str, Any]) -> list[str]:
    out = [
        f"### (b) {r['b']['runs'][0]['params']['tasks']:,} tasks x 5 recipients, provider latency 50 ms",
        "",
        "| in flight | runner | sends/s | vs bare loop | of ideal (in flight / latency) | CPU ms per send "
        "| lost | dup |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    bare = {run["params"]["concurrency"]: run for run in r["b"]["runs"] if run["runner"] == "bare loop"}
    for run in r["b"]["runs"]:
        base = bare[run["params"]["concurrency"]]
        out.append(
            f"| {run['params']['concurrency']} | {run['runner']} | {run['per_s']:,.0f} | "
            f"{run['per_s'] / base['per_s']:.2f} | {run['of_ideal']:.1%} of {run['ideal_per_s']:,.0f} | "
            f"{_cpu(run)} | {run['lost']} | {run['duplicates']} |"
        )
    out += [
        "",
        "target: smsworker, one process, at 64 in flight >= 1.00 x the bare 64-thread loop; "
        "at 256 no lower than at 64",
        "",
    ]
    return out


def _c(r: dict[str, Any]) -> list[str]:
    return [
        f"### (c) idle latency: {r['c']['runs'][0]['tasks']} single tasks pushed one at a time at ~50/s",
        "",
        "| runner | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|",
        *[f"| {x['runner']} | {x['p50_ms']} | {x['p99_ms']} | {x['max_ms']} |" for x in r["c"]["runs"]],
        "",
        "target: smsworker p99 <= 1.3 x the bare loop's",
        "",
    ]


def _d(r: dict[str, Any]) -> list[str]:
    d = r["d"]["runs"][0]
    dp = r["d"]["params"]
    return [
        f"### (d) batches: {dp['tasks']} tasks x {dp['per_task']:,} recipients, "
        "1,000 per request, latency 50 ms",
        "",
        "| recipients/s | target | lost | duplicates |",
        "|---:|---:|---:|---:|",
        f"| {d['per_s']:,.0f} | 50,000 | {d['lost']} | {d['duplicates']} |",
        "",
    ]


def _f(r: dict[str, Any]) -> list[str]:
    fp = r["f"]["params"]
    on, off = r["f"]["runs"]
    return [
        f"### (f) cross-task batching: {fp['tasks']:,} one-recipient tasks of one campaign, "
        f"--http-batch-size {fp['batch']}, latency {fp['latency_ms']} ms, {fp['concurrency']} in flight",
        "",
        "| runner | sends/s | requests | CPU ms per send | lost | duplicates |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {x['runner']} | {x['per_s']:,.0f} | {x['requests']:,} | {_cpu(x)} | {x['lost']} | "
            f"{x['duplicates']} |"
            for x in (on, off)
        ],
        "",
        f"grouping on / off: **{on['per_s'] / off['per_s']:.1f} x** (target >= 10 x)",
        "",
    ]


def _g(r: dict[str, Any]) -> list[str]:
    out = [
        "### (g) one-time codes (each its own text) at 20/s, latency 50 ms, --http-batch-size 100",
        "",
        "| beside them | grouping | p50 ms | p99 ms | max ms | requests | lost | dup |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    g_idle = r["g"]["runs"][0]
    for run in r["g"]["runs"]:
        beside = (
            f"a campaign at {run['campaign_per_s']:,.0f} tasks/s ({run['campaign_tasks']:,})"
            if run["campaign_per_s"]
            else "nothing (idle)"
        )
        out.append(
            f"| {beside} | {'on' if run['grouping'] else 'off'} | {run['p50_ms']} | {run['p99_ms']} | "
            f"{run['max_ms']} | {run['requests']:,} | {run['lost']} | {run['duplicates']} |"
        )
    mixed = r["g"]["runs"][1]
    out += [
        "",
        f"p99 beside the campaign / idle, grouping on: **{mixed['p99_ms'] / g_idle['p99_ms']:.2f} x** "
        "(target <= 2 x)",
        "",
    ]
    return out


def _e(r: dict[str, Any]) -> list[str]:
    e = r["e"]
    marks = " | ".join(f"{int(k):,} tasks: {v} MB" for k, v in e["rss_mb_after"].items())
    at_64 = e["peak_rss_mb_at_64"]
    return [
        "### (e) memory",
        "",
        *(
            []
            if at_64 is None
            else [f"- peak RSS at concurrency 64 (scenario b): **{at_64} MB** (target <= 50 MB)"]
        ),
        f"- RSS of `smsworker run --provider log` after {marks} (target: flat); "
        f"peak {e['peak_rss_mb']} MB; {e['tasks_per_s']:,.0f} tasks/s",
        "",
    ]


def _met(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _h(r: dict[str, Any]) -> list[str]:
    h = r["h"]
    p = h["params"]
    idle, beside = h["runs"]["idle"], h["beside"]
    out = [
        f"### (h) lanes: one-time codes (template 1, lane otp) at {p['codes_per_s']:.0f}/s beside "
        f"{p['campaign_tasks']:,} campaign tasks (template 2, lane bulk) pushed at once, "
        f"latency {p['latency_ms']:.0f} ms, --http-batch-size {p['batch']}, {p['concurrency']} in flight",
        "",
        "| run | codes | p50 ms | p99 ms | max ms | campaign sends/s | requests | lost | dup |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, run in h["runs"].items():
        per_s = run.get("campaign_per_s")
        out.append(
            f"| {name} | {run.get('codes', 0)} | {run.get('p50_ms', '-')} | {run.get('p99_ms', '-')} | "
            f"{run.get('max_ms', '-')} | {'-' if per_s is None else f'{per_s:,.0f}'} | "
            f"{run['requests']:,} | {run['lost']} | {run['duplicates']} |"
        )
    return [
        *out,
        "",
        f"codes' p99 beside the campaign (both runs, {beside['codes']} codes): **{beside['p99_ms']} ms** "
        f"against <= 2 x idle ({idle['p99_ms']} ms) + 20 = {h['p99_limit_ms']} ms: {_met(h['p99_met'])}",
        "",
        f"campaign with codes flowing / alone (the mean of two runs each): **{h['campaign_kept']:.1%}** "
        f"({h['mixed_per_s']:,.0f} / {h['alone_per_s']:,.0f} sends/s; target >= 90%): "
        f"{_met(h['campaign_kept_met'])}",
        "",
    ]


def _i(r: dict[str, Any]) -> list[str]:
    i = r["i"]
    return [
        f"### (i) routing: {i['elements']:,} campaign tasks moved from the queue into the lanes "
        f"by take.lua, in {i['calls']} calls",
        "",
        f"routing **{i['per_s']:,.0f} elements/s** / the worker's campaign alone in (h), mean of two runs, "
        f"{i['worker_per_s']:,.0f} sends/s: **{i['ratio']:.1f} x** (target >= 20 x): {_met(i['met'])}",
        "",
    ]


SECTIONS = {"a": _a, "b": _b, "c": _c, "d": _d, "f": _f, "g": _g, "h": _h, "i": _i, "e": _e}


def report(r: dict[str, Any]) -> str:
    """A section for each scenario that ran, in the order they run."""
    return "\n".join(line for key, section in SECTIONS.items() if key in r for line in section(r))


def main() -> None:
    parser = argparse.ArgumentParser(description="smsworker benchmarks")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every count (0.01 for a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument(
        "--only",
        default=SCENARIOS,
        help=f"the letters of the scenarios to run (default: all, {SCENARIOS}); i brings h along",
    )
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="smsworker-bench-") as tmp, rig(Path(tmp)) as current:
        results = run_all(current, args.scale, args.only)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "seconds": round(time.monotonic() - started, 1),
        "malloc_arena_max": MALLOC_ARENA_MAX,
    }
    text = report(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    header = (
        f"Measured by `make bench` (python -m bench.run --scale {args.scale}"
        f"{'' if args.only == SCENARIOS else f' --only {args.only}'}) on {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, in {results['machine']['seconds']} s; smsworker ran with "
        f"MALLOC_ARENA_MAX={MALLOC_ARENA_MAX} (as the systemd units set it).\n\n"
    )
    (args.out / "results.md").write_text(header + text + "\n")
    print(header + text)


if __name__ == "__main__":
    main()
