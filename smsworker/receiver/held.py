"""Reports that came before their receipt record: applied once the settle writes it.

A vendor may report on a number before its task has settled (its other requests, or their retries,
are still under way), so before the record naming the task exists. ``ReceiptStore`` then holds the
report in ``Q:held``; the settle that writes the record queues it on ``Q:held:due`` (``scripts.SETTLE``).
This applies what is due, at once, and counts as ``unmatched`` what is still without a record after
``hold_s``: expired before it came, from another system sharing the vendor account, or forged.

One receiver at a time does it (``Q:held:lock``), so a report is applied by one process. A report is
forgotten only after it was applied: a receiver that dies in between leaves it to the next round,
where applying it again changes nothing (a duplicate).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from smsworker.receiver.recorder import Recorder
from smsworker.store.errors import RedisError
from smsworker.store.held import HeldStore
from smsworker.store.receipts import from_held_line

BATCH = 100  # due or expired receipt keys per round
LOCK_TTL_S = 10


class HeldReports:
    def __init__(
        self,
        recorder: Recorder,
        store: HeldStore,
        log: Any,
        *,
        hold_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._recorder = recorder
        self._store = store
        self._log = log
        self._hold_s = hold_s
        self._clock = clock
        self._owner = secrets.token_hex(8)

    def run(self, stop: threading.Event, every_s: float = 0.5) -> None:
        """A round every ``every_s`` until ``stop``; Redis away costs a round, not the thread."""
        while not stop.wait(every_s):
            try:
                self.round()
            except RedisError as exc:
                self._log.warning("receipts.held_failed", error=str(exc))

    def round(self) -> Counter[str]:
        """Apply what is due, then count what expired; nothing if another receiver holds the lock."""
        outcomes: Counter[str] = Counter()
        if not self._store.lock(self._owner, LOCK_TTL_S):
            return outcomes
        for entry in self._store.due(BATCH):
            outcomes += self._apply(entry, due=True)
        for entry in self._store.expired(self._clock() - self._hold_s, BATCH):
            outcomes += self._apply(entry, due=False)
        return outcomes

    def _apply(self, entry: str, *, due: bool) -> Counter[str]:
        """Apply the reports held for the receipt key ``entry``: due (its record was written), or
        expired (a last look for the record, else unmatched). Then forget them."""
        outcomes: Counter[str] = Counter()
        key, raw = self._store.reports(entry)
        others: set[str] = set()
        for line in filter(None, (raw or b"").decode("utf-8", "replace").split("\n")):
            held = from_held_line(line)
            if held is None:  # not written by smsworker: nothing to apply
                outcomes["malformed"] += 1
                continue
            report, source = held
            outcomes += self._recorder.record(source or "held", [report], hold=due)
            readings = (report.number, *report.also)
            others |= {self._store.keys.receipt(report.provider, report.message_id, n) for n in readings}
        # Held again (its record is gone again: it expired meanwhile): kept, until it expires here.
        lines = raw if raw is not None and not outcomes["held"] else b""
        self._store.forget(entry if due else "", key, lines, sorted(others - {key}))
        if raw is None and not due:  # an entry of the index without reports
            self._store.drop_index(key)
        return outcomes
