"""The Redis layer on fakeredis: fetch order, stamping, requeue, settling, orphans, the DLQ."""

from __future__ import annotations

from collections.abc import Callable

import fakeredis
import pytest
import redis

from smsworker.store.queue import RedisQueue, SettleOp
from smsworker.store.stamps import stamp, unstamp


def test_claim_is_fifo_for_lpush_producers(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"first", b"second")
    assert queue.claim("w1", 0.1) == b"first"
    assert queue.claim_many("w1", 1) == [b"second"]
    assert queue.claim("w1", 0.01) is None
    assert fake_redis.lrange("{sms_queue}:processing:w1", 0, -1) == [b"second", b"first"]


def test_brpoplpush_fallback_keeps_the_same_order(fake_redis: fakeredis.FakeRedis) -> None:
    old = RedisQueue(fake_redis, "sms_queue", "{sms_queue}:dead", use_blmove=False)
    fake_redis.lpush("sms_queue", b"first", b"second")
    assert old.claim("w1", 1) == b"first"
    assert old.claim("w1", 1) == b"second"


def test_stamp_claimed_replaces_the_element_and_may_run_twice(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.lpush("sms_queue", b"task")
    [element] = queue.claim_many("w1", 1)
    stamped = stamp(element, "0123456789abcdef")
    assert queue.stamp_claimed("w1", element, stamped)
    assert fake_redis.lrange("{sms_queue}:processing:w1", 0, -1) == [stamped]
    assert queue.stamp_claimed("w1", element, stamped)  # run again after a lost reply: still yes
    assert fake_redis.lrange("{sms_queue}:processing:w1", 0, -1) == [stamped]
    fake_redis.delete("{sms_queue}:processing:w1")  # as if Redis lost its data after the claim
    assert not queue.stamp_claimed("w1", element, stamped)


def test_requeue_puts_tasks_back_at_the_front_in_order(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.lpush("sms_queue", b"a", b"b", b"c", b"d")
    queue.heartbeat("w1", 30, "{}")
    assert queue.claim_many("w1", 2) == [b"a", b"b"]
    fake_redis.set("{sms_queue}:settled:w1", "3:1")
    assert queue.requeue_worker("w1") == 2
    assert queue.claim_many("w2", 4) == [b"a", b"b", b"c", b"d"]
    assert not fake_redis.exists(
        "{sms_queue}:processing:w1", "{sms_queue}:heartbeat:w1", "{sms_queue}:settled:w1"
    )
    assert fake_redis.smembers("{sms_queue}:workers") == set()


def test_recovering_a_crashed_worker_counts_the_crash_on_each_element(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    token = "0123456789abcdef"
    fake_redis.lpush("sms_queue", b"plain", stamp(b"stamped", token, crashes=1), b"\x00smsworker:forged\nx")
    queue.claim_many("dead", 3)
    assert queue.requeue_worker("dead", crashed=True) == 3
    plain, stamped, forged = (unstamp(e) for e in queue.claim_many("w2", 3))
    assert (plain.raw, plain.crashes) == (b"plain", 1) and plain.token is not None
    assert (stamped.raw, stamped.crashes, stamped.token) == (b"stamped", 2, token)
    assert (forged.raw, forged.crashes) == (b"\x00smsworker:forged\nx", 1)
    queue.requeue_worker("w2", crashed=False)  # a worker putting back its own: no crash counted
    assert [unstamp(e).crashes for e in queue.claim_many("w3", 3)] == [1, 2, 1]


def test_orphans_go_back_to_the_front_only_if_still_there(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.lpush("sms_queue", b"held", b"orphan", b"orphan", b"next")
    queue.claim_many("w1", 3)
    assert sorted(queue.processing("w1")) == [b"held", b"orphan", b"orphan"]
    assert queue.requeue_orphans("w1", [b"orphan", b"gone"]) == 1
    assert sorted(queue.processing("w1")) == [b"held", b"orphan"]
    assert queue.claim_many("w2", 2) == [b"orphan", b"next"]


def test_settle_is_one_script(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"t")
    [element] = queue.claim_many("w1", 1)
    fake_redis.hset("{sms_queue}:progress:d:x", "+86138", 1)
    assert queue.settle(
        "w1", 1, [SettleOp(element, "{sms_queue}:progress:d:x", envelopes=(b"{}",), sent=1, dead=1)]
    ) == [True]
    assert fake_redis.llen("{sms_queue}:processing:w1") == 0
    assert fake_redis.lrange("{sms_queue}:dead", 0, -1) == [b"{}"]
    assert not fake_redis.exists("{sms_queue}:progress:d:x")
    assert queue.stats().as_dict() == {
        "queue": 0,
        "processing": 0,
        "dead": 1,
        "workers": 0,
        "sent_total": 1,
        "dead_total": 1,
        "tasks_total": 1,
        "segments_total": 0,
        "delivered_total": 0,
        "undelivered_total": 0,
        "unmatched_reports": 0,
        "awaiting_receipt": 0,
        "held_reports": 0,
        "scheduled": 0,
        "cancelled_total": 0,
    }


def test_idempotency_progress_is_kept_a_day(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.hset("{sms_queue}:progress:id:k", "+86138", 1)
    fake_redis.lpush("{sms_queue}:processing:w1", b"t")
    queue.settle("w1", 1, [SettleOp(b"t", "{sms_queue}:progress:id:k", keep_progress=True, sent=1)])
    assert 0 < fake_redis.ttl("{sms_queue}:progress:id:k") <= 24 * 3600


def test_a_settle_run_twice_records_once(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("{sms_queue}:processing:w1", b"same", b"same")
    ops = [SettleOp(b"same", envelopes=(b"env",), dead=1)]
    assert queue.settle("w1", 1, ops) == [True]
    assert queue.settle("w1", 1, ops) == [True]  # the retry after a lost reply: answered, not redone
    assert fake_redis.lrange("{sms_queue}:processing:w1", 0, -1) == [b"same"]  # the twin stays
    assert fake_redis.lrange("{sms_queue}:dead", 0, -1) == [b"env"]
    assert fake_redis.hget("{sms_queue}:stats", "dead") == b"1"
    assert queue.settle("w1", 2, ops) == [True]  # the next batch is a new one
    assert fake_redis.llen("{sms_queue}:dead") == 2


def test_a_task_no_longer_held_is_not_recorded(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("{sms_queue}:processing:w1", b"mine")
    fake_redis.hset("{sms_queue}:progress:d:t", "+86138", 1)
    ops = [
        SettleOp(b"taken-over", "{sms_queue}:progress:d:t", envelopes=(b"e1",), dead=1),
        SettleOp(b"mine", envelopes=(b"e2",), dead=1),
    ]
    assert queue.settle("w1", 1, ops) == [False, True]
    assert fake_redis.lrange("{sms_queue}:dead", 0, -1) == [b"e2"]
    assert fake_redis.exists("{sms_queue}:progress:d:t")  # the new owner needs it
    assert fake_redis.hget("{sms_queue}:stats", "tasks") == b"1"


def test_replay_only_moves_what_is_still_there(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("{sms_queue}:dead", b"env")
    assert queue.replay(b"env", b"task")
    assert not queue.replay(b"env", b"task")
    assert fake_redis.lrange("sms_queue", 0, -1) == [b"task"]


def test_dead_letters_oldest_first_in_chunks(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("{sms_queue}:dead", *[str(i).encode() for i in range(7)])
    assert list(queue.dead_letters_oldest_first(chunk=3)) == [str(i).encode() for i in range(7)]
    assert queue.dead_letters(2) == [b"6", b"5"]
    assert queue.purge_dead() == 7
    assert queue.dead_letters() == []


def test_claim_many_is_fifo_and_bounded(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"a", b"b", b"c")
    assert queue.claim_many("w1", 2) == [b"a", b"b"]
    assert queue.claim_many("w1", 5) == [b"c"]
    assert queue.claim_many("w1", 5) == []
    assert fake_redis.lrange("{sms_queue}:processing:w1", 0, -1) == [b"c", b"b", b"a"]


def test_settle_many_tasks_in_one_transaction(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"a", b"b", b"c")
    claimed = queue.claim_many("w1", 3)
    ops = [SettleOp(claimed[0], sent=2), SettleOp(claimed[2], envelopes=(b"e1", b"e2"), dead=2)]
    assert queue.settle("w1", 1, ops) == [True, True]
    assert fake_redis.lrange("{sms_queue}:processing:w1", 0, -1) == [b"b"]
    assert fake_redis.lrange("{sms_queue}:dead", 0, -1) == [b"e2", b"e1"]
    assert fake_redis.hgetall("{sms_queue}:stats") == {
        b"sent": b"2",
        b"dead": b"2",
        b"tasks": b"2",
        b"segments": b"0",
    }


def test_stamping_finds_the_element_anywhere_in_the_processing_list(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.lpush("sms_queue", b"same", b"same", b"other")
    first, second, other = queue.claim_many("w1", 3)
    one, two = stamp(first, "0" * 16), stamp(second, "1" * 16)
    assert queue.stamp_claimed("w1", first, one)
    assert queue.stamp_claimed("w1", second, two)  # the identical twin gets its own token
    assert sorted(fake_redis.lrange("{sms_queue}:processing:w1", 0, -1)) == sorted([other, one, two])


def test_a_key_of_the_wrong_type_moves_nothing(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    # Lua cannot undo a half-done script: a task popped from one list and not pushed onto the next
    # would be lost. Every script that moves tasks checks the types before it writes anything.
    fake_redis.lpush("{sms_queue}:processing:w1", b"task")
    fake_redis.set("{sms_queue}:dead", "oops")
    with pytest.raises(redis.ResponseError, match=r"WRONGTYPE \{sms_queue\}:dead holds a string, not a list"):
        queue.settle("w1", 1, [SettleOp(b"task", envelopes=(b"env",), dead=1)])
    assert queue.processing("w1") == [b"task"]
    fake_redis.delete("{sms_queue}:dead")
    assert queue.settle("w1", 1, [SettleOp(b"task", envelopes=(b"env",), dead=1)]) == [True]
    fake_redis.set("sms_queue", "oops")
    fake_redis.lpush("{sms_queue}:processing:w2", b"held")
    moves: list[Callable[[], int]] = [
        lambda: queue.requeue_worker("w2"),
        lambda: queue.requeue_orphans("w2", [b"held"]),
    ]
    for move in moves:
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            move()
        assert queue.processing("w2") == [b"held"]
    fake_redis.delete("sms_queue")
    fake_redis.lpush("sms_queue", b"next")
    fake_redis.set("{sms_queue}:processing:w3", "oops")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        queue.claim_many("w3", 1)
    assert fake_redis.lrange("sms_queue", 0, -1) == [b"next"]
    fake_redis.lpush("{sms_queue}:dead", b"env2")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        fake_redis.set("sms_queue", "oops")
        queue.replay(b"env2", b"task")
    assert fake_redis.lrange("{sms_queue}:dead", 0, -1) == [b"env2", b"env"]


def test_the_oldest_task_age_counts_from_when_the_head_was_first_seen(queue: RedisQueue) -> None:
    assert queue.oldest_age_s(now=1000) is None
    queue.push(b"first", b"second")
    assert queue.oldest_age_s(now=1000) == 0
    assert queue.oldest_age_s(now=1030) == 30
    queue.claim_many("w1", 1)  # "first" is taken: "second" is the head now, seen from now on
    assert queue.oldest_age_s(now=1040) == 0
    assert queue.oldest_age_s(now=1045) == 5
    long_a, long_b = b"a" * 300 + b"1" + b"z" * 300, b"a" * 300 + b"2" + b"z" * 300
    queue.client.delete("sms_queue")
    queue.push(long_a)
    assert queue.oldest_age_s(now=2000) == 0 and queue.oldest_age_s(now=2010) == 10
    queue.client.delete("sms_queue")
    queue.push(long_b)  # a different task with the same length and ends: taken for the same one
    assert queue.oldest_age_s(now=2020) == 20


def test_settles_are_counted_per_minute_for_the_chart(queue: RedisQueue) -> None:
    queue.push(b"a", b"b")
    queue.claim_many("w1", 2)
    queue.settle("w1", 1, [SettleOp(b"a", sent=3), SettleOp(b"b", dead=1, envelopes=(b"{}",))])
    queue.settle("w1", 1, [SettleOp(b"a", sent=3)])  # the same batch again (a lost reply): no recount
    minutes = queue.per_minute(3)  # the settle fell in one of them (a minute may have turned since)
    assert [start for start, _, _ in minutes] == [minutes[-1][0] - 120, minutes[-1][0] - 60, minutes[-1][0]]
    assert (sum(m[1] for m in minutes), sum(m[2] for m in minutes)) == (3, 1)
    [counted] = [start for start, sent, _ in minutes if sent]
    assert 0 < queue.client.ttl(queue.keys.minute(counted // 60)) <= 7200
