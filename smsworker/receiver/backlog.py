"""Reports a vendor will not send again, kept in memory until Redis takes them.

Tencent's PullSmsSendStatus hands each report out once, and Twilio does not call a status callback
again after an error (unless asked to). If Redis is away at that moment, such a report is not
dropped: it waits here, in order, and is written as soon as Redis answers (by the backlog's own
thread, and by each pull round before it pulls anything more). At most ``MAX_REPORTS`` wait: past
that the puller takes nothing more and Twilio is answered 503. Stopping, the receiver keeps trying
for a while; what Redis never took by then is named in the log (``receipts.unwritten``, message
ids only).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

from smsworker.receiver.recorder import Recorder
from smsworker.store.errors import RedisError
from smsworker.store.receipts import Report

MAX_REPORTS = 10_000


class Backlog:
    def __init__(self, recorder: Recorder, log: Any, *, max_reports: int = MAX_REPORTS) -> None:
        self._recorder = recorder
        self._log = log
        self._max = max_reports
        self._waiting: deque[tuple[str, Report]] = deque()
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one writer at a time keeps them in order

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting)

    def has_room(self, count: int) -> bool:
        with self._lock:
            return len(self._waiting) + count <= self._max

    def add(self, source: str, reports: Sequence[Report], *, taken: bool = False) -> bool:
        """Keep ``reports`` until Redis takes them; False (nothing kept) when there is no room,
        unless they are ``taken`` already (pulled: the caller asked ``has_room`` before)."""
        with self._lock:
            if not taken and len(self._waiting) + len(reports) > self._max:
                return False
            self._waiting.extend((source, report) for report in reports)
        return True

    def write(self) -> Counter[str]:
        """Write what waits, oldest first, each forgotten once written; raises what Redis raised
        (the rest waits)."""
        outcomes: Counter[str] = Counter()
        with self._writing:
            while True:
                with self._lock:
                    if not self._waiting:
                        return outcomes
                    source, report = self._waiting[0]
                outcomes += self._recorder.record(source, [report])
                with self._lock:
                    self._waiting.popleft()

    def run(self, stop: threading.Event, every_s: float = 1.0) -> None:
        """Write what waits every ``every_s`` until ``stop``."""
        while not stop.wait(every_s):
            if len(self):
                self._try()

    def flush(self, patience_s: float) -> None:
        """At exit: keep trying for ``patience_s``, then name in the log what Redis never took."""
        deadline = time.monotonic() + patience_s
        while len(self) and not self._try() and time.monotonic() < deadline:
            time.sleep(1.0)
        with self._lock:
            lost = list(self._waiting)
        if lost:
            self._log.error(
                "receipts.unwritten",
                count=len(lost),
                message_ids=[report.message_id for _, report in lost],
                note="taken from the vendor and never written: Redis stayed away",
            )

    def _try(self) -> bool:
        try:
            self.write()
        except RedisError as exc:
            self._log.warning("receipts.backlog_waiting", count=len(self), error=str(exc))
            return False
        return True
