"""The fuzz target's own checks, run over its seed corpus and over the property tests' hostile
elements, so `make test` holds the parser, the envelopes and the log lines to them too."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from fuzz.fuzz_task import one_input
from tests.support.hostile import elements

CORPUS = sorted((Path(__file__).resolve().parents[2] / "fuzz" / "corpus").iterdir())


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_the_seed_corpus_passes_the_fuzz_checks(path: Path) -> None:
    one_input(path.read_bytes())


@settings(max_examples=300)
@given(data=elements)
def test_hostile_elements_pass_the_fuzz_checks(data: bytes) -> None:
    one_input(data)
