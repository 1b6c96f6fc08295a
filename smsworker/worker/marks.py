"""Progress marks, committed in groups: what each request sent, written before its unit ends.

A unit of a task with a progress key marks its sent recipients (and releases the rest) before it
ends, so a worker that dies after that does not send them again. One Redis call per request costs
a process more CPU than the request's own bookkeeping (a redis-py round trip is a good part of an
HTTP request's): so the sending threads hand their marks to one thread that writes all that are
waiting in one call (``lua.FINISH`` takes many), and each sender waits until its mark is written.
Waiting keeps the promise as it was: a request whose mark is not yet durable still holds its
sender, so what a crash can send twice is still at most what was in flight.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from smsworker.store.progress import Mark
from smsworker.worker.guarded import WorkerRedis


@dataclass
class _Batch:
    marks: list[Mark] = field(default_factory=list)
    written: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class ProgressMarks:
    def __init__(self, redis: WorkerRedis) -> None:
        self._redis = redis
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._open = _Batch()
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="smsworker-marks", daemon=True)
        self._thread.start()

    def write(self, mark: Mark) -> None:
        """Write ``mark`` with whatever else is waiting; return once it is in Redis. Raises what the
        write raised (``RedisGaveUp`` when the worker stops with Redis away)."""
        if not mark.sent and not mark.release:
            return
        with self._lock:
            if self._thread is None or self._closed:  # not started (tests drive it), or stopped
                batch = None
            else:
                batch = self._open
                batch.marks.append(mark)
                self._wake.notify()
        if batch is None:
            self._redis.finish([mark])
            return
        batch.written.wait()
        if batch.error is not None:
            raise batch.error

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._wake.wait_for(lambda: bool(self._open.marks) or self._closed)
                batch, self._open = self._open, _Batch()
                closing = self._closed
            if batch.marks:
                try:
                    self._redis.finish(batch.marks)
                except BaseException as exc:  # each waiting sender raises it, as if it wrote alone
                    batch.error = exc
                batch.written.set()
            if closing:
                return

    def close(self) -> None:
        """Write what is waiting, then end the thread."""
        with self._lock:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
