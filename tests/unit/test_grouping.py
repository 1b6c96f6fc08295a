"""Cross-task batching (``worker/grouping.py``, ``UnitSender.run_group``), searched for a request that
mixes what must not be mixed and for a recipient lost, sent twice or settled in the wrong task.

The grouper alone: every unit handed out once, groups within the batch size, one message per group,
no number twice in a request, a task with an id alone. The whole pipeline on fakeredis: tasks drawn
from a few messages and a few numbers (so they group, and overlap), a provider that answers each
number by its last digit; every recipient of every task ends sent exactly once or dead-lettered in
its own task's dead letter.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import fakeredis
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from smsworker.deadletters import original_payload
from smsworker.delivery import RetryPolicy
from smsworker.errors import InvalidTask, PermanentProviderError, TransientProviderError
from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.providers.segments import count_segments
from smsworker.store.queue import RedisQueue
from smsworker.store.stamps import crashed_once_more
from smsworker.task import SmsTask, TaskParser
from smsworker.worker.flight import TaskInFlight
from smsworker.worker.grouping import Grouper
from smsworker.worker.intake import Unit
from smsworker.worker.loop import Worker
from smsworker.worker.options import WorkerOptions
from tests.support.hostile import VALID, outcome_of
from tests.support.logs import LogCapture

PARSER = TaskParser(default_region="CN", max_payload_bytes=65536, max_recipients=50)
MESSAGES: list[tuple[int | str, str, dict[str, str] | None]] = [
    (1, "a", None),
    (1, "b", None),
    ("1", "a", None),
    (1, "a", {"code": "42"}),
]


def flight_of(
    template_id: int | str, content: str, params: Any, task_id: str | None, n: int, key: str | None = None
) -> TaskInFlight:
    task = SmsTask(template_id=template_id, content=content, mobiles=(), task_id=task_id, params=params)
    return TaskInFlight(f"element-{n}".encode(), b"raw", task, key, 1)


units = st.lists(
    st.tuples(
        st.integers(0, len(MESSAGES) - 1),
        st.booleans(),  # pushed with an id
        st.lists(st.sampled_from(VALID[:8]), min_size=1, max_size=4, unique=True),
        st.sampled_from(["plain", "contested", "keyed"]),  # keyed: sent in several requests
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(
    drawn=units,
    size=st.integers(1, 6),
    early=st.lists(st.sampled_from(["", "full", "settled"]), max_size=30),
)
def test_groups_hold_one_message_within_the_batch_size_and_every_unit_once(
    drawn: list[tuple[int, bool, list[str], str]], size: int, early: list[str]
) -> None:
    grouper = Grouper(size)
    added = []
    groups = []
    for n, (message, with_id, mobiles, kind) in enumerate(drawn):
        key = None if kind == "plain" else f"{{sms_queue}}:progress:t{n}"
        flight = flight_of(*MESSAGES[message], f"id-{n}" if with_id else None, n, key)
        unit = Unit(mobiles, contested=kind == "contested")
        grouper.add(flight, unit)
        added.append((flight, unit))
        if n < len(early) and early[n] == "full":
            groups += grouper.take_full()
        elif n < len(early) and early[n] == "settled":
            groups += grouper.take_settled()
    groups += grouper.take_all()
    assert grouper.pending() == 0 and grouper.take_all() == []
    assert grouper.handed_out == len(groups)
    handed = [(m.flight, m.unit) for g in groups for m in g]
    assert sorted(map(id, (f for f, _ in handed))) == sorted(map(id, (f for f, _ in added)))
    for group in groups:
        numbers = [n for m in group for n in m.unit.mobiles]
        event(f"group of {len(group)}")
        if len(group) > 1:
            assert len(numbers) <= size, "a shared request larger than the provider's batch"
            assert len(set(numbers)) == len(numbers), "a number twice in one request"
            tasks = [m.flight.task for m in group]
            assert (
                len({(type(t.template_id), t.template_id, t.content, json.dumps(t.params)) for t in tasks})
                == 1
            )
            assert all(t.task_id is None for t in tasks), "a task with an id must travel alone"
            assert not any(m.unit.contested for m in group)
            # Units that may wait for another claimant's reservations must not wait inside a
            # shared request (found by the takeover property: two such waits in one thread).
            assert all(m.flight.progress_key is None for m in group), "a task with progress in company"
    # Groups come out in the order of their first unit, so the queue's order is kept.
    firsts = [added.index(next((f, u) for f, u in added if f is g[0].flight)) for g in groups]
    if not any(early):
        assert firsts == sorted(firsts)


class DigitProvider:
    """Answers each number by its last digit (7 refused, 5 always busy, 3 a failing number) and
    records every request, checking what a vendor would refuse."""

    name = "digits"

    def __init__(self, max_batch_size: int) -> None:
        self.max_batch_size = max_batch_size
        self.sent: Counter[str] = Counter()
        self.requests: list[OutgoingMessage] = []
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> SendResult:
        assert 0 < len(message.mobiles) <= self.max_batch_size
        assert len(set(message.mobiles)) == len(message.mobiles), "a number twice in one request"
        result = SendResult()
        for mobile in message.mobiles:
            outcome = outcome_of(mobile)
            if outcome == "rejected":
                result.failed[mobile] = PermanentProviderError("refused", code="R")
            elif outcome in ("transient", "crash"):
                result.failed[mobile] = TransientProviderError("busy", code="B")
        with self._lock:
            self.requests.append(message)
            self.sent.update(m for m in message.mobiles if m not in result.failed)
        return result

    def segments(self, content: str) -> int:
        return count_segments(content)

    def close(self) -> None:
        return None


def test_a_lone_task_goes_out_after_its_claim_and_a_growing_group_waits_to_fill() -> None:
    grouper = Grouper(10)
    code = flight_of(*MESSAGES[0], None, 0, None)
    grouper.add(code, Unit(["+8613800000000"]))
    for n in range(1, 4):  # a claim that brought a campaign's tasks beside the code
        grouper.add(flight_of(*MESSAGES[1], None, n, None), Unit([f"+861380000000{n}"]))
    [lone] = grouper.take_settled()
    assert [m.flight for m in lone] == [code]
    assert grouper.pending() == 1  # the campaign's group may fill with the next claim
    grouper.add(flight_of(*MESSAGES[1], None, 9, None), Unit(["+8613800000009"]))
    [grown] = grouper.take_settled()  # it gained one: the stream has dried up
    assert len(grown) == 4 and grouper.pending() == 0


@st.composite
def campaign_tasks(draw: st.DrawFn) -> bytes:
    template_id, content, params = draw(st.sampled_from(MESSAGES))
    task: dict[str, Any] = {
        "template_id": template_id,
        "mobiles": draw(st.lists(st.sampled_from(VALID[:12]), min_size=1, max_size=5)),
        "content": content,
    }
    if params is not None:
        task["params"] = params
    if draw(st.integers(0, 4)) == 0:
        task["id"] = f"order-{draw(st.integers(0, 3))}"
    return json.dumps(task).encode()


def one_campaign(count: int, content: str = "campaign") -> list[bytes]:
    return [
        json.dumps({"template_id": 7, "mobiles": [f"139{n:07d}0"], "content": content}).encode()
        for n in range(count)
    ]


def run(pushed: list[bytes], *, batch: int, concurrency: int, group: bool = True) -> tuple[Any, ...]:
    r = fakeredis.FakeRedis()
    queue = RedisQueue(r, "sms_queue", "{sms_queue}:dead", use_blmove=True)
    provider = DigitProvider(batch)
    logs = LogCapture()
    options = WorkerOptions(
        concurrency=concurrency, retry=RetryPolicy(2, 0.0001, 0.0001), group_tasks=group, fetch_block_s=0.05
    )
    r.lpush("sms_queue", *pushed)
    totals = Worker(queue, [provider], PARSER, options, logs.logger).drain()
    return r, queue, provider, logs, totals


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pushed=st.lists(campaign_tasks(), min_size=1, max_size=25),
    batch=st.sampled_from([2, 3, 10]),
    concurrency=st.integers(1, 4),
    crashed=st.sets(st.integers(0, 24), max_size=3),
)
@example(pushed=one_campaign(4), batch=10, concurrency=1, crashed={3})  # a later claim of a round
def test_every_recipient_is_sent_once_or_dead_lettered_in_its_own_task(
    pushed: list[bytes], batch: int, concurrency: int, crashed: set[int]
) -> None:
    # Some were held by a worker that died (put back stamped with a crash): each is started alone.
    elements = [crashed_once_more(raw) if n in crashed else raw for n, raw in enumerate(pushed)]
    r, queue, provider, logs, totals = run(elements, batch=batch, concurrency=concurrency)

    assert totals.drained and totals.tasks == len(pushed)
    assert r.llen("sms_queue") == 0 and not r.keys("{sms_queue}:processing:*")
    tasks = [PARSER.parse(raw) for raw in pushed]
    # A task pushed twice with one id is one task: its recipients are sent once between them.
    wanted: Counter[str] = Counter()
    by_id: dict[str, set[str]] = {}
    for task in tasks:
        good = [m for m in task.mobiles if outcome_of(m) == "sent"]
        if task.task_id is None:
            wanted.update(good)
        else:
            by_id.setdefault(task.task_id, set()).update(good)
    for numbers in by_id.values():
        wanted.update(numbers)
    assert provider.sent == wanted, "a recipient lost or sent twice"
    # Each request carries one message, and every number in it is pushed with that message.
    for request in provider.requests:
        carriers = [
            t
            for t in tasks
            if (t.template_id, type(t.template_id), t.content, t.params)
            == (request.template_id, type(request.template_id), request.content, request.params)
        ]
        for mobile in request.mobiles:
            assert any(mobile in t.mobiles for t in carriers), "a number sent with another task's text"
        if request.task_id is not None:
            own = set().union(*(t.mobiles for t in tasks if t.task_id == request.task_id))
            assert set(request.mobiles) <= own, "a task's id sent with other tasks' numbers"
    # Each task's failed recipients are in its own dead letter, once.
    dead: dict[bytes, list[str]] = {}
    for raw in queue.dead_letters():
        envelope = json.loads(raw)
        dead.setdefault(original_payload(envelope), []).extend(envelope["failed_mobiles"])
    for raw, count in Counter(pushed).items():
        task = PARSER.parse(raw)
        failing = task.as_written([m for m in task.mobiles if outcome_of(m) != "sent"])
        if task.task_id is None:
            assert sorted(dead.get(raw, [])) == sorted(failing * count), raw
        else:  # the first of a duplicated id dead-letters them; the others skip what it settled
            assert set(dead.get(raw, [])) <= set(failing)
    settled = logs.events("task.settled")
    assert sum(e["sent"] + e["dead"] + e["skipped"] for e in settled) == sum(e["recipients"] for e in settled)
    shared = sum(1 for request in provider.requests if request.task_id is None and len(request.mobiles) > 1)
    event("some requests shared" if shared else "no request shared")


def test_a_deep_queue_of_one_campaign_goes_out_in_full_batches() -> None:
    _, _, provider, logs, totals = run(one_campaign(200), batch=20, concurrency=2)
    assert totals.sent == 200 and sum(provider.sent.values()) == 200
    assert len(provider.requests) == 10, [len(r.mobiles) for r in provider.requests]
    assert max(e["tasks_per_request"] for e in logs.events("task.settled")) == 20


def test_without_grouping_each_task_is_its_own_request() -> None:
    _, _, provider, logs, totals = run(one_campaign(40), batch=20, concurrency=2, group=False)
    assert totals.sent == 40 and len(provider.requests) == 40
    assert {e["tasks_per_request"] for e in logs.events("task.settled")} == {1}


def test_distinct_texts_never_share_and_a_lone_task_is_not_held_back() -> None:
    otps = [
        json.dumps({"template_id": 7, "mobiles": [f"139{n:07d}0"], "content": f"code {n}"}).encode()
        for n in range(12)
    ]
    _, _, provider, _, totals = run(otps, batch=20, concurrency=3)
    assert totals.sent == 12 and len(provider.requests) == 12
    _, _, provider, _, totals = run(one_campaign(1), batch=20, concurrency=3)
    assert totals.sent == 1 and [len(r.mobiles) for r in provider.requests] == [1]


def test_a_task_with_an_id_keeps_its_id_on_the_wire() -> None:
    with_id = json.dumps({"template_id": 7, "mobiles": ["13900000099"], "content": "campaign", "id": "o-1"})
    _, _, provider, _, totals = run([*one_campaign(10), with_id.encode()], batch=20, concurrency=1)
    assert totals.sent == 11
    mine = [r for r in provider.requests if r.task_id == "o-1"]
    assert [r.mobiles for r in mine] == [("+8613900000099",)]
    assert all("+8613900000099" not in r.mobiles for r in provider.requests if r.task_id is None)


def test_an_invalid_element_among_grouped_ones_is_dead_lettered_and_the_rest_still_share() -> None:
    pushed = [*one_campaign(6), b"not json", *one_campaign(6, content="other")]
    _, queue, provider, _, totals = run(pushed, batch=10, concurrency=1)
    assert totals.sent == 12 and len(queue.dead_letters()) == 1
    with pytest.raises(InvalidTask):
        PARSER.parse(b"not json")
    # The first campaign in one request; the second started when the first round ended (it had as
    # many requests as senders), so it is split once.
    assert sorted(len(r.mobiles) for r in provider.requests) == [1, 5, 6]


def test_a_task_claimed_for_a_round_beside_one_a_worker_died_holding_is_still_sent() -> None:
    """A round claims more while its tasks share requests; when that claim brings a task a worker
    died holding, that one goes back, to be started alone, and the rest of the claim goes with the
    round. (Found by make chaos: the rest was held and never sent, until the worker stopped.)"""
    first, second, third, fourth = one_campaign(4)
    r, queue, provider, _, totals = run(
        [first, second, third, crashed_once_more(fourth)], batch=20, concurrency=1
    )
    assert totals.sent == 4 and sum(provider.sent.values()) == 4
    assert queue.length() == 0 and r.keys("{sms_queue}:processing:*") == []
