"""Telling a dead worker from a live one: the fast path trusts a pid only where it can check it."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from smsworker.logs import make_logger
from smsworker.store.queue import RedisQueue
from smsworker.worker.liveness import Liveness, ProcessIdentity, is_gone, process_start


def fake_proc(
    root: Path, *, pid: int, ns: str = "pid:[4026531836]", boot: str = "b1", start: str = "777"
) -> Path:
    (root / "sys/kernel/random").mkdir(parents=True, exist_ok=True)
    (root / "sys/kernel/random/boot_id").write_text(boot + "\n")
    (root / str(pid)).mkdir(exist_ok=True)
    # The command name may hold spaces and parentheses; start time is field 22.
    fields = ["S"] + ["0"] * 18 + [start] + ["0"] * 10
    (root / str(pid) / "stat").write_text(f"{pid} (python (a b)) " + " ".join(fields) + "\n")
    (root / "self").unlink(missing_ok=True)
    (root / "self").symlink_to(str(pid))
    (root / str(pid) / "ns").mkdir(exist_ok=True)
    (root / str(pid) / "ns" / "pid").unlink(missing_ok=True)
    (root / str(pid) / "ns" / "pid").symlink_to(ns)
    return root


def test_identity_is_read_from_proc(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, pid=os.getpid())
    me = ProcessIdentity.current(proc)
    assert (me.pid, me.boot, me.pid_ns, me.started) == (os.getpid(), "b1", "pid:[4026531836]", "777")
    assert process_start(os.getpid(), proc) == "777"


def test_a_proc_of_another_namespace_is_not_trusted(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, pid=os.getpid())
    (proc / "self").unlink()
    (proc / "self").symlink_to("12345")  # /proc shows this process under another pid
    assert ProcessIdentity.current(proc).pid_ns == ""


def test_the_fast_path_needs_host_boot_and_pid_namespace_to_match(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, pid=100, start="555")
    me = ProcessIdentity("web1", 1, "b1", "pid:[1]", "9")
    alive = ProcessIdentity("web1", 100, "b1", "pid:[1]", "555").to_json().encode()
    assert not is_gone(alive, me, proc)
    for change in ({"host": "web2"}, {"boot": "b2"}, {"pid_ns": "pid:[2]"}, {"pid": 4242}):
        other = dataclasses.replace(ProcessIdentity("web1", 100, "b1", "pid:[1]", "555"), **change)
        # Another host, boot or namespace: unknowable from here, so alive until its heartbeat ends;
        # the same namespace but no such process: dead at once.
        assert is_gone(other.to_json().encode(), me, proc) == ("pid" in change)
    reused = ProcessIdentity("web1", 100, "b1", "pid:[1]", "554").to_json().encode()
    assert is_gone(reused, me, proc)  # the pid lives on, but it is another process now
    unknowable = dataclasses.replace(me, pid_ns="")
    assert not is_gone(ProcessIdentity("web1", 4242, "b1", "", "1").to_json().encode(), unknowable, proc)


def test_an_expired_or_old_heartbeat() -> None:
    me = ProcessIdentity.current()
    assert is_gone(None, me)
    assert not is_gone(json.dumps({"at": 1.0}).encode(), me)  # written by 0.1: only expiry counts
    assert not is_gone(b"garbage", me)


def test_on_this_machine_a_real_dead_process_is_told_from_a_live_one() -> None:
    me = ProcessIdentity.current()
    assert me.pid_ns and me.boot and me.started, "this machine's /proc should give a full identity"
    assert not is_gone(me.to_json().encode(), me)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    other = dataclasses.replace(me, pid=child.pid, started=process_start(child.pid) or "")
    child.wait()
    assert is_gone(other.to_json().encode(), me)


def test_a_heartbeat_lapse_is_remembered_for_what_was_taken_before_it(queue: RedisQueue) -> None:
    liveness = Liveness(queue, "w1", 30, make_logger(fmt="json", stream=io.StringIO()))
    liveness.beat()
    taken = time.monotonic()
    assert not liveness.lapsed_since(taken)
    liveness._beat_at -= 16  # as after a 16 s freeze of this process, or of Redis
    assert liveness.lapsed_since(taken)  # while it lasts
    liveness.beat()  # renewed on waking: but a task taken before the lapse must still be checked
    assert liveness.lapsed_since(taken)
    assert not liveness.lapsed_since(time.monotonic())
