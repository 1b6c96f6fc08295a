"""The Redis failures the rest of smsworker may name, so that only ``store/`` imports the client."""

from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Failures that pass: Redis is away, restarting or re-sharding, and the same call can be made again.
# Anything else (a script error, a wrong type) will fail the same way next time.
OUTAGES = (RedisConnectionError, RedisTimeoutError, ClusterDownError, TryAgainError)

__all__ = [
    "OUTAGES",
    "AuthenticationError",
    "BusyLoadingError",
    "ClusterDownError",
    "RedisConnectionError",
    "RedisError",
    "RedisTimeoutError",
    "ResponseError",
    "TryAgainError",
]
