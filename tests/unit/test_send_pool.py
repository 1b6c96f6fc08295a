"""The send pool's slots: taken before each unit, always given back; a stop ends the wait for one."""

from __future__ import annotations

import threading

import pytest

from smsworker.errors import ShutdownRequested
from smsworker.worker.send_pool import SendPool
from smsworker.worker.stopping import Stopping
from tests.support.logs import LogCapture


def test_a_unit_that_raises_gives_its_slot_back_and_is_logged(logs: LogCapture) -> None:
    pool = SendPool(1, Stopping(1.0), logs.logger)

    def broken() -> None:
        raise KeyError("a bug")

    for _ in range(3):  # with one slot, a leaked slot would block the second acquire for ever
        assert pool.acquire(tick_s=0.05, on_tick=lambda: None)
        pool.submit(broken)
        assert pool.wait_idle(5.0)
    assert pool.units_in_flight() == 0
    assert len(logs.events("worker.send_failed")) == 3
    pool.shutdown(wait=True)


def test_waiting_for_a_slot_ticks_and_ends_with_a_stop(logs: LogCapture) -> None:
    stopping = Stopping(1.0)
    pool = SendPool(1, stopping, logs.logger)
    release = threading.Event()
    assert pool.acquire(tick_s=0.05, on_tick=lambda: None)

    def hold() -> None:
        release.wait(5.0)

    pool.submit(hold)
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 3:
            stopping.request()

    assert not pool.acquire(tick_s=0.01, on_tick=tick)  # no free slot, then a stop: give up
    assert len(ticks) == 3
    release.set()
    assert pool.wait_idle(5.0)
    assert not pool.acquire(tick_s=0.01, on_tick=tick)  # a free slot, but stopping: not taken
    pool.shutdown(wait=True)


def test_a_stop_cuts_a_backoff_short_and_sets_the_deadline() -> None:
    stopping = Stopping(30.0)
    assert stopping.left_s() == float("inf") and not stopping.past_deadline()
    stopping.request()
    stopping.request()  # a second request does not move the deadline
    assert 29.0 < stopping.left_s() <= 30.0
    with pytest.raises(ShutdownRequested):
        stopping.sleep(60.0)


def test_wait_free_counts_the_free_senders_and_holds_none(logs: LogCapture) -> None:
    stopping = Stopping(1.0)
    pool = SendPool(3, stopping, logs.logger)

    def not_free() -> None:
        raise AssertionError("no slot free")

    assert pool.wait_free(tick_s=0.01, on_tick=not_free) == 3
    assert pool.acquire(tick_s=0.01, on_tick=not_free)  # one unit starting
    assert pool.wait_free(tick_s=0.01, on_tick=not_free) == 2
    for _ in range(2):  # what it counted is still free
        assert pool.acquire(tick_s=0.01, on_tick=not_free)
    ticks: list[int] = []

    def tick() -> None:  # every sender busy: it waits, ticking, until a stop
        ticks.append(1)
        stopping.request()

    assert pool.wait_free(tick_s=0.01, on_tick=tick) == 0 and ticks
