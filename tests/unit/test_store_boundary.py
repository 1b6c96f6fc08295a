"""Only ``smsworker/store/`` talks to Redis: no other module of the package imports the client.

The scan reads every module's imports (``import redis``, ``from redis... import``, at any depth, in
functions too), so a stray import fails here with the file and line that made it."""

from __future__ import annotations

import ast
from pathlib import Path

import smsworker

PACKAGE = Path(smsworker.__file__).parent
STORE = PACKAGE / "store"


def redis_imports(source: str) -> list[int]:
    """The lines of ``source`` that import the ``redis`` package or one of its modules."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == "redis" or name.startswith("redis.") for name in names):
            lines.append(node.lineno)
    return lines


def test_only_the_store_imports_redis() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE.parent).as_posix()
        if path.is_relative_to(STORE):
            continue
        found += [f"{name}:{line}" for line in redis_imports(path.read_text("utf-8"))]
    assert found == [], "import Redis only in smsworker/store/ (errors: smsworker.store.errors)"


def test_the_scan_sees_every_form_of_import() -> None:
    source = (
        "import redis\n"
        "import os, redis.cluster\n"
        "from redis.crc import key_slot\n"
        "def f():\n"
        "    from redis import Redis\n"
    )
    assert redis_imports(source) == [1, 2, 3, 5]
    assert redis_imports("import redisx\nfrom redis_helpers import x\nfrom .redis import y\n") == []
