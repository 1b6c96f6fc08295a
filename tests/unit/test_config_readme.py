"""The READMEs' tables of settings say what the declarations say: one row per setting, with its flag,
environment name, TOML name and default. The Chinese README's table is held to the same: a PHP
developer copies a name from whichever they read."""

# ruff: noqa: RUF001 - the Chinese table's notes are in full-width brackets, as Chinese text is.
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from smsworker.config.declare import Setting
from smsworker.config.schema import SETTINGS
from smsworker.config.vendors import TABLES as VENDOR_TABLES

ROOT = Path(__file__).resolve().parents[2]
# How the table says "no default".
NOTHING = {"-", "—", "none", "any", "off"}


@dataclass(frozen=True)
class Table:
    """Where a README's table of settings is, and the words it uses around the names."""

    readme: str
    header: str
    repeatable: str
    env_forms: dict[str, str]


TABLES = [
    Table(
        "README.md",
        "| flag | environment | TOML | default | meaning |",
        " (repeatable)",
        {"comma-separated": " (comma-separated)", "one a line": " (one a line)"},
    ),
    Table(
        "README.zh-CN.md",
        "| 参数 | 环境变量 | TOML | 默认值 | 含义 |",
        "（可重复）",
        {"comma-separated": "（逗号分隔）", "one a line": "（每行一个）"},
    ),
]
CASES = [(table, declared) for table in TABLES for declared in SETTINGS]


def _rows(table: Table) -> dict[str, list[str]]:
    """The table's rows by the flag they name (``--[no-]x`` as ``--x``)."""
    text = (ROOT / table.readme).read_text(encoding="utf-8")
    start = text.index(table.header)
    lines = text[start : text.index("\n\n", start)].splitlines()[2:]
    rows = {}
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 5, line
        flag = re.match(r"`([^`]+)`", cells[0])
        assert flag, line
        rows[flag.group(1).replace("[no-]", "")] = cells
    return rows


def _first_word(cell: str) -> str:
    """The value a default cell shows, before any note in brackets (``259200`` of "`259200` (72 h)")."""
    quoted = re.match(r"`([^`]*)`", cell)
    return quoted.group(1) if quoted else re.split(r"[\s(（]", cell)[0]


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.readme)
def test_every_row_is_a_declared_setting(table: Table) -> None:
    assert set(_rows(table)) == {declared.flag for declared in SETTINGS}


@pytest.mark.parametrize(
    ("table", "declared"), CASES, ids=[f"{table.readme}-{declared.name}" for table, declared in CASES]
)
def test_the_row_of_each_setting_agrees_with_its_declaration(table: Table, declared: Setting) -> None:
    flag, env, toml, default, meaning = _rows(table)[declared.flag]
    assert env.startswith(f"`{declared.env}`")
    assert toml == f"`{declared.toml}`"
    if declared.repeatable:
        assert table.repeatable in flag and table.env_forms[declared.env_form] in env
    if declared.shown_default is None:
        assert _first_word(default) in NOTHING, default
    else:
        assert _first_word(default) == declared.shown_default
    assert meaning


def test_a_note_beside_a_default_is_not_the_default() -> None:
    cells = ["`259200` (72 h)", "`259200`（72 小时）", "none（凭据 `x`）", "on"]
    assert [_first_word(cell) for cell in cells] == ["259200", "259200", "none", "on"]


def test_the_providers_section_names_every_key_of_every_vendor_table() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Providers") : text.index("\n## ", text.index("### Providers"))]
    missing = [f"{t.vendor}.{k}" for t in VENDOR_TABLES.values() for k in t.accepted if k not in section]
    assert missing == []
