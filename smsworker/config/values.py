"""One converter per kind of setting value: text in, a checked value out, or ``ValueError`` saying why.

Every number is finite and inside a range that the code using it can honour (``inf`` seconds would
reach ``select()`` as an ``OverflowError``); every URL is parsed fully here, so a bad port or
database fails at start-up in one line instead of as a traceback at the first connection. Messages
never repeat a secret: each setting's declaration (``reveal``) decides what of a value may be shown.
"""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import phonenumbers

from smsworker.config.messages import bad, did_you_mean
from smsworker.language import Text
from smsworker.redact import redact_header
from smsworker.strict_json import is_text

DAY_S = 86_400.0


def number(kind: type, low: float, high: float, *, low_open: bool = False) -> Callable[[Any], Any]:
    """An int or float in [low, high] (or (low, high] with ``low_open``), finite, not a boolean."""
    noun, noun_zh = ("an integer", "整数") if kind is int else ("a number", "数字")

    def convert(value: Any) -> Any:
        if isinstance(value, bool):
            raise bad(f"must be {noun}", f"必须是{noun_zh}")
        try:
            parsed = kind(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError, OverflowError):
            raise bad(f"must be {noun}", f"必须是{noun_zh}") from None
        if not math.isfinite(parsed):
            raise bad(
                f"must be a finite number, between {_fmt(low)} and {_fmt(high)}",
                f"必须是 {_fmt(low)} 到 {_fmt(high)} 之间的有限数字",
            )
        if parsed < low or (low_open and parsed == low):
            if low_open:
                raise bad(f"must be greater than {_fmt(low)}", f"必须大于 {_fmt(low)}")
            raise bad(f"must be at least {_fmt(low)}", f"不能小于 {_fmt(low)}")
        if parsed > high:
            raise bad(f"must be at most {_fmt(high)}", f"不能大于 {_fmt(high)}")
        return parsed

    return convert


def seconds(high: float) -> Callable[[Any], Any]:
    return number(float, 0, high, low_open=True)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise bad("must be true or false", "必须是 true 或 false")


def text(value: Any) -> str:
    stripped = str(value).strip()
    if not is_text(stripped):  # invalid UTF-8 in the environment arrives as lone surrogates
        raise bad("must be valid UTF-8 text", "必须是有效的 UTF-8 文本")
    return stripped


def nonempty(value: Any) -> str:
    stripped = text(value)
    if not stripped:
        raise bad("must not be empty", "不能为空")
    return stripped


def choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        lowered = text(value).lower()
        if lowered not in options:
            known = ", ".join(options)
            said = Text(f"must be one of {known}", f"必须是 {known} 之一")
            raise ValueError(said + did_you_mean(lowered, options))
        return lowered

    return convert


def listed(value: Any, *, lines_too: bool = False) -> list[str]:
    """The items of a list setting, stripped: comma-separated text (and one a line, with
    ``lines_too``), or a list (TOML)."""
    if isinstance(value, str):
        return [part.strip() for part in (value.replace("\n", ",") if lines_too else value).split(",")]
    return [str(part).strip() for part in value]


def one_of(word: str, options: Sequence[str]) -> ValueError:
    """``'aliyn' is not one of aliyun, tencent: did you mean 'aliyun'?``"""
    known = ", ".join(options)
    said = Text(f"{word!r} is not one of {known}", f"{word!r} 不是 {known} 之一")
    return ValueError(said + did_you_mean(word, options))


def choices(options: tuple[str, ...]) -> Callable[[Any], tuple[str, ...]]:
    """A comma-separated list (or a list) of ``options``, each once, in the order given."""

    def convert(value: Any) -> tuple[str, ...]:
        chosen: list[str] = []
        for item in (text(i).lower() for i in listed(value)):
            if item and item not in options:
                raise one_of(item, options)
            if item and item not in chosen:
                chosen.append(item)
        return tuple(chosen)

    return convert


def region(value: Any) -> str:
    upper = text(value).upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise bad(
            "must be a two-letter region code phonenumbers knows, e.g. CN or US",
            "必须是 phonenumbers 认识的两字母地区代码，例如 CN 或 US",
        )
    return upper


def headers(value: Any) -> tuple[tuple[str, str], ...]:
    """``"Name: value"`` items (a list, a table, or lines) -> ``(("Name", "value"), ...)``."""
    if isinstance(value, str):
        items = [line for line in value.splitlines() if line.strip()]
    elif isinstance(value, Mapping):
        items = [f"{k}: {v}" for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        raise bad("must be a list of 'Name: value' headers", "必须是 'Name: value' 形式的请求头列表")
    return tuple(split_header(text(item)) for item in items)


def split_header(item: str) -> tuple[str, str]:
    name, sep, value = item.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        # The value may be a token: show where the header starts, never what it holds.
        shown = repr(redact_header(item))
        raise bad(
            f"{shown} is not a header of the form 'Name: value'", f"{shown} 不是 'Name: value' 形式的请求头"
        )
    if any(c in "\r\n\0" for c in value):
        shown = repr(redact_header(item))
        raise bad(f"{shown} has a line break or NUL in its value", f"{shown} 的值里有换行或 NUL 字符")
    return name.strip(), value.strip()


# Far above any vendor's limit; keeps the emission interval a number Lua can compare.
MAX_RATE_PER_S = 1_000_000


def rate_limits(value: Any) -> dict[str, float]:
    """``"aliyun=500/s, 20/s"`` (or a list) -> {"aliyun": 500.0, "*": 20.0}; "*" is every provider."""
    limits: dict[str, float] = {}
    for spec in (text(item) for item in listed(value, lines_too=True) if item):
        name, _, rate = spec.rpartition("=")
        try:
            per_s = float(rate.strip().removesuffix("/s"))
        except ValueError:
            raise bad(
                f"{spec!r}: write it as 500/s or aliyun=500/s", f"{spec!r}：请写成 500/s 或 aliyun=500/s"
            ) from None
        if not 0 < per_s <= MAX_RATE_PER_S:  # also refuses nan and inf
            raise bad(
                f"{spec!r}: must be greater than 0 and at most {MAX_RATE_PER_S:,}/s",
                f"{spec!r}：必须大于 0，且不超过 {MAX_RATE_PER_S:,}/s",
            )
        limits[name.strip() or "*"] = per_s
    return limits


def processes(value: Any) -> int:
    """1-256, or ``auto``: one per core this process may run on (its CPU affinity, which a container's
    cpuset narrows; a CPU quota does not show there)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return max(1, min(256, len(os.sched_getaffinity(0))))
    converted: int = number(int, 1, 256)(value)
    return converted
