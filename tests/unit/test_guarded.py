from __future__ import annotations

import pytest
import redis

from smsworker.worker.guarded import RedisGaveUp, RedisGuard
from smsworker.worker.stopping import Stopping
from tests.support.logs import LogCapture


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
    guard = RedisGuard(logs.logger, Stopping(5.0), wait=waits.append)
    flaky = Flaky(*[redis.ConnectionError("refused")] * 6, redis.ResponseError("WRONGTYPE"))
    assert guard.read(flaky, "claim") == "ok"
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert len(logs.events("redis.unavailable")) == 6
    assert logs.events("redis.command_failed")[0]["error"] == "WRONGTYPE"
    assert logs.events("redis.reconnected")[0]["action"] == "claim"
    assert guard.recoveries == 1


def test_running_nothing_is_given_up_even_a_permanent_error(logs: LogCapture) -> None:
    guard = RedisGuard(logs.logger, Stopping(5.0), wait=lambda s: None, drain_patience_s=0.0)
    assert guard.read(Flaky(*[redis.ResponseError("NOPERM no")] * 20), "claim") == "ok"
    assert guard.gave_up == ""


def test_stopping_a_read_gives_up_at_once_and_a_write_at_the_deadline(logs: LogCapture) -> None:
    stopping = Stopping(60.0)
    guard = RedisGuard(logs.logger, stopping, wait=lambda s: None)
    stopping.request()
    flaky = Flaky(redis.ConnectionError("down"))
    with pytest.raises(RedisGaveUp):
        guard.read(flaky, "claim")
    assert flaky.calls == 1
    assert guard.write(Flaky(redis.ConnectionError("down")), "settle") == "ok"  # before the deadline
    late = Stopping(0.0)
    late.request()
    with pytest.raises(RedisGaveUp):
        RedisGuard(logs.logger, late, wait=lambda s: None).write(Flaky(redis.ConnectionError("x")), "settle")


@pytest.mark.parametrize(
    ("error", "patience_s", "why"),
    [
        (
            redis.ResponseError("WRONGTYPE Operation against a key"),
            3600.0,
            "Redis kept failing: ResponseError",
        ),
        (redis.ConnectionError("refused"), 0.0, "Redis kept failing for 0 s: ConnectionError: refused"),
    ],
)
def test_a_drain_stops_on_a_permanent_error_or_after_its_patience(
    logs: LogCapture, error: redis.RedisError, patience_s: float, why: str
) -> None:
    stopping = Stopping(60.0)
    guard = RedisGuard(logs.logger, stopping, wait=lambda s: None, drain_patience_s=patience_s)
    guard.draining = True
    with pytest.raises(RedisGaveUp):
        guard.read(Flaky(*[error] * 5), "claim")
    assert stopping.requested
    assert guard.gave_up.startswith(why)


def test_other_errors_are_not_swallowed(logs: LogCapture) -> None:
    guard = RedisGuard(logs.logger, Stopping(5.0), wait=lambda s: None)
    with pytest.raises(KeyError):
        guard.read(Flaky(KeyError("bug")), "claim")
