"""The chaos scenarios of `make chaos`, shrunk: nothing lost, no duplicates beyond the bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import SCENARIOS
from bench.harness import rig

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_chaos_scenario_loses_nothing(name: str, tmp_path: Path) -> None:
    with rig(tmp_path, appendonly=True) as current:
        outcome = SCENARIOS[name](current, 0.02)
    assert outcome.lost == 0, outcome
    assert outcome.duplicates <= outcome.allowed_duplicates, outcome
