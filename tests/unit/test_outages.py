from __future__ import annotations

import pytest
import redis

from smsworker.outages import OutageGuard, RedisGaveUp
from tests.conftest import LogCapture


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retries_with_doubling_capped_backoff_and_says_so(logs: LogCapture) -> None:
    waits: list[float] = []
    guard = OutageGuard(
        logs.logger, give_up=lambda action, failing_for_s, permanent: False, wait=waits.append
    )
    flaky = Flaky(*[redis.ConnectionError("refused")] * 6, redis.ResponseError("WRONGTYPE"))
    assert guard.call(flaky, "claim") == "ok"
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert len(logs.events("redis.unavailable")) == 6
    assert logs.events("redis.command_failed")[0]["error"] == "WRONGTYPE"
    assert logs.events("redis.reconnected")[0]["action"] == "claim"


def test_gives_up_when_told(logs: LogCapture) -> None:
    guard = OutageGuard(
        logs.logger, give_up=lambda action, failing_for_s, permanent: action == "claim", wait=lambda s: None
    )
    with pytest.raises(RedisGaveUp):
        guard.call(Flaky(redis.ConnectionError("down")), "claim")
    assert guard.call(Flaky(redis.ConnectionError("down")), "settle") == "ok"


def test_other_errors_are_not_swallowed(logs: LogCapture) -> None:
    guard = OutageGuard(
        logs.logger, give_up=lambda action, failing_for_s, permanent: False, wait=lambda s: None
    )
    with pytest.raises(KeyError):
        guard.call(Flaky(KeyError("bug")), "claim")
