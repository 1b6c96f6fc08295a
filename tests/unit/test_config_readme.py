"""The README's table of settings says what the declarations say: one row per setting, with its flag,
environment name, TOML name and default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smsworker.config.declare import Setting
from smsworker.config.schema import SETTINGS
from smsworker.config.vendors import TABLES

README = Path(__file__).resolve().parents[2] / "README.md"
HEADER = "| flag | environment | TOML | default | meaning |"
# How the table says "no default".
NOTHING = {"-", "—", "none", "any", "off"}


def _rows() -> dict[str, list[str]]:
    """The table's rows by the flag they name (``--[no-]x`` as ``--x``)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(HEADER)
    lines = text[start : text.index("\n\n", start)].splitlines()[2:]
    rows = {}
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 5, line
        flag = re.match(r"`([^`]+)`", cells[0])
        assert flag, line
        rows[flag.group(1).replace("[no-]", "")] = cells
    return rows


def _unquoted(cell: str) -> str:
    return cell.split(" (")[0].strip("`")


def test_every_row_is_a_declared_setting() -> None:
    assert set(_rows()) == {declared.flag for declared in SETTINGS}


@pytest.mark.parametrize("declared", SETTINGS, ids=lambda declared: declared.name)
def test_the_row_of_each_setting_agrees_with_its_declaration(declared: Setting) -> None:
    flag, env, toml, default, meaning = _rows()[declared.flag]
    assert env.startswith(f"`{declared.env}`")
    assert toml == f"`{declared.toml}`"
    if declared.repeatable:
        assert "(repeatable)" in flag and f"({declared.env_form})" in env
    if declared.shown_default is None:
        assert default.split()[0] in NOTHING, default
    else:
        assert _unquoted(default) == declared.shown_default
    assert meaning


def test_the_providers_section_names_every_key_of_every_vendor_table() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Providers") : text.index("\n## ", text.index("### Providers"))]
    missing = [f"{t.vendor}.{key}" for t in TABLES.values() for key in t.accepted if key not in section]
    assert missing == []
