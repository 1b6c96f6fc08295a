"""Faults between a running worker and Redis, at every kind of call the worker makes.

A proxy (``tests/support/redis_proxy.py``) lets one call through to a real redis-server and then
loses its reply (Redis did the work, the worker sees the connection close), or freezes every byte
for longer than the client's socket timeout. Whatever the call, a live worker must end with
nothing lost, nothing sent twice, no dead letter written twice, and nothing left in its processing
list once Redis answers again: within ``STRANDED_BOUND_S`` (the next turn of the fetch loop after a
failed call went through, plus the outage backoff).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from smsworker.store import scripts
from tests.support.fake_sms_api import FakeSmsApi, Reply
from tests.support.processes import WorkerProcess
from tests.support.redis_proxy import Match, RedisProxy, command, script
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

Start = Callable[..., WorkerProcess]
STRANDED_BOUND_S = 5.0
REJECTED = "13900000099"
FLAKY = "13900004000"  # refused at its first request, sent (slowly) at its second


@pytest.fixture
def proxy(redis_server: RedisServer, redis_url: str) -> Iterator[RedisProxy]:
    proxy = RedisProxy(redis_server.port)
    yield proxy
    proxy.close()


def task(template_id: int, mobiles: list[str], **extra: str) -> bytes:
    return json.dumps({"template_id": template_id, "mobiles": mobiles, "content": "x", **extra}).encode()


@dataclass(frozen=True)
class Workload:
    """Elements of every shape the worker settles differently, identical twins among them (a settle
    run twice could take one twin for the other), and what must come of them."""

    elements: list[bytes]
    deliveries: list[str]  # E.164, one entry per send that must happen
    dead_letters: int


FLAKY_TASK = task(5, [FLAKY])


def workload() -> Workload:
    singles = [task(1, [f"1390000{n:04d}"]) for n in range(12)]
    many = task(2, [f"13900001{n:03d}" for n in range(5)])  # several requests: stamped
    keyed = task(3, ["13900002000", "13900002001"], id="k1")  # reserved under its id
    partly = task(4, ["13900003000", REJECTED, "12345"])  # one rejected, one invalid
    elements = [
        FLAKY_TASK,
        FLAKY_TASK,
        *singles,
        singles[0],
        many,
        keyed,
        partly,
        b"not json",
        b"not json",
        b"\xff",
    ]
    deliveries = [f"+861390000{n:04d}" for n in range(12)] + ["+8613900000000"]  # the twin too
    deliveries += [f"+8613900001{n:03d}" for n in range(5)] + ["+8613900002000", "+8613900002001"]
    deliveries += ["+8613900003000", "+86" + FLAKY]
    # The rejected number, the invalid one, the flaky one's first try, and the three non-tasks.
    return Workload(elements, deliveries, dead_letters=6)


@dataclass(frozen=True)
class Fault:
    match: Match
    skip: int = 0  # matching calls let through first
    push_when_matched: bool = False  # a call that waits in Redis for a task to arrive


def settle_of(element: bytes) -> Match:
    return lambda cmd: script(scripts.SETTLE)(cmd) and element in cmd


FAULTS: dict[str, Fault] = {
    "claim many": Fault(script(scripts.TAKE), skip=1),
    "blocking claim": Fault(command("BLMOVE"), push_when_matched=True),
    "stamp": Fault(script(scripts.STAMP)),
    "reserve": Fault(script(scripts.RESERVE)),  # the task with an id reserves its recipients
    "mark sent": Fault(script(scripts.FINISH), skip=2),
    # The first of two identical tasks settles while its twin is still in flight: run twice, the
    # settle would take the twin for it.
    "settle": Fault(settle_of(FLAKY_TASK)),
    "settle, later batch": Fault(script(scripts.SETTLE), skip=3),
    "dead letter": Fault(settle_of(b"not json")),
    "heartbeat": Fault(command("EXEC"), skip=1),
}


def run_under_fault(
    start: Start, proxy: RedisProxy, server: RedisServer, api: FakeSmsApi, fault: str, *, freeze_s: float
) -> None:
    r = server.client()
    # Scripts already cached, as on any Redis a worker has run on: each call is one EVALSHA that
    # runs (a cold cache would answer the first with NOSCRIPT, and the fault might hit that).
    for source in (
        scripts.TAKE,
        scripts.STAMP,
        scripts.RESERVE,
        scripts.FINISH,
        scripts.SETTLE,
        scripts.REQUEUE_ORPHANS,
    ):
        r.script_load(source)
    api.script("+86" + REJECTED, Reply(400, body='{"error": "blocked"}'))
    api.script("+86" + FLAKY, Reply(400, body='{"error": "not yet"}'), Reply(200, delay_s=1.0))
    load = workload()
    chosen = FAULTS[fault]
    worker = start(
        "--provider",
        "http",
        "--http-url",
        api.url,
        "--concurrency",
        "4",
        "--heartbeat-ttl",
        "3",
        url=proxy.url,
    )
    worker.wait_for_event("worker.started")
    wait_until(lambda: proxy.seen and command("BLMOVE")(proxy.seen[-1]), what="the worker to wait for tasks")
    if freeze_s:
        armed = proxy.freeze_after(chosen.match, freeze_s, skip=chosen.skip)
    else:
        armed = proxy.lose_reply(chosen.match, skip=chosen.skip)
    if chosen.push_when_matched:
        assert armed.matched.wait(timeout=10), f"the worker never made a {fault} call"
    r.lpush("sms_queue", *reversed(load.elements))  # LPUSH: the first element is fetched first
    assert armed.fired.wait(timeout=20), f"the worker never made a {fault} call"

    def settled() -> bool:
        idle = r.llen("sms_queue") == 0 and not r.keys("{sms_queue}:processing:*")
        return idle and len(api.delivered) >= len(load.deliveries)

    wait_until(
        settled, timeout_s=STRANDED_BOUND_S + freeze_s + 5, what="every task settled, nothing stranded"
    )
    wait_until(lambda: r.llen("{sms_queue}:dead") >= load.dead_letters, timeout_s=5, what="the dead letters")
    assert worker.process.poll() is None, "the worker must ride out the fault"
    assert sorted(api.delivered) == sorted(load.deliveries), "lost, or sent twice"
    assert r.llen("{sms_queue}:dead") == load.dead_letters, "a dead letter was written twice"
    stats = {k.decode(): int(v) for k, v in r.hgetall("{sms_queue}:stats").items()}  # type: ignore[union-attr]
    assert (stats["sent"], stats["dead"], stats["tasks"]) == (len(load.deliveries), 6, len(load.elements))
    worker.send(signal.SIGTERM)
    assert worker.wait() == 0


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_lost_reply_loses_nothing_and_repeats_nothing(
    fault: str, start_worker: Start, proxy: RedisProxy, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    run_under_fault(start_worker, proxy, redis_server, fake_api, fault, freeze_s=0)


@pytest.mark.parametrize("fault", ["blocking claim", "settle"])
def test_redis_frozen_past_the_socket_timeout_mid_call(
    fault: str, start_worker: Start, proxy: RedisProxy, redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    # The client gives up after its socket timeout (6 s); Redis runs the call when it wakes.
    run_under_fault(start_worker, proxy, redis_server, fake_api, fault, freeze_s=7)
