"""The Redis failures the rest of smsworker may name, so that only ``store/`` imports the client.

Besides redis-py's own, the failures of finding the server (``connect.py`` raises them): each says
which address answered what, in a few words, so that a message can name what was tried without
quoting redis-py's representation of its connection pools.
"""

from __future__ import annotations

from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    MovedError,
    NoPermissionError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Failures that pass: Redis is away, restarting or re-sharding, and the same call can be made again.
# Anything else (a script error, a wrong type) will fail the same way next time.
OUTAGES = (RedisConnectionError, RedisTimeoutError, ClusterDownError, TryAgainError)


class Detailed:
    """A failure of ours that carries what a server or redis-py said, in their own words."""

    detail = ""


class NoSentinelAnswered(Detailed, RedisConnectionError):
    """None of the sentinels could be reached; ``detail`` is what the last one failed with. An
    outage: sentinels that start later are waited for."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"no sentinel answered: {detail}")
        self.detail = detail


class PrimaryNotFound(RedisConnectionError):
    """Sentinels answered, and gave no primary of this name. A connection error, as redis-py has it,
    so that a worker waits (a failover, a sentinel being reconfigured) rather than dies."""

    saying = ""

    def __init__(self, master: str) -> None:
        super().__init__(self.saying.format(master=master))
        self.master = master


class PrimaryUnknown(PrimaryNotFound):
    """None of the sentinels that answered watches a primary of this name."""

    saying = "no sentinel knows a primary named {master!r}"


class PrimaryDown(PrimaryNotFound):
    """The sentinels know the primary, and say it is down (a failover is due or under way)."""

    saying = "the sentinels say the primary {master!r} is down"


class NotASentinel(Detailed, ResponseError):
    """A server given as a sentinel refused SENTINEL: a plain Redis, or a node of a cluster."""

    def __init__(self, address: str, detail: str) -> None:
        super().__init__(f"{address} is not a Sentinel: {detail}")
        self.address = address
        self.detail = detail


class IsASentinel(ResponseError):
    """The server a URL names is a Sentinel: it answers for the primary, it does not hold the data."""

    def __init__(self, address: str) -> None:
        super().__init__(f"{address} is a Sentinel, not a Redis server that holds data")
        self.address = address


class NoClusterNodeAnswered(Detailed, RedisConnectionError):
    """No seed node of a Redis Cluster could be reached; ``detail`` is what the last one failed with."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"no Redis Cluster node answered: {detail}")
        self.detail = detail


class NotAClusterNode(Detailed, ResponseError):
    """The seed nodes answered, but not as nodes of a cluster: plain servers (cluster support disabled)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"not a Redis Cluster node: {detail}")
        self.detail = detail


__all__ = [
    "OUTAGES",
    "AuthenticationError",
    "BusyLoadingError",
    "ClusterDownError",
    "Detailed",
    "IsASentinel",
    "MovedError",
    "NoClusterNodeAnswered",
    "NoPermissionError",
    "NoSentinelAnswered",
    "NotAClusterNode",
    "NotASentinel",
    "PrimaryDown",
    "PrimaryNotFound",
    "PrimaryUnknown",
    "RedisConnectionError",
    "RedisError",
    "RedisTimeoutError",
    "ResponseError",
    "TryAgainError",
]
