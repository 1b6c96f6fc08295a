"""Every Redis key the documentation names is one ``store/keys.py`` lays out, under its current name.

A PHP developer copies key names from the README (``brPop`` on ``{Q}:changes``): a name that drifted
from the code is a list nobody writes to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smsworker.store import keys

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    "README.md",
    "README.zh-CN.md",
    "docs/architecture.md",
    "docs/production.md",
    "docs/production.zh-CN.md",
    "contrib/php-producer/README.md",
    "contrib/php-producer/README.zh-CN.md",
]
# Each README and the heading of its section on the upgrade from the old layout.
UPGRADE_SECTIONS = [
    ("README.md", "### Upgrading from the layout before 0.2"),
    ("README.zh-CN.md", "### 从 0.2 之前的键布局升级"),
]
# A key in backquotes: {Q}:name, then more :parts or <placeholders>.
KEY = re.compile(r"`(\{Q\}:[a-z_]+(?::[a-z_]+)*)")
# The keys of the layout before 0.2, which the README names on purpose where it tells of the upgrade.
OLD_NAMES = re.compile(r"`Q:[a-z]")


def layout() -> set[str]:
    return set(re.findall(r"``(\{Q\}:[a-z_]+(?::[a-z_]+)*)", keys.__doc__ or ""))


def test_every_key_the_documents_name_is_in_the_layout() -> None:
    known = layout()
    missing = [
        f"{name}: {key}"
        for name in DOCUMENTS
        for key in KEY.findall((ROOT / name).read_text("utf-8"))
        if key not in known
    ]
    assert missing == []


@pytest.mark.parametrize(("readme", "heading"), UPGRADE_SECTIONS, ids=[name for name, _ in UPGRADE_SECTIONS])
def test_old_key_names_only_where_the_upgrade_is_told(readme: str, heading: str) -> None:
    text = (ROOT / readme).read_text("utf-8")
    upgrade = text.index(heading)
    told = text[upgrade : text.index("\n## ", upgrade)]
    assert OLD_NAMES.findall(text.replace(told, "")) == []


@pytest.mark.parametrize("name", sorted(set(DOCUMENTS) - {readme for readme, _ in UPGRADE_SECTIONS}))
def test_the_other_documents_name_no_old_key(name: str) -> None:
    assert OLD_NAMES.findall((ROOT / name).read_text("utf-8")) == []


def test_the_layout_is_read() -> None:
    assert {"{Q}:changes", "{Q}:head", "{Q}:minute", "{Q}:dead"} <= layout()
