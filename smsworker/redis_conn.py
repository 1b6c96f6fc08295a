"""Connecting to Redis, directly or through Sentinel, with the same client options either way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel


def _client_options(block_timeout_s: float, username: str | None, password: str | None) -> dict[str, Any]:
    """What every client of ours is built with, whichever way it finds its server."""
    options: dict[str, Any] = {
        "socket_connect_timeout": 5,
        # Must outlast the blocking fetch, or every idle fetch would look like a dead server.
        "socket_timeout": block_timeout_s + 5,
        "health_check_interval": 30,
        # Errors surface at once: the worker owns reconnecting, with backoff and logs.
        "retry": Retry(NoBackoff(), 0),
    }
    if username:
        options["username"] = username
    if password is not None:
        options["password"] = password
    return options


def connect(
    url: str,
    *,
    block_timeout_s: float,
    username: str | None = None,
    password: str | None = None,
    tls: Mapping[str, str] | None = None,
) -> redis.Redis:
    """A client for ``url``. ``tls`` (for rediss:// only) holds redis-py's ``ssl_ca_certs``,
    ``ssl_certfile``, ``ssl_keyfile``."""
    extra: dict[str, Any] = dict(tls or {}) if url.startswith("rediss://") else {}
    return redis.Redis.from_url(url, **extra, **_client_options(block_timeout_s, username, password))


def connect_sentinel(
    sentinels: list[tuple[str, int]],
    master: str,
    *,
    block_timeout_s: float,
    db: int = 0,
    username: str | None = None,
    password: str | None = None,
) -> redis.Redis:
    """A client for whichever server the sentinels call primary; a failover is followed on reconnect."""
    # redis-py leaves Sentinel untyped.
    watcher: Any = Sentinel(sentinels, socket_timeout=2, socket_connect_timeout=2)  # type: ignore[no-untyped-call]
    client: redis.Redis = watcher.master_for(
        master, db=db, **_client_options(block_timeout_s, username, password)
    )
    return client
