"""The converters for where things are: ports, Redis and HTTP URLs, host:port lists, networks and
host names. Each takes text in and gives a checked value out, or ``ValueError`` saying why (as the
other converters in ``values.py``): a bad port or database fails at start-up in one line instead of
as a traceback at the first connection."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from smsworker.config.messages import bad
from smsworker.config.values import listed, number, text


def port(value: Any) -> int:
    try:
        return int(number(int, 0, 65535)(value))
    except ValueError:
        raise bad(
            "must be a port number between 0 and 65535 (0 turns metrics off)",
            "必须是 0 到 65535 之间的端口号（0 表示不开指标端口）",
        ) from None


def _url_port(parts: Any) -> None:
    try:
        found = parts.port
    except ValueError:
        found = 0
    if found == 0:
        raise bad("the port must be a number between 1 and 65535", "端口必须是 1 到 65535 之间的数字")


def redis_url(value: Any) -> str:
    url = text(value)
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise bad(
            "must start with redis://, rediss:// or unix://", "必须以 redis://、rediss:// 或 unix:// 开头"
        )
    _url_port(parts)
    if parts.scheme == "unix":
        if not parts.path:
            raise bad(
                "a unix:// URL needs the socket's path, e.g. unix:///run/redis/redis.sock",
                "unix:// 地址要写上 socket 的路径，例如 unix:///run/redis/redis.sock",
            )
    elif not parts.hostname:
        raise bad("needs a host, e.g. redis://127.0.0.1:6379/0", "缺少主机名，例如 redis://127.0.0.1:6379/0")
    databases = [parts.path.strip("/")] if parts.scheme != "unix" else []
    databases += parse_qs(parts.query).get("db", [])
    for database in databases:
        if database and not (database.isascii() and database.isdigit() and int(database) < 2**31):
            raise bad(
                "the database must be a number, e.g. redis://127.0.0.1:6379/0",
                "数据库编号必须是数字，例如 redis://127.0.0.1:6379/0",
            )
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
        raise bad("must be an http:// or https:// URL", "必须是 http:// 或 https:// 地址")
    _url_port(parts)
    if not parts.hostname:
        raise bad(
            "needs a host, e.g. https://sms.example.com/send", "缺少主机名，例如 https://sms.example.com/send"
        )
    return url


def host_ports(value: Any) -> tuple[tuple[str, int], ...]:
    """``"h1:26379, h2:26379"`` (or a list) -> ``(("h1", 26379), ("h2", 26379))``."""
    found: list[tuple[str, int]] = []
    for item in listed(value):
        host, _, port = text(item).rpartition(":")
        if not host or not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            raise bad(
                f"{item!r} is not host:port (port 1-65535)", f"{item!r} 不是 host:port 形式（端口 1-65535）"
            )
        found.append((host, int(port)))
    return tuple(found)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def within(address: str | None, networks: Sequence[Network]) -> bool:
    """Whether ``address`` is an IP address inside one of ``networks`` (a ``networks`` setting)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


def networks(value: Any) -> tuple[Network, ...]:
    """``"47.96.0.0/16, 10.0.0.1"`` (or a list) -> the networks; an address alone is a /32 (/128)."""
    found = []
    for item in (text(i) for i in listed(value) if i):
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise bad(
                f"{item!r} is not an address or a network like 10.0.0.0/8",
                f"{item!r} 不是 IP 地址，也不是 10.0.0.0/8 这样的网段",
            ) from None
    return tuple(found)


_HOST_NAME = re.compile(r"\.?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def host_names(value: Any) -> tuple[str, ...]:
    """``"sms.example.com, .example.org"`` (or a list) -> the names, lower case; a leading dot
    stands for the name and every name under it."""
    found = []
    for item in (text(i).strip().lower().rstrip(".") for i in listed(value) if i):
        if not _HOST_NAME.fullmatch(item) or len(item) > 253:
            raise bad(
                f"{item!r} is not a host name like sms.example.com (or .example.com)",
                f"{item!r} 不是 sms.example.com（或 .example.com）这样的主机名",
            )
        found.append(item)
    return tuple(found)


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP or a host name) is only reachable from this machine."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
