"""``--processes N``: N worker processes under one parent, to use more than one core.

One Python process is bound by its GIL (the HTTP client alone costs ~0.7 ms of CPU per request),
so past a few hundred sends a second the way up is more processes. Each child is an ordinary
worker with its own id, heartbeat and processing list; the parent only forks them, forwards
SIGTERM/SIGINT (a second signal reaches them too), restarts one that dies while running, and
adds up what they report.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from smsworker.worker.tally import Totals

RESTART_BACKOFF_MAX_S = 30.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# A child that ran this long before dying was not crash-looping: restart it promptly.
HEALTHY_RUN_S = 60.0


def supervise(
    count: int,
    child: Callable[[], Totals],
    log: Any,
    *,
    restart: bool,
    spawned: Callable[[], None] | None = None,
    exited: Callable[[int], None] | None = None,
) -> tuple[int, Totals]:
    """Run ``child`` in ``count`` forked processes; (exit code, the children's totals added up).

    Fork before anything opens a connection or starts a thread: each child builds its own. What the
    parent itself serves starts in ``spawned``, once the first children are forked; ``exited(pid)``
    hears of each child that ended.
    """
    return _Supervisor(child, log, restart=restart, exited=exited).run(count, spawned)


class _Supervisor:
    """The parent's state while its children run; only the parent's main thread touches it."""

    def __init__(
        self, child: Callable[[], Totals], log: Any, *, restart: bool, exited: Callable[[int], None] | None
    ) -> None:
        self._child = child
        self._log = log
        self._restart = restart
        self._exited = exited
        self._stopping = threading.Event()
        self._children: dict[int, tuple[int, int]] = {}  # pid -> (slot, read end of its report pipe)
        self._started_at: dict[int, float] = {}
        self._totals = Totals(drained=True)  # until a child reports it was not
        self._failed = False
        self._backoff_s = 1.0

    def run(self, count: int, spawned: Callable[[], None] | None) -> tuple[int, Totals]:
        signal.signal(signal.SIGTERM, self._forward)
        signal.signal(signal.SIGINT, self._forward)
        for slot in range(count):
            self._start(slot)
        self._log.info("supervisor.started", processes=count, pids=sorted(self._children))
        if spawned is not None:
            spawned()
        while self._children:
            self._reap(*os.wait())
        totals = self._totals
        self._log.info("supervisor.stopped", tasks=totals.tasks, sent=totals.sent, dead=totals.dead)
        return (1 if self._failed else 0), totals

    def _forward(self, signum: int, _frame: Any) -> None:
        self._stopping.set()
        for pid in self._children:
            _kill(pid, signum)

    def _start(self, slot: int) -> None:
        self._started_at[_spawn(slot, self._child, self._children)] = time.monotonic()

    def _reap(self, pid: int, status: int) -> None:
        """One child ended: add up its report, then restart it (after a backoff) or count its code."""
        slot, reader = self._children.pop(pid)
        _add(self._totals, _read_report(reader))
        if self._exited is not None:
            self._exited(pid)
        code = os.waitstatus_to_exitcode(status)
        if not self._restart or self._stopping.is_set():
            self._failed = self._failed or code != 0
            return
        if time.monotonic() - self._started_at.pop(pid, 0.0) > HEALTHY_RUN_S:
            self._backoff_s = 1.0
        self._log.error("supervisor.child_died", pid=pid, exit_code=code, restart_in_s=self._backoff_s)
        if self._stopping.wait(self._backoff_s):
            return
        self._backoff_s = min(self._backoff_s * 2, RESTART_BACKOFF_MAX_S)
        self._start(slot)


def _spawn(slot: int, child: Callable[[], Totals], children: dict[int, tuple[int, int]]) -> int:
    reader, writer = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never return into the parent's code
        code = 1
        try:
            _stop_with(parent)
            os.close(reader)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            totals = child()
            os.write(writer, json.dumps(asdict(totals)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    children[pid] = (slot, reader)
    return pid


def _stop_with(parent: int) -> None:
    """Ask Linux to send this child SIGTERM when its parent dies (SIGKILLed, say): an orphaned
    worker stops cleanly and its tasks are recovered, instead of running on unsupervised. Elsewhere
    (no prctl) a child outlives its parent, as before."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request was in place
        os.kill(os.getpid(), signal.SIGTERM)


def _read_report(reader: int) -> dict[str, Any]:
    chunks = []
    while chunk := os.read(reader, 65536):
        chunks.append(chunk)
    os.close(reader)
    try:
        report = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def _add(totals: Totals, report: dict[str, Any]) -> None:
    for name in ("tasks", "sent", "dead", "requeued"):
        setattr(totals, name, getattr(totals, name) + int(report.get(name, 0)))
    totals.drained = totals.drained and bool(report.get("drained"))
    totals.gave_up = totals.gave_up or str(report.get("gave_up") or "")


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just exited; os.wait will say so
        os.kill(pid, signum)
