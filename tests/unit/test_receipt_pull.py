"""Pulling reports: Tencent's queue drained page by page, Alibaba asked about each receipt that has
waited long enough, every call paced, nothing asked twice too soon, failures only logged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import fakeredis
import pytest

from smsworker.errors import TransientProviderError
from smsworker.receipts import parse_state
from smsworker.receiver.backlog import Backlog
from smsworker.receiver.pull import PAGE, Puller
from smsworker.receiver.recorder import Recorder
from smsworker.store.awaiting import AwaitingReceipts
from smsworker.store.queue import RedisQueue
from smsworker.store.ratelimit import RateLimiter
from smsworker.store.receipts import ReceiptStore
from smsworker.store.status import StatusBook
from tests.support.logs import LogCapture

A, B = "+8613800138000", "+8613800138001"
# 2026-11-21 17:00 UTC is already the 22nd in Beijing.
ACCEPTED = 1_795_280_400.0


class Tencent:
    def __init__(self, pages: list[list[Any]]) -> None:
        self.pages = pages
        self.calls: list[int] = []

    def pull_statuses(self, limit: int = PAGE) -> list[dict[str, Any]]:
        self.calls.append(limit)
        return self.pages.pop(0) if self.pages else []


class Aliyun:
    def __init__(self, status: dict[str, int], *, fail: bool = False) -> None:
        self.status = status
        self.fail = fail
        self.queries: list[tuple[str, str, str]] = []

    def query_details(self, number: str, send_date: str, biz_id: str) -> list[dict[str, Any]]:
        self.queries.append((number, send_date, biz_id))
        if self.fail:
            raise TransientProviderError("Throttling.User: too many", code="Throttling.User")
        status = self.status[number]
        code = "DELIVERED" if status == 3 else "MK:0001"
        return [
            {
                "PhoneNum": number[3:],
                "SendStatus": status,
                "ErrCode": code,
                "ReceiveDate": "2026-11-22 01:00:09",
            }
        ]


def accepted(
    r: fakeredis.FakeRedis,
    queue: RedisQueue,
    provider: str,
    message_id: str,
    number: str,
    at: float = ACCEPTED,
) -> str:
    """What a settle leaves: the receipt record, the task's status, the awaiting entry."""
    key = queue.keys.receipt(provider, message_id, number)
    r.set(key, json.dumps({"id": "order-1", "number": number, "at": at}), ex=3600)
    r.hset(
        queue.keys.status("order-1"), number, json.dumps({"state": "sent", "at": at, "provider": provider})
    )
    r.zadd(queue.keys.awaiting, {key: at})
    return key


def puller(r: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture, **vendors: Any) -> Puller:
    limiter = RateLimiter(queue, {"aliyun.pull": 1000.0, "tencent.pull": 1000.0}, logs.logger)
    recorder = Recorder(ReceiptStore(queue), logs.logger)
    backlog = Backlog(recorder, logs.logger)
    return Puller(
        recorder,
        AwaitingReceipts(queue),
        limiter,
        logs.logger,
        backlog=backlog,
        after_s=60,
        retry_s=300,
        **vendors,
    )


def state(queue: RedisQueue, number: str) -> dict[str, Any]:
    return parse_state(StatusBook(queue).statuses("order-1")[number])


def tencent_item(number: str, serial: str, status: str = "SUCCESS") -> dict[str, Any]:
    return {
        "PhoneNumber": number,
        "SerialNo": serial,
        "ReportStatus": status,
        "Description": "DELIVRD",
        "UserReceiveTime": 1_795_194_009,
        "SessionContext": "",
    }


def test_tencent_is_pulled_until_a_page_comes_back_short(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture
) -> None:
    accepted(fake_redis, queue, "tencent", "2433:1", A)
    accepted(fake_redis, queue, "tencent", "2433:2", B)
    full = [tencent_item(A, "2433:1")] + [tencent_item("+8613900000000", f"x{n}") for n in range(PAGE - 1)]
    vendor = Tencent([full, [tencent_item(B, "2433:2", "FAIL"), {"ReportStatus": "SUCCESS"}], []])
    outcomes = puller(fake_redis, queue, logs, tencent=vendor).round()
    assert vendor.calls == [PAGE, PAGE]  # the second page was short: no third call this round
    assert outcomes == {"delivered": 1, "undelivered": 1, "unmatched": PAGE - 1, "malformed": 1}
    assert state(queue, A)["state"] == "delivered" and state(queue, A)["at"] == 1_795_194_009
    assert state(queue, B)["state"] == "undelivered"
    assert queue.stats().awaiting_receipt == 0
    assert fake_redis.exists("{sms_queue}:ratelimit:tencent.pull")  # paced under its own name


def test_with_redis_away_nothing_is_pulled_that_could_not_be_kept(logs: LogCapture) -> None:
    """Tencent hands each report out once: with no turn from the shared rate limit (Redis away),
    there is no call at all; what one call brought is kept until Redis is back."""
    server = fakeredis.FakeServer()
    r = fakeredis.FakeRedis(server=server)
    queue = RedisQueue(r, "sms_queue", "{sms_queue}:dead", use_blmove=True)
    accepted(r, queue, "tencent", "2433:1", A)
    vendor = Tencent([[tencent_item(A, "2433:1")]])
    pulling = puller(r, queue, logs, tencent=vendor)
    server.connected = False
    assert pulling.round() == {} and vendor.calls == []  # no turn: no call
    assert logs.events("receipts.pull_failed")
    server.connected = True
    pages = vendor.pull_statuses  # Redis goes away again while Tencent answers the call

    def answered_then_redis_goes(limit: int = PAGE) -> list[dict[str, Any]]:
        vendor.pull_statuses = pages  # type: ignore[method-assign]
        items = pages(limit)
        server.connected = False
        return items

    vendor.pull_statuses = answered_then_redis_goes  # type: ignore[method-assign]
    pulling.round()
    assert vendor.calls == [PAGE]
    pulling.round()
    assert vendor.calls == [PAGE]  # what it holds is written first: nothing more is pulled meanwhile
    server.connected = True
    assert pulling.round() == {"delivered": 1} and state(queue, A)["state"] == "delivered"


def test_alibaba_is_asked_about_each_receipt_that_has_waited_long_enough(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture
) -> None:
    accepted(fake_redis, queue, "aliyun", "biz-1", A)
    accepted(fake_redis, queue, "aliyun", "biz-1", B)
    accepted(fake_redis, queue, "aliyun", "biz-new", "+8613800138002", at=time.time())  # too recent
    accepted(fake_redis, queue, "tencent", "2433:9", "+8613800138003")  # not Alibaba's
    gone = accepted(fake_redis, queue, "aliyun", "biz-old", "+8613800138004")
    fake_redis.delete(gone)  # its record expired: nothing to match a report to
    vendor = Aliyun({A: 3, B: 1})
    outcomes = puller(fake_redis, queue, logs, aliyun=vendor).round()
    assert sorted(vendor.queries) == [(A, "20261122", "biz-1"), (B, "20261122", "biz-1")]
    assert outcomes == {"delivered": 1}
    assert state(queue, A)["state"] == "delivered" and state(queue, B)["state"] == "sent"
    scored: list[tuple[bytes, float]] = fake_redis.zrange(queue.keys.awaiting, 0, -1, withscores=True)  # type: ignore[assignment]
    awaiting = dict(scored)
    assert gone.encode() not in awaiting and queue.keys.receipt("aliyun", "biz-1", A).encode() not in awaiting
    # B is on its way: asked about again only once retry_s has passed.
    assert awaiting[queue.keys.receipt("aliyun", "biz-1", B).encode()] == pytest.approx(
        time.time() - 60 + 300, abs=5
    )
    puller(fake_redis, queue, logs, aliyun=vendor).round()
    assert len(vendor.queries) == 2


def test_a_failing_vendor_is_logged_and_the_round_ends(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture
) -> None:
    accepted(fake_redis, queue, "aliyun", "biz-1", A)
    vendor = Aliyun({}, fail=True)
    assert puller(fake_redis, queue, logs, aliyun=vendor).round() == {}
    [event] = logs.events("receipts.pull_failed")
    assert event["provider"] == "aliyun" and "Throttling" in event["error"]
    assert queue.stats().awaiting_receipt == 1  # still awaiting: asked again next round
    odd = Tencent([["not an object", None, 7]])  # malformed items: skipped, counted
    assert puller(fake_redis, queue, logs, tencent=odd).round() == {"malformed": 3}


def test_anything_else_going_wrong_is_logged_not_fatal(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture
) -> None:
    class Broken:
        def pull_statuses(self, limit: int = PAGE) -> list[dict[str, Any]]:
            raise KeyError("Response")  # what a bug, or an answer nobody foresaw, looks like

    assert puller(fake_redis, queue, logs, tencent=Broken()).round() == {}
    assert logs.events("receipts.pull_crashed")[0]["provider"] == "tencent"


class Blocking:
    """A rate limit that makes every call wait 1,000 s for its turn."""

    def __init__(self) -> None:
        self.waiting = threading.Event()

    def wait_turn(self, provider: str, sleep: Callable[[float], None], *, strict: bool = False) -> None:
        self.waiting.set()
        sleep(1000)


def test_stop_ends_the_loop_even_while_waiting_for_a_turn(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture
) -> None:
    limiter = Blocking()
    recorder = Recorder(ReceiptStore(queue), logs.logger)
    vendor = Tencent([])
    limited = cast(RateLimiter, limiter)
    backlog = Backlog(recorder, logs.logger)
    pulling = Puller(recorder, AwaitingReceipts(queue), limited, logs.logger, tencent=vendor, backlog=backlog)
    thread = threading.Thread(target=pulling.run, args=(3600,))
    thread.start()
    assert limiter.waiting.wait(5)
    pulling.stop()
    thread.join(5)
    assert not thread.is_alive() and vendor.calls == []  # stopped before the call it waited for
