"""The Redis layer on fakeredis: fetch order, stamping, requeue, recovery judgement, the DLQ."""

from __future__ import annotations

import fakeredis

from smsworker.queue import RedisQueue, SettleOp, stamp, unstamp


def test_claim_is_fifo_for_lpush_producers(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"first", b"second")
    assert queue.claim("w1", 0) == b"first"
    assert queue.claim("w1", 0.1) == b"second"
    assert queue.claim("w1", 0) is None
    assert fake_redis.lrange("sms_queue:processing:w1", 0, -1) == [b"second", b"first"]


def test_brpoplpush_fallback_keeps_the_same_order(fake_redis: fakeredis.FakeRedis) -> None:
    old = RedisQueue(fake_redis, "sms_queue", "sms_queue:dead", use_blmove=False)
    fake_redis.lpush("sms_queue", b"first", b"second")
    assert old.claim("w1", 1) == b"first"
    assert old.claim("w1", 0) == b"second"


def test_stamp_round_trip_keeps_bytes_exactly() -> None:
    raw = b'\xff\x00{"a":1}\n'
    assert unstamp(stamp(raw, "abc")) == ("abc", raw)
    assert unstamp(raw) == (None, raw)


def test_stamp_claimed_replaces_the_element(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"task")
    element = queue.claim("w1", 0)
    assert element is not None
    result = queue.stamp_claimed("w1", element)
    assert result is not None
    token, stamped = result
    assert fake_redis.lrange("sms_queue:processing:w1", 0, -1) == [stamped]
    assert unstamp(stamped) == (token, b"task")
    fake_redis.delete("sms_queue:processing:w1")  # as if Redis lost its data after the claim
    assert queue.stamp_claimed("w1", element) is None


def test_requeue_puts_tasks_back_at_the_front_in_order(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    fake_redis.lpush("sms_queue", b"a", b"b", b"c", b"d")
    queue.heartbeat("w1", 30)
    assert queue.claim("w1", 0) == b"a"
    assert queue.claim("w1", 0) == b"b"
    assert queue.requeue_worker("w1") == 2
    assert [queue.claim("w2", 0) for _ in range(4)] == [b"a", b"b", b"c", b"d"]
    assert not fake_redis.exists("sms_queue:processing:w1", "sms_queue:heartbeat:w1")
    assert fake_redis.smembers("sms_queue:workers") == set()


def test_dead_worker_judgement(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    queue.heartbeat("here:100:a", 30)  # same host, pid gone: dead at once
    queue.heartbeat("here:200:b", 30)  # same host, pid alive: alive
    queue.heartbeat("there:100:c", 30)  # other host, heartbeat fresh: alive
    fake_redis.sadd("sms_queue:workers", "there:300:d")  # other host, heartbeat expired: dead
    fake_redis.lpush("sms_queue:processing:there:400:e", b"x")  # orphan processing list: dead
    dead = queue.dead_workers("here:1:me", hostname="here", pid_alive=lambda pid: pid == 200)
    assert dead == ["here:100:a", "there:300:d", "there:400:e"]


def test_settle_is_one_transaction(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"t")
    element = queue.claim("w1", 0)
    assert element is not None
    queue.mark_sent("sms_queue:progress:d:x", ["+86138"])
    queue.settle("w1", [SettleOp(element, "sms_queue:progress:d:x", envelopes=(b"{}",), sent=1, dead=1)])
    assert fake_redis.llen("sms_queue:processing:w1") == 0
    assert fake_redis.lrange("sms_queue:dead", 0, -1) == [b"{}"]
    assert not fake_redis.exists("sms_queue:progress:d:x")
    assert queue.stats().as_dict() == {
        "queue": 0,
        "processing": 0,
        "dead": 1,
        "workers": 0,
        "sent_total": 1,
        "dead_total": 1,
        "tasks_total": 1,
        "segments_total": 0,
    }


def test_idempotency_progress_is_kept_a_day(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    queue.mark_sent("sms_queue:progress:id:k", ["+86138"])
    queue.settle("w1", [SettleOp(b"t", "sms_queue:progress:id:k", keep_progress=True, sent=1)])
    assert 0 < fake_redis.ttl("sms_queue:progress:id:k") <= 24 * 3600


def test_replay_only_moves_what_is_still_there(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue:dead", b"env")
    assert queue.replay(b"env", b"task")
    assert not queue.replay(b"env", b"task")
    assert fake_redis.lrange("sms_queue", 0, -1) == [b"task"]


def test_dead_letters_oldest_first_in_chunks(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue:dead", *[str(i).encode() for i in range(7)])
    assert list(queue.dead_letters_oldest_first(chunk=3)) == [str(i).encode() for i in range(7)]
    assert queue.dead_letters(2) == [b"6", b"5"]
    assert queue.purge_dead() == 7
    assert queue.dead_letters() == []


def test_claim_many_is_fifo_and_bounded(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"a", b"b", b"c")
    assert queue.claim_many("w1", 2) == [b"a", b"b"]
    assert queue.claim_many("w1", 5) == [b"c"]
    assert queue.claim_many("w1", 5) == []
    assert fake_redis.lrange("sms_queue:processing:w1", 0, -1) == [b"c", b"b", b"a"]


def test_settle_many_tasks_in_one_transaction(queue: RedisQueue, fake_redis: fakeredis.FakeRedis) -> None:
    fake_redis.lpush("sms_queue", b"a", b"b", b"c")
    claimed = queue.claim_many("w1", 3)
    queue.settle("w1", [SettleOp(claimed[0], sent=2), SettleOp(claimed[2], envelopes=(b"e1", b"e2"), dead=2)])
    assert fake_redis.lrange("sms_queue:processing:w1", 0, -1) == [b"b"]
    assert fake_redis.lrange("sms_queue:dead", 0, -1) == [b"e2", b"e1"]
    assert fake_redis.hgetall("sms_queue:stats") == {
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
    stamped = queue.stamp_claimed("w1", first)
    assert stamped is not None
    again = queue.stamp_claimed("w1", second)  # the identical twin gets its own token
    assert again is not None and again[0] != stamped[0]
    assert sorted(fake_redis.lrange("sms_queue:processing:w1", 0, -1)) == sorted(
        [other, stamped[1], again[1]]
    )
