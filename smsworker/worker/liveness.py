"""Heartbeats for one worker, and the recovery of workers that stopped beating.

A worker is dead when its heartbeat has expired, or, sooner, when it ran on this very machine, in
this pid namespace, and its process is gone. The second test is only as good as the pid it checks:
two containers with one hostname see each other's pids as missing, and a pid can be reused. So a
heartbeat carries the process's identity (host, boot id, pid namespace, pid, start time), and the
fast path is taken only when all of it can be checked from here.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from smsworker.store.errors import RedisError
from smsworker.store.queue import RedisQueue
from smsworker.worker.flight import Claimed, TaskInFlight
from smsworker.worker.stopping import Stopping


@dataclass(frozen=True)
class ProcessIdentity:
    host: str
    pid: int
    boot: str = ""  # /proc/sys/kernel/random/boot_id: a reboot reuses pids
    pid_ns: str = ""  # /proc/self/ns/pid; empty when this process cannot read its own pids there
    started: str = ""  # field 22 of /proc/<pid>/stat: a reused pid has another start time

    @classmethod
    def current(cls, proc: Path = Path("/proc")) -> ProcessIdentity:
        pid = os.getpid()
        boot = _read(proc / "sys/kernel/random/boot_id")
        try:
            pid_ns = os.readlink(proc / "self/ns/pid")
            # A /proc mounted for another pid namespace names other processes: trust nothing in it.
            seen_as = os.readlink(proc / "self")
        except OSError:
            pid_ns, seen_as = "", ""
        if seen_as != str(pid):
            pid_ns = ""
        return cls(socket.gethostname(), pid, boot, pid_ns, process_start(pid, proc) or "")

    def can_check(self, other: ProcessIdentity) -> bool:
        """Whether ``other``'s pid means the same process here as where it runs."""
        return bool(
            self.pid_ns
            and self.boot
            and other.started
            and (self.host, self.boot, self.pid_ns) == (other.host, other.boot, other.pid_ns)
        )

    def to_json(self, details: Mapping[str, object] | None = None) -> str:
        """The heartbeat's value; ``details`` (version, concurrency, in flight...) are for people
        (the dashboard's Workers page): liveness reads only the identity."""
        return json.dumps({**(details or {}), "at": time.time(), **asdict(self)})

    @classmethod
    def from_json(cls, value: bytes) -> ProcessIdentity | None:
        try:
            data = json.loads(value)
            return cls(
                str(data["host"]),
                int(data["pid"]),
                str(data["boot"]),
                str(data["pid_ns"]),
                str(data["started"]),
            )
        except (ValueError, KeyError, TypeError):
            return None  # a heartbeat written by an older version: only its expiry counts


def process_start(pid: int, proc: Path = Path("/proc")) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot, None if there is none."""
    stat = _read(proc / str(pid) / "stat")
    # The command name in parentheses may hold spaces and parentheses; fields follow the last ")".
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def is_gone(heartbeat: bytes | None, me: ProcessIdentity, proc: Path = Path("/proc")) -> bool:
    """Dead by its heartbeat: expired, or a process on this machine that is no longer running."""
    if heartbeat is None:
        return True
    other = ProcessIdentity.from_json(heartbeat)
    if other is None or not me.can_check(other):
        return False
    return process_start(other.pid, proc) != other.started


class Liveness:
    """This worker's heartbeat, and the recovery of dead workers' tasks.

    Its own thread calls Redis directly (``RedisQueue``), not through ``WorkerRedis``, because a
    heartbeat needs the opposite error policy: a beat that fails is dropped and logged, and the next
    one comes a third of the TTL later. ``RedisGuard`` would retry the old beat with a backoff of up
    to 10 s, delaying every later beat behind it, and once stopping it gives reads up at once while
    this worker still holds tasks and must keep beating until ``close``. The fetch thread's own
    calls (the first beat, recoveries at start and in a drain) do go through the guard.
    """

    def __init__(
        self,
        queue: RedisQueue,
        worker_id: str,
        ttl_s: int,
        log: Any,
        *,
        describe: Callable[[], Mapping[str, object]] | None = None,
    ) -> None:
        self.queue = queue
        self._describe = describe
        self.worker_id = worker_id
        self.ttl_s = ttl_s
        self.log = log
        self.identity = ProcessIdentity.current()
        self._closed = threading.Event()
        self._beat_at = time.monotonic()
        self._lapsed_at = float("-inf")

    def beat(self) -> None:
        details = self._describe() if self._describe is not None else None
        self.queue.heartbeat(self.worker_id, self.ttl_s, self.identity.to_json(details))
        now = time.monotonic()
        if self._lapsed(now):
            self._lapsed_at = now
        self._beat_at = now

    def lapsed_since(self, moment: float) -> bool:
        """Whether the heartbeat may have expired at some point after ``moment`` (monotonic): it
        went unrenewed for half its TTL (Redis away, or this process frozen). Another worker may
        then have taken over this one's tasks, so what was reserved before must be checked again."""
        return self._lapsed(time.monotonic()) or self._lapsed_at >= moment

    def _lapsed(self, now: float) -> bool:
        return now - self._beat_at > self.ttl_s / 2

    def dead_workers(self) -> list[str]:
        others = sorted(self.queue.known_workers() - {self.worker_id})
        beats = self.queue.heartbeats(others)
        return [worker for worker in others if is_gone(beats[worker], self.identity)]

    def recover_dead(self) -> int:
        """Put dead workers' unfinished tasks back at the front of the queue; how many were moved."""
        total = 0
        for dead in self.dead_workers():
            moved = self.queue.requeue_worker(dead, crashed=True)
            self.log.warning("worker.recovered", dead_worker=dead, tasks=moved)
            total += moved
        return total

    def start(self, stopping: Stopping) -> None:
        """Beat every third of the TTL until ``close``; until a stop is requested, recover every TTL."""
        thread = threading.Thread(target=self._loop, args=(stopping,), name="smsworker-heartbeat")
        thread.daemon = True
        thread.start()

    def close(self) -> None:
        """No more beats: the worker has put back or settled all it held."""
        self._closed.set()

    def _loop(self, stopping: Stopping) -> None:
        next_recovery = time.monotonic() + self.ttl_s
        # A beat at a third of the TTL survives two missed beats (a slow Redis, a GC pause).
        while not self._closed.wait(self.ttl_s / 3):
            try:
                self.beat()
                if time.monotonic() >= next_recovery and not stopping.requested:
                    next_recovery = time.monotonic() + self.ttl_s
                    self.recover_dead()
            except RedisError as exc:
                self.log.warning("heartbeat.failed", error=str(exc))
            except Exception:  # a bug here must not silence the heartbeat for good
                self.log.exception("heartbeat.crashed")


class Ownership:
    """The one answer to "is this task still ours?", for the fetch thread and the senders alike.

    While this worker's heartbeat has held since the element was claimed, nobody can have taken it
    over: yes, without asking Redis. After a lapse (Redis away, or this process frozen past half the
    TTL) another worker may have recovered it, sent it, settled it and deleted its progress: only our
    processing list still says whose it is, so it is asked.
    """

    def __init__(
        self, lapsed_since: Callable[[float], bool], holds: Callable[[bytes], bool], log: Any
    ) -> None:
        self._lapsed_since = lapsed_since  # see Liveness.lapsed_since
        self._holds = holds  # whether our processing list has the element
        self._log = log

    def still_ours(self, claimed: Claimed) -> bool:
        if not self._lapsed_since(claimed.started) or self._holds(claimed.element):
            return True
        task_id = claimed.task.task_id if isinstance(claimed, TaskInFlight) else None
        note = "another worker took it over while this one's heartbeat had lapsed"
        self._log.warning("task.taken_over", task_id=task_id, note=note)
        return False
