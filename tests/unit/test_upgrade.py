"""Moving the keys of the layout before 0.2 (``Q:dead``…) to their hash-tagged names (``{Q}:dead``…),
searched for states that lose or garble something: whatever the old keys hold, whatever a worker of
this version has already written under the new names, and however two starters interleave, every
element, field and member ends under its new name, exactly once, and nothing else is touched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import fakeredis
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsworker.logs import make_logger
from smsworker.store import scripts
from smsworker.store.queue import RedisQueue
from smsworker.store.upgrade import move_keys, old_names, pending_renames, upgrade_layout

WORKERS = ["web1:10:aaaaaa", "web2:20:bbbbbb", "web3:30:cccccc"]
items = st.lists(st.binary(min_size=1, max_size=6), max_size=6)
counters = st.dictionaries(st.sampled_from(["sent", "dead", "tasks", "segments"]), st.integers(0, 10**6))
progress = st.dictionaries(
    st.sampled_from(["+8613800000000", "+8613800000001", "+8613800000002"]),
    st.sampled_from([b"1", b"r web1:10:aaaaaa 1", b"r web2:20:bbbbbb 2"]),
)


@dataclass(frozen=True)
class Layout:
    """What one layout's keys hold: the old names (``sms_queue:``) or the new (``{sms_queue}:``)."""

    dead: list[bytes]
    processing: list[list[bytes]]  # one per worker in WORKERS
    workers: set[str]
    stats: dict[str, int]
    progress: dict[str, bytes]
    beat: bytes | None

    def write(self, r: Any, prefix: str) -> None:
        for key, values in [(f"{prefix}:dead", self.dead)] + [
            (f"{prefix}:processing:{worker}", held)
            for worker, held in zip(WORKERS, self.processing, strict=True)
        ]:
            if values:
                r.rpush(key, *values)
        if self.workers:
            r.sadd(f"{prefix}:workers", *self.workers)
        if self.stats:
            r.hset(f"{prefix}:stats", mapping=self.stats)
        if self.progress:
            r.hset(f"{prefix}:progress:id:o1", mapping=self.progress)
            r.expire(f"{prefix}:progress:id:o1", 3600)
        if self.beat is not None:
            r.set(f"{prefix}:heartbeat:{WORKERS[0]}", self.beat, ex=30)


layouts = st.builds(
    Layout,
    dead=items,
    processing=st.lists(items, min_size=3, max_size=3),
    workers=st.sets(st.sampled_from(WORKERS)),
    stats=counters,
    progress=progress,
    beat=st.none() | st.binary(min_size=1, max_size=3),
)


def queue_on(r: fakeredis.FakeRedis) -> RedisQueue:
    return RedisQueue(r, "sms_queue", "{sms_queue}:dead", use_blmove=True)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(old=layouts, new=layouts, chunk=st.integers(1, 3), stale_second=st.booleans())
def test_every_old_key_lands_under_its_new_name_once(
    old: Layout, new: Layout, chunk: int, stale_second: bool
) -> None:
    r: Any = fakeredis.FakeRedis()
    # Keys of other queues, and the producers' list: untouched whatever happens.
    bystanders = {"sms_queue": [b"task"], "sms_queue:otp:dead": [b"x"], "other:dead": [b"y"]}
    for key, values in bystanders.items():
        r.rpush(key, *values)
    old.write(r, "sms_queue")
    new.write(r, "{sms_queue}")  # a worker of this version wrote these first

    # Two workers start at once: the second read the old names before the first moved them.
    first, second = queue_on(r), queue_on(r)
    seen_by_second = pending_renames(second) if stale_second else []
    move_keys(first, pending_renames(first), chunk=chunk)
    assert move_keys(second, seen_by_second, chunk=chunk) == 0  # nothing left to move twice
    upgrade_layout(second, make_logger(fmt="json"))

    assert r.lrange("{sms_queue}:dead", 0, -1) == new.dead + old.dead
    for worker, was, is_ in zip(WORKERS, old.processing, new.processing, strict=True):
        assert r.lrange(f"{{sms_queue}}:processing:{worker}", 0, -1) == is_ + was
    assert {m.decode() for m in r.smembers("{sms_queue}:workers")} == old.workers | new.workers
    summed = {k: old.stats.get(k, 0) + new.stats.get(k, 0) for k in old.stats.keys() | new.stats.keys()}
    assert {k.decode(): int(v) for k, v in r.hgetall("{sms_queue}:stats").items()} == summed
    merged = {**old.progress, **new.progress}
    merged.update({number: b"1" for number, held in old.progress.items() if held == b"1"})  # sent wins
    assert {k.decode(): v for k, v in r.hgetall("{sms_queue}:progress:id:o1").items()} == merged
    assert not merged or 0 < r.ttl("{sms_queue}:progress:id:o1") <= 3600
    beat = new.beat if new.beat is not None else old.beat
    assert r.get(f"{{sms_queue}}:heartbeat:{WORKERS[0]}") == beat
    assert beat is None or 0 < r.ttl(f"{{sms_queue}}:heartbeat:{WORKERS[0]}") <= 30
    assert [k for k in r.keys("sms_queue:*") if k != b"sms_queue:otp:dead"] == []
    assert all(r.lrange(key, 0, -1) == values for key, values in bystanders.items())
    assert r.get("{sms_queue}:layout") and pending_renames(first) == []


def test_a_dead_letter_list_named_in_the_settings_keeps_its_name() -> None:
    r = fakeredis.FakeRedis()
    r.rpush("sms_queue:dead", b"envelope")
    queue = RedisQueue(r, "sms_queue", "sms_queue:dead", use_blmove=True)
    assert old_names(queue, ["sms_queue:dead"]) == []
    upgrade_layout(queue, make_logger(fmt="json"))
    assert r.lrange("sms_queue:dead", 0, -1) == [b"envelope"]


def test_a_queue_name_with_its_own_hash_tag_has_nothing_to_move() -> None:
    r = fakeredis.FakeRedis()
    r.rpush("{app}:sms:dead", b"envelope")
    queue = RedisQueue(r, "{app}:sms", "{app}:sms:dead", use_blmove=True)
    assert queue.keys.prefix == "{app}:sms" and pending_renames(queue) == []


def test_a_key_of_the_wrong_type_under_the_new_name_stops_the_move_and_keeps_both() -> None:
    r = fakeredis.FakeRedis()
    r.rpush("sms_queue:dead", b"envelope")
    r.set("{sms_queue}:dead", b"oops")
    move = scripts.register(r, scripts.MOVE_KEY)
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        move(keys=["sms_queue:dead", "{sms_queue}:dead"], args=["keep", 10])
    assert r.lrange("sms_queue:dead", 0, -1) == [b"envelope"] and r.get("{sms_queue}:dead") == b"oops"
