"""structlog set-up: JSON lines when stderr is not a terminal, console when it is.

Phone numbers are personal data: by default every value under a recipient key is masked
(``13800138000`` -> ``138****8000``), and so is anything that looks like a number inside error texts
and tracebacks. Tracebacks never carry local variables (they would carry whole tasks). Secrets are
never passed to the logger in the first place.

Logging must never be what stops the worker: an event that cannot be rendered as it is (an
unpaired surrogate, NaN, a structure too deep, an object whose ``repr`` raises) is rendered in a
degraded but valid form, and a stream that cannot be written to is skipped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from smsworker.redact import mask_numbers

__all__ = ["make_logger", "render_json"]

MOBILE_KEYS = frozenset({"mobile", "mobiles", "failed_mobiles", "to"})
# Free text that may quote a number: error messages and tracebacks.
TEXT_KEYS = frozenset({"error", "exception", "detail"})
_MAX_DEPTH = 20
_MAX_TEXT = 10_000


def _mask_processor(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in MOBILE_KEYS & event.keys():
        value = event[key]
        if isinstance(value, str):
            event[key] = mask_numbers(value)
        elif isinstance(value, (list, tuple)):
            event[key] = [mask_numbers(str(v)) for v in value]
    for key in TEXT_KEYS & event.keys():
        if isinstance(event[key], str):
            event[key] = mask_numbers(event[key])
    return event


def _drop_none(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Optional context (task_id, params, ...) is absent more often than not; "=None" is noise.
    for key in [k for k, v in event.items() if v is None]:
        del event[key]
    return event


def render_json(_: Any, __: str, event: MutableMapping[str, Any]) -> str:
    """One line of strict JSON for any event: the fast path, else a sanitised copy."""
    try:
        text = json.dumps(event, ensure_ascii=False, allow_nan=False, default=_short_repr)
        if not text.isascii():
            text.encode("utf-8")  # raises on an unpaired surrogate, which no stream can write
    except Exception:
        text = json.dumps(_jsonable(dict(event), 0), ensure_ascii=False)
    # JSON leaves these unescaped, but readers that split lines as Python does would cut there.
    return text if text.isascii() else text.translate(_LINE_BREAKS)


_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _contained(render: Any) -> Any:
    """A renderer that falls back to a sanitised copy of the event when rendering it raises."""

    def safe(logger: Any, name: str, event: MutableMapping[str, Any]) -> Any:
        try:
            return render(logger, name, event)
        except Exception:
            return render(logger, name, _jsonable(dict(event), 0))

    return safe


def _short_repr(value: Any) -> str:
    return repr(value)[:_MAX_TEXT]


def _jsonable(value: Any, depth: int) -> Any:
    """A JSON-safe copy: text made encodable, non-finite numbers as text, depth and size bounded."""
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= _MAX_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {_text(str(k)): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    try:
        return _text(repr(value))
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _text(value: str) -> str:
    return value[:_MAX_TEXT].encode("utf-8", "backslashreplace").decode("utf-8")


class _Stream(structlog.PrintLogger):
    """PrintLogger that skips a line it cannot write (a closed pipe, a full disk) instead of raising
    into whichever worker thread happened to log."""

    def msg(self, message: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().msg(message)

    log = debug = info = warn = warning = fatal = failure = err = error = critical = exception = msg


def make_logger(
    *, fmt: str = "auto", level: str = "info", mask_mobiles: bool = True, stream: TextIO | None = None
) -> Any:
    """A logger for one process. Built here and passed down; nothing is configured globally."""
    out = stream or sys.stderr
    console = fmt == "console" or (fmt == "auto" and out.isatty())
    processors: list[Any] = [
        _drop_none,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # A plain-text traceback: no frame locals (structlog's dict tracebacks show them), so a
        # task's numbers cannot leak through an exception, and masking can reach the text.
        structlog.processors.format_exc_info,
    ]
    if mask_mobiles:
        processors.append(_mask_processor)
    if console:
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        processors.append(_contained(renderer))
    else:
        processors.append(render_json)
    return structlog.wrap_logger(
        _Stream(out),
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
