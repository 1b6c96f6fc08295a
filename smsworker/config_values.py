"""One converter per kind of setting value: text in, a checked value out, or ``ValueError`` saying why.

Every number is finite and inside a range that the code using it can honour (``inf`` seconds would
reach ``select()`` as an ``OverflowError``); every URL is parsed fully here, so a bad port or
database fails at start-up in one line instead of as a traceback at the first connection. Messages
never repeat a secret: ``config.py`` decides what of a value may be shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import phonenumbers

from smsworker.errors import ConfigError
from smsworker.ratelimit import parse_rate_limits
from smsworker.redact import redact_header
from smsworker.task import is_text

DAY_S = 86_400.0


def number(kind: type, low: float, high: float, *, low_open: bool = False) -> Callable[[Any], Any]:
    """An int or float in [low, high] (or (low, high] with ``low_open``), finite, not a boolean."""
    noun = "an integer" if kind is int else "a number"

    def convert(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be {noun}")
        try:
            parsed = kind(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"must be {noun}") from None
        if not math.isfinite(parsed):
            raise ValueError(f"must be a finite number, between {_fmt(low)} and {_fmt(high)}")
        if parsed < low or (low_open and parsed == low):
            raise ValueError(
                f"must be greater than {_fmt(low)}" if low_open else f"must be at least {_fmt(low)}"
            )
        if parsed > high:
            raise ValueError(f"must be at most {_fmt(high)}")
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
    raise ValueError("must be true or false")


def text(value: Any) -> str:
    stripped = str(value).strip()
    if not is_text(stripped):  # invalid UTF-8 in the environment arrives as lone surrogates
        raise ValueError("must be valid UTF-8 text")
    return stripped


def nonempty(value: Any) -> str:
    stripped = text(value)
    if not stripped:
        raise ValueError("must not be empty")
    return stripped


def choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        lowered = text(value).lower()
        if lowered not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return lowered

    return convert


def region(value: Any) -> str:
    upper = text(value).upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be a two-letter region code phonenumbers knows, e.g. CN or US")
    return upper


def port(value: Any) -> int:
    try:
        return int(number(int, 0, 65535)(value))
    except ValueError:
        raise ValueError("must be a port number between 0 and 65535 (0 turns metrics off)") from None


def _url_port(parts: Any) -> None:
    try:
        found = parts.port
    except ValueError:
        raise ValueError("the port must be a number between 1 and 65535") from None
    if found == 0:
        raise ValueError("the port must be a number between 1 and 65535")


def redis_url(value: Any) -> str:
    url = text(value)
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must start with redis://, rediss:// or unix://")
    _url_port(parts)
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError("a unix:// URL needs the socket's path, e.g. unix:///run/redis/redis.sock")
    elif not parts.hostname:
        raise ValueError("needs a host, e.g. redis://127.0.0.1:6379/0")
    databases = [parts.path.strip("/")] if parts.scheme != "unix" else []
    databases += parse_qs(parts.query).get("db", [])
    for database in databases:
        if database and not (database.isascii() and database.isdigit() and int(database) < 2**31):
            raise ValueError("the database must be a number, e.g. redis://127.0.0.1:6379/0")
    return url


def redis_db(url: str) -> int:
    """The database number a checked ``redis_url`` selects (0 when it names none)."""
    parts = urlsplit(url)
    found = parse_qs(parts.query).get("db") or [parts.path.strip("/") if parts.scheme != "unix" else ""]
    return int(found[0] or 0)


def http_url(value: Any) -> str:
    url = text(value)
    if not url:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    _url_port(parts)
    if not parts.hostname:
        raise ValueError("needs a host, e.g. https://sms.example.com/send")
    return url


def headers(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [line for line in value.splitlines() if line.strip()]
    elif isinstance(value, Mapping):
        items = [f"{k}: {v}" for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        raise ValueError("must be a list of 'Name: value' headers")
    for item in items:
        text(item)
        split_header(item)
    return tuple(items)


def split_header(item: str) -> tuple[str, str]:
    name, sep, value = item.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        # The value may be a token: show where the header starts, never what it holds.
        raise ValueError(f"{redact_header(item)!r} is not a header of the form 'Name: value'")
    if any(c in "\r\n\0" for c in value):
        raise ValueError(f"{redact_header(item)!r} has a line break or NUL in its value")
    return name.strip(), value.strip()


def rate_limits(value: Any) -> tuple[str, ...]:
    items = (
        [p.strip() for p in value.replace("\n", ",").split(",")] if isinstance(value, str) else list(value)
    )
    specs = tuple(text(item) for item in items if str(item).strip())
    try:
        parse_rate_limits(specs)
    except ConfigError as exc:
        raise ValueError(str(exc).partition(": ")[2]) from None
    return specs


def sentinels(value: Any) -> tuple[str, ...]:
    items = (
        [p.strip() for p in value.split(",")] if isinstance(value, str) else [str(p).strip() for p in value]
    )
    for item in items:
        text(item)
        host, _, found = item.rpartition(":")
        if not host or not (found.isascii() and found.isdigit() and 1 <= int(found) <= 65535):
            raise ValueError(f"{item!r} is not host:port (port 1-65535)")
    return tuple(item for item in items if item)
