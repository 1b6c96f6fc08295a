"""structlog set-up: JSON lines when stderr is not a terminal, console when it is.

Phone numbers are personal data: by default every value under a recipient key is masked
(``13800138000`` -> ``138****8000``). Secrets are never passed to the logger in the first place.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

MOBILE_KEYS = frozenset({"mobile", "mobiles", "failed_mobiles", "to"})


def mask_mobile(number: str) -> str:
    """Keep the first digits and the last four: enough to tell numbers apart in an incident."""
    if len(number) >= 11:
        return number[: len(number) - 8] + "****" + number[-4:]
    if len(number) > 4:
        return "*" * (len(number) - 4) + number[-4:]
    return "*" * len(number)


def _mask_processor(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in MOBILE_KEYS & event.keys():
        value = event[key]
        if isinstance(value, str):
            event[key] = mask_mobile(value)
        elif isinstance(value, (list, tuple)):
            event[key] = [mask_mobile(str(v)) for v in value]
    return event


def _drop_none(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Optional context (task_id, params, ...) is absent more often than not; "=None" is noise.
    for key in [k for k, v in event.items() if v is None]:
        del event[key]
    return event


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
    ]
    if mask_mobiles:
        processors.append(_mask_processor)
    if console:
        processors.append(structlog.dev.ConsoleRenderer(colors=out.isatty()))
    else:
        processors += [
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    return structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
