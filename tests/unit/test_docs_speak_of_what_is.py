"""The documents and the code speak of what is: no issue numbers, no "not yet" or "coming soon", and
every test file a document names exists (a README once cited a test that was never written)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    [*ROOT.glob("*.md"), *ROOT.glob("docs/*.md"), *ROOT.glob("systemd/*.md"), *ROOT.glob("contrib/*/*.md")]
)
CODE = sorted(ROOT.glob("smsworker/**/*.py"))
# How work in progress shows in prose: an issue's number, a promise, a marker left for later.
IN_PROGRESS = re.compile(
    r"(?i:\b(?:issues?|ticket|PR)\s*#?\d+|#\d{2,}\b|\bnot yet (?:supported|implemented|done)|coming soon|"
    r"\bwork in progress\b)|\bTODO\b|\bFIXME\b|\bXXX\b|尚未支持|即将支持|敬请期待"
)
TEST_FILE = re.compile(r"\b(?:tests/[\w/]+/)?(test_\w+\.py)\b")
# What the changelog may cite: the vendors' and other projects' threads it learned from.
CITED_ELSEWHERE = re.compile(r"\b[\w.-]+#\d+")


def _prose(text: str) -> str:
    return CITED_ELSEWHERE.sub("", text)


@pytest.mark.parametrize("path", DOCUMENTS + CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_issue_numbers_or_work_in_progress(path: Path) -> None:
    assert IN_PROGRESS.findall(_prose(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_test_file_a_document_names_exists(path: Path) -> None:
    existing = {test.name for test in ROOT.glob("tests/**/test_*.py")}
    named = set(TEST_FILE.findall(path.read_text(encoding="utf-8")))
    assert named - existing == set()


def test_the_checks_see_what_they_guard() -> None:
    assert IN_PROGRESS.findall("Support is issue 12; cluster: not yet supported. TODO: docs")
    assert TEST_FILE.findall("see `tests/integration/test_cluster_refused.py`") == ["test_cluster_refused.py"]
    assert not IN_PROGRESS.findall(_prose("horizon#1225 and framework#19014 asked for it; todo = []"))
