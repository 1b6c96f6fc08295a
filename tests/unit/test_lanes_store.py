"""Lanes on the Redis side (fakeredis): routing from the unchanged queue, taking in the worker's
order, pauses, putting back into the lane an element came from, scheduled tasks come due."""

from __future__ import annotations

import json
from collections import Counter

import fakeredis
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from smsworker.store.queue import RedisQueue, SettleOp
from smsworker.store.stamps import crashed_once_more

Q = "sms_queue"
LANES = ["otp", "bulk", "default"]
ROUTES = {"1": "otp", "9": "bulk", "codes": "otp"}


def lanes_queue(r: fakeredis.FakeRedis) -> RedisQueue:
    queue = RedisQueue(r, Q, "{sms_queue}:dead")
    queue.declare_lanes(LANES, ROUTES)
    return queue


def task(template: object, n: int, **extra: object) -> bytes:
    return json.dumps(
        {"template_id": template, "mobiles": ["13800138000"], "content": f"m{n}", **extra}
    ).encode()


def items(r: fakeredis.FakeRedis, key: str) -> list[bytes]:
    """A list's elements, newest first (fakeredis answers bytes: the client does not decode)."""
    return [bytes(e) for e in r.lrange(key, 0, -1) if isinstance(e, bytes)]


def lane_list(r: fakeredis.FakeRedis, name: str) -> list[bytes]:
    return list(reversed(items(r, f"{{sms_queue}}:lane:{name}")))  # oldest first


def test_routing_follows_the_lane_field_then_the_template_then_default() -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    pushed = [
        task(1, 0),  # template as a number
        task("1", 1),  # the same template as text
        task(9, 2),
        task(9, 3, lane="otp"),  # the lane field wins
        task(9, 4, lane="nope"),  # a lane nobody declared: default, dead-lettered there
        task(555, 5),
        b"not json",
        b"\x00smsworker:" + b"x" * 10 + b"\n" + task(1, 7),  # stamped: routed by its body
        task(1.5, 8),
        task("codes", 9),
    ]
    r.lpush(Q, *pushed)
    taken = queue.take("w", [], 0)
    assert taken.routed == len(pushed)
    assert r.llen(Q) == 0
    assert lane_list(r, "otp") == [pushed[i] for i in (0, 1, 3, 7, 9)]
    assert lane_list(r, "bulk") == [pushed[2]]
    assert lane_list(r, "default") == [pushed[i] for i in (4, 5, 6, 8)]
    assert taken.lengths == {"otp": 5, "bulk": 1, "default": 4}


def test_take_serves_the_plan_in_order_and_records_each_lane() -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    r.lpush(Q, *(task(9, i) for i in range(5)), task(1, 5), task(555, 6))
    taken = queue.take("w", [("otp", 5), ("bulk", 2), ("default", 5)], 4)
    assert [lane for lane, _ in taken.elements] == ["otp", "bulk", "bulk", "default"]
    assert [e for _, e in taken.elements][:3] == [task(1, 5), task(9, 0), task(9, 1)]
    origin = r.hgetall("{sms_queue}:origin:w")
    assert {origin[e] for _, e in taken.elements} == {b"otp\t1", b"bulk\t1", b"default\t1"}


def test_a_paused_lane_is_skipped_and_all_paused_takes_nothing() -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    r.lpush(Q, task(1, 0), task(9, 1))
    r.hset("{sms_queue}:paused", "lane:otp", "{}")
    taken = queue.take("w", [("otp", 5), ("bulk", 5)], 5)
    assert [lane for lane, _ in taken.elements] == ["bulk"]
    r.hset("{sms_queue}:paused", "all", "{}")
    assert queue.take("w", [("otp", 5)], 5).elements == []
    assert lane_list(r, "otp") == [task(1, 0)]


def test_without_lanes_the_queue_is_the_one_lane_and_pause_all_holds_it() -> None:
    r = fakeredis.FakeRedis()
    queue = RedisQueue(r, Q, "{sms_queue}:dead")
    r.lpush(Q, b"a", b"b")
    r.hset("{sms_queue}:paused", "all", "{}")
    assert queue.take("w", [("default", 2)], 2).elements == []
    r.hdel("{sms_queue}:paused", "all")
    assert queue.take("w", [("default", 2)], 2).elements == [("default", b"a"), ("default", b"b")]
    assert not r.exists("{sms_queue}:origin:w")


def test_a_dead_workers_tasks_go_back_to_the_front_of_their_own_lanes() -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    r.lpush(Q, task(1, 0), task(1, 1), task(9, 2), task(9, 3))
    queue.take("w", [("otp", 1), ("bulk", 1)], 2)
    r.lpush("{sms_queue}:processing:w", b"from an older worker")  # no origin: the queue
    assert queue.requeue_worker("w", crashed=True) == 3
    otp, bulk = lane_list(r, "otp"), lane_list(r, "bulk")
    assert otp[1] == task(1, 1) and crashed_once_more(task(1, 0)).endswith(task(1, 0))
    assert otp[0].endswith(task(1, 0)) and bulk[0].endswith(task(9, 2))  # at the front, stamped
    assert items(r, Q)[0].endswith(b"from an older worker")
    assert not r.exists("{sms_queue}:origin:w", "{sms_queue}:processing:w")


def test_orphans_go_back_to_their_lane_and_an_equal_copy_keeps_its_origin() -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    same = task(9, 0)
    r.lpush(Q, same, same)
    queue.take("w", [("bulk", 2)], 2)
    assert queue.requeue_orphans("w", [same]) == 1
    assert r.hget("{sms_queue}:origin:w", same) == b"bulk\t1"  # the other copy is still claimed
    assert queue.requeue_orphans("w", [same]) == 1
    assert not r.exists("{sms_queue}:origin:w")
    assert lane_list(r, "bulk") == [same, same]


def test_a_stamp_carries_the_elements_lane_with_it() -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    r.lpush(Q, task(9, 0))
    [(_, element)] = queue.take("w", [("bulk", 1)], 1).elements
    stamped = crashed_once_more(element)
    assert queue.stamp_claimed("w", element, stamped)
    assert r.hgetall("{sms_queue}:origin:w") == {stamped: b"bulk\t1"}


def test_settle_forgets_the_lane_schedules_parks_and_counts_the_campaign() -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    r.lpush(Q, task(9, 0), task(9, 1))
    [(_, first), (_, second)] = queue.take("w", [("bulk", 2)], 2).elements
    ops = [
        SettleOp(
            element=first,
            sent=1,
            later=((2000.0, b"0123456789abcdef\nbulk\nspring\n2\nlater"),),
            campaign_key=queue.keys.campaign("spring"),
            campaign_counts=(1, 1, 0, 0, 2, 1),
            cancelled=3,
        ),
        SettleOp(
            element=second,
            parked=(
                queue.keys.parked("spring"),
                b"bulk\n" + second,
                queue.keys.lane("bulk"),
                "campaign:spring",
            ),
        ),
    ]
    r.hset("{sms_queue}:paused", "campaign:spring", "{}")
    assert queue.settle("w", 1, ops) == [True, True]
    assert not r.exists("{sms_queue}:origin:w")
    assert r.zrange("{sms_queue}:scheduled", 0, -1, withscores=True) == [
        (b"0123456789abcdef\nbulk\nspring\n2\nlater", 2000.0)
    ]
    assert r.lrange("{sms_queue}:parked:spring", 0, -1) == [b"bulk\n" + second]
    counts = r.hgetall("{sms_queue}:campaign:spring")
    assert counts == {b"tasks": b"1", b"sent": b"1", b"scheduled": b"2", b"segments": b"1"}
    assert r.zscore("{sms_queue}:campaigns", "spring") is not None
    assert r.hget("{sms_queue}:stats", "cancelled") == b"3"
    assert queue.settle("w", 1, ops) == [True, True]  # a retried batch writes nothing twice
    assert r.zcard("{sms_queue}:scheduled") == 1 and r.llen("{sms_queue}:parked:spring") == 1


def test_a_task_parked_after_its_campaign_resumed_goes_back_to_the_front_of_its_lane() -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    r.lpush(Q, task(9, 0), task(9, 1))
    [(_, element)] = queue.take("w", [("bulk", 1)], 1).elements
    parked = (queue.keys.parked("spring"), b"bulk\n" + element, queue.keys.lane("bulk"), "campaign:spring")
    assert queue.settle("w", 1, [SettleOp(element=element, parked=parked)]) == [True]
    assert not r.exists("{sms_queue}:parked:spring")  # resumed between the read and the settle
    assert lane_list(r, "bulk") == [element, task(9, 1)]


def test_due_tasks_enter_their_lane_once_and_the_rest_wait() -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    r.hset("{sms_queue}:campaign:spring", "scheduled", 5)
    r.zadd(
        "{sms_queue}:scheduled",
        {
            b"0000000000000001\nbulk\nspring\n2\nA": 100,
            b"0000000000000002\n\n\n1\nB": 100,  # no lane: the queue
            b"0000000000000003\ngone\n\n1\nC": 100,  # a lane no longer declared: the queue
            b"garbage": 100,
            b"0000000000000004\nbulk\n\n1\nD": 200,
        },
    )
    assert queue.promote(150.0) == 4
    assert queue.promote(150.0) == 0  # exactly once
    assert lane_list(r, "bulk") == [b"A"]
    assert sorted(r.lrange(Q, 0, -1)) == [b"B", b"C", b"garbage"]
    assert r.hget("{sms_queue}:campaign:spring", "scheduled") == b"3"
    assert r.zrange("{sms_queue}:scheduled", 0, -1) == [b"0000000000000004\nbulk\n\n1\nD"]


ELEMENTS = st.sampled_from([task(t, n) for t in (1, 9, 555) for n in range(3)] + [b"junk"])


class LaneConservation(RuleBasedStateMachine):
    """Whatever the interleaving of pushes, takes, settles, put-backs and crashes, every element
    pushed is in exactly one place (the queue, a lane, a processing list) or settled, once; and a
    lane's untouched elements keep their order."""

    def __init__(self) -> None:
        super().__init__()
        self.r = fakeredis.FakeRedis()
        self.queue = lanes_queue(self.r)
        self.pushed: Counter[bytes] = Counter()
        self.settled: Counter[bytes] = Counter()
        self.held: dict[str, list[bytes]] = {"w1": [], "w2": []}
        self.batch = 0

    @rule(element=ELEMENTS, direct=st.sampled_from([None, "otp", "bulk"]))
    def push(self, element: bytes, direct: str | None) -> None:
        self.r.lpush(Q if direct is None else f"{{sms_queue}}:lane:{direct}", element)
        self.pushed[element] += 1

    @rule(worker=st.sampled_from(["w1", "w2"]), n=st.integers(0, 4), paused=st.booleans())
    def take(self, worker: str, n: int, paused: bool) -> None:
        if paused:
            self.r.hset("{sms_queue}:paused", "lane:otp", "{}")
        else:
            self.r.hdel("{sms_queue}:paused", "lane:otp")
        taken = self.queue.take(worker, [(lane, n) for lane in LANES], n)
        assert not (paused and any(lane == "otp" for lane, _ in taken.elements))
        self.held[worker] += [e for _, e in taken.elements]

    @rule(worker=st.sampled_from(["w1", "w2"]))
    def settle_one(self, worker: str) -> None:
        if self.held[worker]:
            element = self.held[worker].pop(0)
            self.batch += 1
            assert self.queue.settle(worker, self.batch, [SettleOp(element=element)]) == [True]
            self.settled[element] += 1

    @rule(worker=st.sampled_from(["w1", "w2"]))
    def put_back_one(self, worker: str) -> None:
        if self.held[worker]:
            assert self.queue.requeue_orphans(worker, [self.held[worker].pop()]) == 1

    @rule(worker=st.sampled_from(["w1", "w2"]))
    def crash(self, worker: str) -> None:
        self.queue.requeue_worker(worker)
        self.held[worker] = []

    @invariant()
    def every_element_is_in_one_place(self) -> None:
        keys = [Q, *(f"{{sms_queue}}:lane:{n}" for n in LANES)]
        keys += [f"{{sms_queue}}:processing:{w}" for w in self.held]
        found: Counter[bytes] = Counter(e for k in keys for e in items(self.r, k))
        assert found + self.settled == self.pushed
        for worker, held in self.held.items():
            origin = self.r.hgetall(f"{{sms_queue}}:origin:{worker}")
            # Each element held is remembered, as many times as it is held; nothing else is.
            counted = {
                e: int(str(v, "ascii").rpartition("\t")[2]) for e, v in origin.items() if isinstance(v, bytes)
            }
            assert counted == dict(Counter(held))


TestLaneConservation = LaneConservation.TestCase
TestLaneConservation.settings = settings(max_examples=60, stateful_step_count=30)


@given(st.lists(st.tuples(st.sampled_from([1, 9, 555]), st.integers(0, 99)), max_size=30))
def test_routing_keeps_each_lanes_order(pushes: list[tuple[int, int]]) -> None:
    r = fakeredis.FakeRedis()
    queue = lanes_queue(r)
    for template, n in pushes:
        r.lpush(Q, task(template, n))
        if n % 3 == 0:
            queue.take("w", [], 0)  # routing in several steps
    queue.take("w", [], 0)
    for template, lane in ((1, "otp"), (9, "bulk"), (555, "default")):
        assert lane_list(r, lane) == [task(t, n) for t, n in pushes if t == template]
