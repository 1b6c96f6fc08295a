"""``make bench``: every scenario, each printed beside the ceiling measured in the same run.

    python -m bench.run [--scale 1.0] [--out bench/results]

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

from bench.harness import rig
from bench.scenarios import run_all


def report(r: dict[str, Any]) -> str:
    out: list[str] = []
    a_bare, a_one, a_two = r["a"]["runs"]
    p = r["a"]["params"]
    out += [
        f"### (a) {p['tasks']:,} tasks x 1 recipient, provider latency 0 ms, 16 sends in flight",
        "",
        "| runner | sends/s | vs bare loop | lost | duplicates |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {x['runner']} | {x['per_s']:,.0f} | {x['per_s'] / a_bare['per_s']:.2f} | {x['lost']} | "
            f"{x['duplicates']} |"
            for x in (a_bare, a_one, a_two)
        ],
        "",
        "target: >= 1.00 x the bare loop, and on the way to 2,600 sends/s",
        "",
        f"### (b) {r['b']['runs'][0]['params']['tasks']:,} tasks x 5 recipients, provider latency 50 ms",
        "",
        "| in flight | runner | sends/s | ideal (in flight / latency) | of ideal | target | lost | dup |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in r["b"]["runs"]:
        target = "97%" if run["params"]["concurrency"] == 64 else "90%"
        out.append(
            f"| {run['params']['concurrency']} | {run['runner']} | {run['per_s']:,.0f} | "
            f"{run['ideal_per_s']:,.0f} | {run['of_ideal']:.1%} | {target} | "
            f"{run['lost']} | {run['duplicates']} |"
        )
    out += [
        "",
        f"### (c) idle latency: {r['c']['runs'][0]['tasks']} single tasks pushed one at a time at ~50/s",
        "",
        "| runner | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|",
        *[f"| {x['runner']} | {x['p50_ms']} | {x['p99_ms']} | {x['max_ms']} |" for x in r["c"]["runs"]],
        "",
        "target: smsworker p99 <= 2 ms",
        "",
    ]
    d = r["d"]["runs"][0]
    dp = r["d"]["params"]
    out += [
        f"### (d) batches: {dp['tasks']} tasks x {dp['per_task']:,} recipients, "
        "1,000 per request, latency 50 ms",
        "",
        "| recipients/s | target | lost | duplicates |",
        "|---:|---:|---:|---:|",
        f"| {d['per_s']:,.0f} | 50,000 | {d['lost']} | {d['duplicates']} |",
        "",
    ]
    e = r["e"]
    marks = " | ".join(f"{int(k):,} tasks: {v} MB" for k, v in e["rss_mb_after"].items())
    out += [
        "### (e) memory",
        "",
        f"- peak RSS at concurrency 64 (scenario b): **{e['peak_rss_mb_at_64']} MB** (target <= 50 MB)",
        f"- RSS of `smsworker run --provider log` after {marks} (target: flat); "
        f"peak {e['peak_rss_mb']} MB; {e['tasks_per_s']:,.0f} tasks/s",
        "",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description="smsworker benchmarks")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every count (0.01 for a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="smsworker-bench-") as tmp, rig(Path(tmp)) as current:
        results = run_all(current, args.scale)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "seconds": round(time.monotonic() - started, 1),
    }
    text = report(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    header = (
        f"Measured by `make bench` (python -m bench.run --scale {args.scale}) on {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, in {results['machine']['seconds']} s.\n\n"
    )
    (args.out / "results.md").write_text(header + text + "\n")
    print(header + text)


if __name__ == "__main__":
    main()
