"""A script call's KEYS and ARGV, written in the order the script reads them back.

The scripts that take a variable number of items (``settle.lua``, ``finish.lua``) read ARGV with a
cursor, ``take()``, one value after the other; no position is computed on either side. ``ScriptArgs``
is the Python half of that discipline: what it ``put``s, the script ``take``s, in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class ScriptArgs:
    """ARGV in reading order. A key goes as its index in KEYS (Lua counts from 1; 0: none), a list
    as its count and then its items, rows (pairs, triples) as their count and then their values."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self.keys = list(keys)
        self._index = {key: n for n, key in enumerate(self.keys, start=1)}
        self.args: list[Any] = []

    def put(self, *values: Any) -> None:
        self.args.extend(values)

    def index(self, key: str | None) -> int:
        return 0 if key is None else self._index[key]

    def key(self, key: str | None) -> None:
        self.args.append(self.index(key))

    def items(self, values: Sequence[Any]) -> None:
        self.args += [len(values), *values]

    def rows(self, rows: Sequence[Iterable[Any]]) -> None:
        self.args.append(len(rows))
        for row in rows:
            self.args.extend(row)
