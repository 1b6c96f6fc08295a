"""After ``make demo`` the command is in the venv, not on PATH: the demo's last words and both READMEs
say where it is and how to install it for real, in the words a shell takes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What a newcomer can type next: the venv's command, activating the venv, or a real install.
WAYS = (".venv/bin/smsworker", ". .venv/bin/activate", "pipx install .", "pip install .")


def _section(page: str, heading: str) -> str:
    text = (ROOT / page).read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start:end]


PAGES = [("README.md", "Two commands"), ("README.zh-CN.md", "两条命令")]


@pytest.mark.parametrize(("page", "heading"), PAGES)
def test_the_readme_says_where_the_command_is_after_the_demo(page: str, heading: str) -> None:
    section = _section(page, heading)
    assert [way for way in WAYS if way not in section] == []
    # Never the bare command as if it were on PATH, outside a line that activates the venv first.
    bare = [line for line in section.splitlines() if re.match(r"\s*smsworker ", line)]
    assert bare == []


def test_the_demo_ends_saying_where_the_command_is() -> None:
    script = (ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8")
    ending = script[script.rindex('step "Done') :]
    assert "$smsworker --help" in ending and "activate" in ending
    assert "pipx install ." in ending and "pip install ." in ending
