"""Reading a queue element as JSON, strictly: what comes out can always be encoded again.

Python's ``json`` accepts what no PHP producer writes and what nothing downstream can write back
(NaN, a number that overflows to inf, a lone surrogate from a ``\\uD800`` escape, nesting deep
enough to hit the recursion limit when the dead letter is encoded). Each is refused here with an
``InvalidTask`` that says which, so a bad element is dead-lettered instead of crashing a later step.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from smsworker.errors import InvalidTask

# No SMS task needs more; and a document this deep is encoded again for its dead letter, which must
# stay far from Python's recursion limit (a 977-level extra field once crashed the worker there).
MAX_DEPTH = 128
# A lone surrogate can only come from a \uD800-\uDFFF escape: the bytes were valid UTF-8.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: Python reads it as inf, which no JSON encoder writes back
        raise ValueError(f"the number {text[:40]} is out of range (it overflows a double)")
    return value


def decode_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object, or ``InvalidTask``: UTF-8, nested at most ``MAX_DEPTH`` deep, no
    NaN/Infinity, no number that overflows, no unpaired surrogate anywhere."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidTask("invalid_json", f"payload is not valid UTF-8 (byte {exc.start})") from None
    _check_depth(raw)
    try:
        # PHP never writes NaN/Infinity; Python's json would accept them silently.
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise InvalidTask("invalid_json", f"payload is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidTask("invalid_task", f"payload must be a JSON object, got {json_type(data)}")
    if _SURROGATE_ESCAPE.search(raw):  # rare: only then is the walk worth its cost
        _check_text(data)
    return data


def _check_depth(raw: bytes) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` before decoding, the same on every thread (how deep
    ``json.loads`` itself can go depends on the caller's stack)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(raw):
        mark = token.group()
        if mark in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidTask("invalid_task", f"payload is nested deeper than {MAX_DEPTH} levels")
        elif mark in (b"]", b"}"):
            depth -= 1


def _check_text(data: dict[str, Any]) -> None:
    """Every string in the element, keys and unknown fields included, must be text that can be
    encoded again (dead letters, logs, provider requests): no unpaired surrogate anywhere."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            where = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
            if isinstance(key, str) and not is_text(key):
                raise InvalidTask("invalid_task", f"a key in {_safe_path(path)} {_SURROGATE_NOTE}")
            if isinstance(item, str) and not is_text(item):
                raise InvalidTask("invalid_task", f"{_safe_path(where)} {_SURROGATE_NOTE}")
            if isinstance(item, (dict, list)):
                stack.append((item, where))


_SURROGATE_NOTE = "holds an unpaired UTF-16 surrogate (\\uD800-\\uDFFF): not text, and PHP never writes one"


def is_text(text: str) -> bool:
    """Whether ``text`` can be encoded as UTF-8: no unpaired surrogate (from a JSON escape, or
    from invalid UTF-8 in argv or the environment, which Python decodes to surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _safe_path(path: str) -> str:
    shown = path.lstrip(".") or "the task"
    return shown if is_text(shown) else "a field"


def json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
