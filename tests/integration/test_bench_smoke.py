"""`make bench` still runs: every scenario at a tiny scale. Figures are not checked here (they
belong to the benchmark, not to tests); only that nothing was lost and the report is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.commands import ROOT

pytestmark = pytest.mark.slow


def test_bench_harness_runs_every_scenario(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "0.005", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "results.json").read_text())
    runs = figures["a"]["runs"] + figures["b"]["runs"] + figures["d"]["runs"] + figures["f"]["runs"]
    assert [run["lost"] for run in runs] == [0] * len(runs)
    assert all(run["exit_code"] == 0 for run in runs)
    assert all(run["cpu_ms_per_send"] is not None for run in runs)
    assert [run["lost"] for run in figures["g"]["runs"]] == [0, 0, 0]
    assert set(figures["e"]["rss_mb_after"]) == {"500", "5000"}
    lanes = figures["h"]["runs"]
    assert [run["lost"] for run in lanes.values()] == [0] * 5
    assert [run["exit_code"] for run in lanes.values()] == [0] * 5
    assert lanes["idle"]["codes"] == 2 and figures["h"]["beside"]["codes"] >= 2
    assert figures["h"]["alone_per_s"] > 0
    routing = figures["i"]
    assert routing["routed"] == routing["in_lane"] == routing["elements"] == 250
    assert routing["ratio"] > 0
    text = (tmp_path / "results.md").read_text()
    assert "### (a)" in text and "### (h)" in text and "### (i)" in text
