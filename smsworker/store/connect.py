"""Connecting to Redis: directly, through Sentinel or to a Redis Cluster, with the same client options
every way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from redis.exceptions import CrossSlotTransactionError, RedisClusterException
from redis.retry import Retry
from redis.sentinel import Sentinel

from smsworker.store.errors import (
    IsASentinel,
    NoClusterNodeAnswered,
    NoSentinelAnswered,
    NotAClusterNode,
    NotASentinel,
    PrimaryDown,
    PrimaryUnknown,
)


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


def is_cluster_node(client: redis.Redis) -> bool:
    """Whether this server is a node of a Redis Cluster (``cluster_enabled:1``). A server that will
    not say (INFO refused by an ACL) is taken for a single one. A Sentinel (no cluster section at
    all) raises ``IsASentinel``: it holds no data, and every command but its own would fail."""
    try:
        info: Any = client.info("cluster")
        mode = client.info("server").get("redis_mode") if not info else None
    except redis.ResponseError:
        return False
    if mode == "sentinel":
        raise IsASentinel(_address(client))
    return bool(info.get("cluster_enabled"))


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
    # Asked once each, as the servers are: the worker owns retrying. (redis-py's default retries each
    # sentinel three times with a backoff, seconds before a sentinel that is down is said to be.)
    asking = {"socket_timeout": 2, "socket_connect_timeout": 2, "retry": Retry(NoBackoff(), 0)}
    # redis-py leaves Sentinel untyped.
    watcher: Any = _Sentinel(sentinels, sentinel_kwargs=asking)  # type: ignore[no-untyped-call]
    client: redis.Redis = watcher.master_for(
        master, db=db, **_client_options(block_timeout_s, username, password)
    )
    return client


class _Sentinel(Sentinel):
    """redis-py's, telling apart why no primary was found (``store/errors.py``): no sentinel
    answered, none knows the name, the primary is down, or an address is no sentinel at all.
    redis-py says "No master found" for all but the last, with its pools' representations."""

    def discover_master(self, service_name: str) -> tuple[str, int]:
        answered, known, failure = False, False, ""
        for number, sentinel in enumerate(self.sentinels):
            try:
                masters: Any = sentinel.sentinel_masters()  # RESP2: a dict by name
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                failure = str(exc)
                continue
            except redis.ResponseError as exc:
                if type(exc) is not redis.ResponseError:  # NOPERM and the like say what they are
                    raise
                raise NotASentinel(_address(sentinel), str(exc)) from exc
            answered = True
            state = masters.get(service_name)
            known = known or state is not None
            if state and self.check_master_state(state, service_name):  # type: ignore[no-untyped-call]
                # The one that answered is asked first next time, as redis-py does.
                self.sentinels[0], self.sentinels[number] = sentinel, self.sentinels[0]
                return state["ip"], state["port"]
        if known:
            raise PrimaryDown(service_name)
        if answered:
            raise PrimaryUnknown(service_name)
        raise NoSentinelAnswered(failure)


def _address(client: redis.Redis) -> str:
    where = client.connection_pool.connection_kwargs
    return f"{where.get('host', '?')}:{where.get('port', '?')}"


def same_slot(*keys: str) -> bool:
    """Whether ``keys`` all hash to one Redis Cluster slot (a script or MULTI may name them together)."""
    return len({key_slot(key.encode()) for key in keys}) <= 1


def connect_cluster(
    nodes: list[tuple[str, int]],
    *,
    block_timeout_s: float,
    username: str | None = None,
    password: str | None = None,
    tls: Mapping[str, str] | None = None,
) -> redis.Redis:
    """A client for the Redis Cluster these seed nodes belong to. It follows MOVED and ASK itself;
    anything else (a node down, a failover in progress) surfaces at once as a ``redis`` error, as
    a single server's would, and the caller's outage handling waits. ``tls`` None: no TLS.

    Typed as ``redis.Redis``: it answers the same commands on keys of one slot, and that is all the
    queue sends (``keys.py``)."""
    extra: dict[str, Any] = {"ssl": True, **tls} if tls is not None else {}
    try:
        client = _Cluster(
            startup_nodes=[ClusterNode(host, port) for host, port in nodes],  # type: ignore[no-untyped-call]
            **extra,
            **_client_options(block_timeout_s, username, password),
        )
    except RedisClusterException as exc:
        raise _as_redis_error(exc) from exc
    return client  # type: ignore[return-value]


class _Cluster(RedisCluster):
    """redis-py raises ``RedisClusterException``, which is not a ``RedisError``, when no node answers
    or a slot has no node (a failover under way): turned into a ``redis.ConnectionError`` here, so
    the one outage path that handles a single server's handles them too."""

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().execute_command(*args, **kwargs)  # type: ignore[no-untyped-call]
        except RedisClusterException as exc:
            raise _as_redis_error(exc) from exc

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        pipe = super().pipeline(transaction=transaction, shard_hint=shard_hint)  # type: ignore[no-untyped-call]
        execute = pipe.execute

        def translated(raise_on_error: bool = True) -> Any:
            try:
                return execute(raise_on_error)
            except RedisClusterException as exc:
                raise _as_redis_error(exc) from exc

        pipe.execute = translated
        return pipe


def _as_redis_error(exc: RedisClusterException) -> redis.RedisError:
    """What redis-py's cluster exception means, from the error it was raised from when no seed
    node would do (the last node's): refused credentials and ACLs as a single server's are; a
    server with cluster support disabled (it refused CLUSTER SLOTS) as ``NotAClusterNode``; a node
    that did not answer as ``NoClusterNodeAnswered``."""
    if isinstance(exc, CrossSlotTransactionError):  # our keys share a slot: this is a bug, not an outage
        return redis.ResponseError(f"CROSSSLOT {exc}")
    cause = exc.__cause__
    refused = cause.__context__ if isinstance(cause, RedisClusterException) else None
    if isinstance(refused, redis.ResponseError):
        return NotAClusterNode(str(refused)) if type(refused) is redis.ResponseError else refused
    if isinstance(cause, redis.AuthenticationError):
        return cause
    if isinstance(cause, (redis.ConnectionError, redis.TimeoutError)):
        return NoClusterNodeAnswered(str(cause))
    return redis.ConnectionError(f"Redis Cluster: {exc}")
