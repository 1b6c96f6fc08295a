"""Hypothesis strategies for what producers can push: raw bytes, JSON-ish documents with every odd
thing JSON allows (lone surrogates, NaN, 1e400, deep nesting, NUL, odd keys), and task-shaped
documents with those hidden in their fields. For the property tests; fuzz/corpus holds a few of each."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Numbers a provider fake answers by their last digit: see ``outcome_of``.
VALID = [f"138001380{n:02d}" for n in range(30)]
INVALID = ["12345", "", "+", "abc", "13800138000" * 3, "\x00"]
BIG = "__smsworker_big_number__"

text = st.text(max_size=12) | st.sampled_from(["\ud800", "\udfff", "a\ud83d", "\x00", "\u2028", "验证码"])
leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.just(BIG)
    | text
)
json_ish = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=12,
)


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"n": value} if levels % 2 else [value]
    return value


@st.composite
def task_doc(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "template_id": draw(st.integers(1, 3) | st.sampled_from(["SMS_1", "", 1.5])),
        "mobiles": draw(st.lists(st.sampled_from(VALID + INVALID), min_size=0, max_size=6)),
        "content": draw(st.sampled_from(["x", "验证码 1234", "", "a" * 200]) | text),
    }
    if draw(st.booleans()):
        doc["params"] = draw(st.dictionaries(text, json_ish, max_size=3) | json_ish)
    if draw(st.booleans()):
        doc["id"] = draw(st.sampled_from(["order-1", "order-2", 7, "", None]))  # collisions on purpose
    for key in draw(st.lists(text, max_size=2)):
        doc[key] = draw(json_ish)
    if draw(st.integers(0, 9)) == 0:
        doc["deep"] = nested(draw(st.sampled_from([20, 127, 129, 977])))
    return doc


@st.composite
def good_task(draw: st.DrawFn) -> dict[str, Any]:
    """A task the worker sends, perhaps with an id shared with others and extra fields kept."""
    doc: dict[str, Any] = {
        "template_id": draw(st.integers(1, 3) | st.just("SMS_1")),
        "mobiles": draw(st.lists(st.sampled_from(VALID + INVALID[:1]), min_size=1, max_size=5)),
        "content": draw(st.sampled_from(["x", "验证码 1234", "a" * 200])),
    }
    if draw(st.booleans()):
        doc["id"] = draw(st.sampled_from(["order-1", "order-2", 7]))
    if draw(st.booleans()):
        doc["params"] = {"code": draw(st.integers(0, 9999)), "note": draw(st.text(max_size=5))}
    if draw(st.booleans()):
        doc["extra"] = draw(json_ish)
    return doc


def encode(doc: Any, *, ascii_only: bool) -> bytes:
    """As a producer would write it: escaped (PHP's default) or raw UTF-8, the marker as 1e400."""
    encoded = json.dumps(doc, ensure_ascii=ascii_only)
    encoded = encoded.replace(json.dumps(BIG), "1e400")
    return encoded.encode("utf-8", "surrogatepass")


elements = st.one_of(
    st.binary(max_size=64),
    st.builds(encode, json_ish, ascii_only=st.booleans()),
    st.builds(encode, task_doc(), ascii_only=st.booleans()),
    st.builds(encode, good_task(), ascii_only=st.booleans()),
    st.builds(encode, good_task(), ascii_only=st.booleans()),
    st.builds(encode, good_task(), ascii_only=st.booleans()),
    st.sampled_from([b"\x00smsworker:0123456789abcdef\n{}", b"[]", b"null", b"\xef\xbb\xbf{}"]),
)


def outcome_of(e164: str) -> str:
    """What the provider fakes in these tests do with a number: by its last digit."""
    return {"7": "rejected", "5": "transient", "3": "crash"}.get(e164[-1], "sent")
