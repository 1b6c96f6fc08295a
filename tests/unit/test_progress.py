"""Reservations in the progress hash: who sends a recipient, and what a second claimant does."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import fakeredis
import pytest

from smsworker.delivery import RetryPolicy
from smsworker.outcome import Acceptance
from smsworker.store.progress import Mark, Progress, holder, reservation
from smsworker.store.queue import RedisQueue
from smsworker.task import SmsTask
from smsworker.testing import FakeProvider
from smsworker.worker.events import WorkerEvents
from smsworker.worker.flight import TaskInFlight
from smsworker.worker.guarded import RedisGaveUp
from smsworker.worker.intake import Unit
from smsworker.worker.liveness import Ownership
from smsworker.worker.marks import ProgressMarks
from smsworker.worker.send_unit import UnitSender
from tests.support.logs import LogCapture
from tests.support.waiting import wait_until
from tests.support.worker_redis import worker_redis

KEY = "{sms_queue}:progress:id:order-1"
A, B, C = "+8613800138000", "+8613800138001", "+8613800138002"


def test_reserve_steal_finish(fake_redis: fakeredis.FakeRedis) -> None:
    progress = Progress(fake_redis)
    mine, theirs = reservation("w1:1:a", "f1"), reservation("w2:2:b", "f2")
    assert holder(mine) == "w1:1:a" and holder("1") is None
    fake_redis.hset(KEY, mapping={A: "1", B: theirs})
    found = progress.reserve(KEY, mine, [A, B, C])
    assert (found.ours, found.sent, found.held) == ([C], {A: Acceptance("")}, {B: theirs})
    assert progress.reserve(KEY, mine, [C]).ours == [C]  # ours already: asking again is fine
    progress.steal(KEY, mine, {B: "r someone-else x"})  # changed since: not taken
    assert fake_redis.hget(KEY, B) == theirs.encode()
    progress.steal(KEY, mine, {B: theirs})
    assert progress.reserve(KEY, mine, [B]).ours == [B]
    progress.finish_many(
        [Mark(KEY, mine, sent=(B,), release=(C,), accepted=((B, Acceptance("aliyun", "9^0")),))]
    )
    assert fake_redis.hgetall(KEY) == {A.encode(): b"1", B.encode(): b"1", f"@{B}".encode(): b"aliyun 9^0"}
    # Whoever claims the task next learns who accepted what was sent: it records the receipt.
    assert progress.reserve(KEY, "r w9:9:z f9", [A, B]).sent == {
        A: Acceptance(""),
        B: Acceptance("aliyun", "9^0"),
    }
    progress.finish_many([Mark(KEY, "r w3:3:c f3", sent=(), release=(A,))])  # not ours to release
    assert fake_redis.hget(KEY, A) == b"1"


def test_marks_of_several_requests_go_in_one_call(fake_redis: fakeredis.FakeRedis) -> None:
    progress = Progress(fake_redis)
    other = "{sms_queue}:progress:other"
    mine, theirs = reservation("w1:1:a", "f1"), reservation("w2:2:b", "f2")
    progress.reserve(KEY, mine, [A, B, C])
    progress.reserve(other, theirs, [A, B])
    progress.finish_many(
        [
            Mark(KEY, mine, (A,), (B,)),
            Mark(other, mine, (B,), (A,)),  # A is not ours there: it stays reserved
            Mark(KEY, mine, (C,), ()),  # the same task's other request
            Mark(KEY, mine, (), ()),  # nothing to write: left out
        ]
    )
    assert fake_redis.hgetall(KEY) == {A.encode(): b"1", C.encode(): b"1"}
    assert fake_redis.hgetall(other) == {A.encode(): theirs.encode(), B.encode(): b"1"}
    assert fake_redis.ttl(KEY) > 0 and fake_redis.ttl(other) > 0


def test_progress_marks_are_written_in_groups_and_each_sender_waits_for_its_own(
    fake_redis: fakeredis.FakeRedis,
) -> None:
    queue = RedisQueue(fake_redis, "sms_queue", "{sms_queue}:dead")
    redis = worker_redis(queue)
    calls: list[int] = []
    finish = redis.finish

    def counted(marks: Sequence[Mark]) -> None:
        calls.append(len(marks))
        release.wait(5)  # the first write is slow: the others pile up behind it
        finish(marks)

    release = threading.Event()
    redis.finish = counted  # type: ignore[method-assign]
    marks = ProgressMarks(redis)
    marks.start()
    numbers = [f"+86138001380{n:02d}" for n in range(20)]
    done: list[str] = []

    def send(number: str) -> None:
        marks.write(Mark(KEY, "r me:1:m f", (number,), ()))
        if fake_redis.hget(KEY, number) == b"1":  # back only once its mark is in Redis
            done.append(number)

    threads = [threading.Thread(target=send, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    wait_until(lambda: sum(calls) >= 1, timeout_s=5, what="the first write")
    assert done == []
    release.set()
    for thread in threads:
        thread.join(5)
    marks.close()
    assert sorted(done) == numbers and sum(calls) == 20
    assert len(calls) < 20, "the marks that waited behind the first write went in one call"


def test_a_failed_group_write_fails_every_sender_in_it(fake_redis: fakeredis.FakeRedis) -> None:
    queue = RedisQueue(fake_redis, "sms_queue", "{sms_queue}:dead")
    redis = worker_redis(queue)

    def gave_up(marks: Sequence[Mark]) -> None:
        raise RedisGaveUp("stopping")

    redis.finish = gave_up  # type: ignore[method-assign]
    marks = ProgressMarks(redis)
    marks.start()
    with pytest.raises(RedisGaveUp):
        marks.write(Mark(KEY, "r me:1:m f", ("+8613800138000",), ()))
    marks.close()
    with pytest.raises(RedisGaveUp):  # closed: written alone, and still raising
        marks.write(Mark(KEY, "r me:1:m f", ("+8613800138000",), ()))


def make_sender(
    queue: RedisQueue,
    provider: FakeProvider,
    logs: LogCapture,
    sleep: Callable[[float], None],
    *,
    in_doubt: bool = False,
) -> UnitSender:
    policy = RetryPolicy(2, 0.001, 0.001)
    redis = worker_redis(queue, log=logs.logger)
    return UnitSender(
        redis,
        [provider],
        policy,
        events=WorkerEvents(),
        pace=lambda provider: None,
        sleep=sleep,
        lease_lapsed=lambda since: in_doubt,
        still_ours=Ownership(lambda since: in_doubt, redis.holds, logs.logger).still_ours,
        settle=lambda flight: None,
        marks=ProgressMarks(redis),
        log=logs.logger,
    )


def flight(mobiles: tuple[str, ...]) -> TaskInFlight:
    task = SmsTask(1, "x", mobiles, task_id="order-1")
    return TaskInFlight(b"t", b"t", task, KEY, 1, reservation=reservation("me:1:m", "f"))


def test_a_second_claimant_waits_for_a_live_holder_then_skips(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis, logs: LogCapture
) -> None:
    queue.heartbeat("w2:2:b", 30, "{}")  # the holder is alive
    fake_redis.hset(KEY, B, reservation("w2:2:b", "f2"))
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # meanwhile, the holder's request goes through
        waits.append(seconds)
        fake_redis.hset(KEY, B, "1")

    provider = FakeProvider(max_batch_size=10)
    outcome = make_sender(queue, provider, logs, sleep).send(flight((A, B)), Unit([A, B], contested=True))
    assert provider.sent_to() == [A] and outcome.sent == [A] and outcome.skipped == {B: Acceptance("")}
    assert waits == [0.2]


def test_a_dead_holder_is_taken_over(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis, logs: LogCapture
) -> None:
    fake_redis.hset(KEY, B, reservation("gone:9:z", "f9"))  # no heartbeat: dead
    provider = FakeProvider(max_batch_size=10)
    outcome = make_sender(queue, provider, logs, lambda s: None).send(
        flight((A, B)), Unit([A, B], contested=True)
    )
    assert sorted(provider.sent_to()) == [A, B] and sorted(outcome.sent) == [A, B]
    assert logs.events("progress.taken_over")[0]["recipients"] == 1
    marks: dict[bytes, bytes] = fake_redis.hgetall(KEY)  # type: ignore[assignment]
    assert {k: v for k, v in marks.items() if not k.startswith(b"@")} == {
        A.encode(): b"1",
        B.encode(): b"1",
    }


def test_units_check_their_reservations_again_only_while_the_heartbeat_is_in_doubt(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis, logs: LogCapture
) -> None:
    # Taken over while this worker was frozen: the recipient is someone else's now.
    queue.heartbeat("w2:2:b", 30, "{}")
    fake_redis.hset(KEY, A, reservation("w2:2:b", "f2"))

    def holder_sends(seconds: float) -> None:
        fake_redis.hset(KEY, A, "1")

    provider = FakeProvider()
    fake_redis.lpush("{sms_queue}:processing:me:1:m", b"t")  # still ours, but its recipient is not
    doubtful = make_sender(queue, provider, logs, holder_sends, in_doubt=True)
    assert doubtful.send(flight((A,)), Unit([A])).skipped == {A: Acceptance("")}
    assert provider.sent_to() == []
    fake_redis.delete("{sms_queue}:processing:me:1:m", KEY)  # taken over, sent, settled: nothing left
    taken = doubtful.send(flight((C,)), Unit([C]))
    assert taken.taken_over and not taken.sent and not taken.skipped
    assert provider.sent_to() == [] and logs.events("task.taken_over")
    fake_redis.hset(KEY, B, reservation("w2:2:b", "f2"))
    sure = make_sender(queue, provider, logs, holder_sends)  # reserved at intake, heartbeat fresh
    assert sure.send(flight((B,)), Unit([B])).sent == [B]
    assert fake_redis.hget(KEY, B) == b"1"
