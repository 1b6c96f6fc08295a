"""The Lua scripts as files: each loaded, each with its header, each shipped; and the cursor both
sides of ``settle.lua`` keep: every field of several tasks lands where it belongs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import fakeredis

from smsworker.store import scripts
from smsworker.store.queue import RedisQueue, SettleOp

FILES = Path(scripts.__file__).parent / "scripts"
ROOT = Path(scripts.__file__).parents[2]


def test_every_lua_file_is_a_script_with_its_header() -> None:
    names = sorted(path.stem for path in FILES.glob("*.lua"))
    assert "settle" in names and "check_types" in names and "cursor" in names
    for name in names:
        text = (FILES / f"{name}.lua").read_text("utf-8")
        assert text.startswith("-- "), name
        header = text[: text.index("\n\n")]
        assert "Atomic" in header or "Why" in header, f"{name}.lua does not say why it is atomic"
        if name not in ("check_types", "cursor", "origin"):  # the preludes: shared functions, not scripts
            assert header.startswith(f"-- {name}("), f"{name}.lua's header does not name KEYS and ARGV"
            assert getattr(scripts, name.upper()) == scripts.source(name)


def test_the_preludes_come_with_the_scripts_that_call_them() -> None:
    check, cursor = scripts.source("check_types"), scripts.source("cursor")
    assert scripts.SETTLE.startswith(check + "\n" + cursor + "\n")
    assert scripts.REPLAY.startswith(check) and cursor not in scripts.REPLAY
    assert scripts.FINISH.startswith(cursor) and check not in scripts.FINISH
    assert "wrong_type" not in scripts.RESERVE
    assert "take()" not in scripts.RESERVE and not scripts.RESERVE.startswith(cursor)


def test_the_lua_files_ship_with_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    data = project["tool"]["setuptools"]["package-data"]["smsworker.store"]
    assert "scripts/*.lua" in data


def test_settle_reads_every_field_of_every_task_where_python_wrote_it(
    queue: RedisQueue, fake_redis: fakeredis.FakeRedis
) -> None:
    keys = queue.keys
    fake_redis.lpush("sms_queue", b"t2", b"t1")
    one, two = queue.claim_many("w", 2)
    ops = []
    for n, element in ((1, one), (2, two)):
        fake_redis.hset(keys.status(f"id{n}"), f"13{n}", "queued")
        ops.append(
            SettleOp(
                element,
                progress_key=keys.progress(f"id{n}", None),
                keep_progress=n == 1,
                envelopes=tuple(f"env{n}{i}".encode() for i in range(n)),
                sent=n,
                dead=n - 1,
                segments=10 * n,
                status_key=keys.status(f"id{n}"),
                statuses=((f"+86{n}", f'{{"state": "sent", "n": {n}}}'.encode()),),
                status_drops=(f"13{n}",),
                changes=(f"change{n}".encode(),),
                receipts=tuple(
                    (keys.receipt("p", f"m{n}{i}", f"+86{n}"), f"r{n}{i}".encode()) for i in range(n)
                ),
                payload=(keys.payload(f"tok{n}"), f"raw{n}".encode()),
            )
        )
        fake_redis.hset(keys.progress(f"id{n}", None) or "", f"+86{n}", "1")
    assert queue.settle("w", 1, ops, changes_max=10) == [True, True]
    assert fake_redis.lrange(keys.dead, 0, -1) == [b"env21", b"env20", b"env10"]
    assert fake_redis.exists(keys.progress("id1", None) or "")
    assert not fake_redis.exists(keys.progress("id2", None) or "")
    for n in (1, 2):
        assert fake_redis.hgetall(keys.status(f"id{n}")) == {
            f"+86{n}".encode(): f'{{"state": "sent", "n": {n}}}'.encode()
        }
        assert fake_redis.get(keys.payload(f"tok{n}")) == f"raw{n}".encode()
        for i in range(n):
            assert fake_redis.get(keys.receipt("p", f"m{n}{i}", f"+86{n}")) == f"r{n}{i}".encode()
    assert fake_redis.lrange(keys.changes, 0, -1) == [b"change2", b"change1"]
    assert fake_redis.zcard(keys.awaiting) == 3
    totals = queue.stats()
    assert (totals.sent_total, totals.dead_total, totals.tasks_total, totals.segments_total) == (3, 1, 2, 30)
