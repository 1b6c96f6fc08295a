"""FanOut: every event reaches every observer, and an observer that raises stops nothing."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from smsworker.worker.events import FanOut, WorkerEvents
from tests.support.logs import LogCapture

EVENTS = sorted(
    name for name, member in inspect.getmembers(WorkerEvents, inspect.isfunction) if not name.startswith("_")
)
# One call per event, with arguments of the right shape.
CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "started": (("fetching",), {}),
    "fetch_returned": ((), {}),
    "redis_waiting": (("down",), {}),
    "request_done": (("http", 0.1, 3), {}),
    "retried": (("http",), {}),
    "task_settled": ((), {"sent": 1, "dead_reasons": ["invalid_mobile"], "segments": 2}),
    "task_rejected": (("invalid_json",), {}),
    "progressed": ((), {"tasks": 1, "sent": 1, "dead": 0}),
    "stopping": ((), {}),
}


class Recorder(WorkerEvents):
    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattribute__(self, name: str) -> Any:
        if name in EVENTS:
            return lambda *args, **kwargs: object.__getattribute__(self, "seen").append((name, args, kwargs))
        return object.__getattribute__(self, name)


class Broken(WorkerEvents):
    def __getattribute__(self, name: str) -> Any:
        if name in EVENTS:
            raise RuntimeError(f"observer bug in {name}")
        return object.__getattribute__(self, name)


def test_every_event_has_a_call_here_and_fan_out_passes_it_on() -> None:
    assert sorted(CALLS) == EVENTS  # a new event needs a row, and FanOut must pass it on
    for name in EVENTS:
        assert name in vars(FanOut), f"FanOut does not pass on {name}: it would be dropped silently"


@pytest.mark.parametrize("name", EVENTS)
def test_each_event_reaches_every_observer_even_past_one_that_raises(name: str, logs: LogCapture) -> None:
    first, second = Recorder(), Recorder()
    fan_out = FanOut([first, Broken(), second], logs.logger)
    args, kwargs = CALLS[name]
    getattr(fan_out, name)(*args, **kwargs)
    assert first.seen == second.seen == [(name, args, kwargs)]
    [failure] = logs.events("events.observer_failed")
    assert failure["on"] == name and failure["observer"] == "Broken"
