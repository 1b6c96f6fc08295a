"""Reports from any source, pushed or pulled, applied the same way: stored, logged, counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from smsworker.receipt_store import ReceiptStore, Report
from smsworker.redact import mask_numbers

if TYPE_CHECKING:
    from smsworker.receiver.metrics import ReceiptMetrics


class Recorder:
    def __init__(self, store: ReceiptStore, log: Any, metrics: ReceiptMetrics | None = None) -> None:
        self._store = store
        self._log = log
        self._metrics = metrics

    def record(self, source: str, reports: Sequence[Report]) -> Counter[str]:
        """Apply each report; how many did what (delivered, undelivered, duplicate, unmatched)."""
        outcomes: Counter[str] = Counter()
        for report in reports:
            applied = self._store.apply(report)
            outcomes[applied.outcome] += 1
            if self._metrics is not None:
                self._metrics.applied(applied)
            if applied.outcome != "duplicate":
                number = mask_numbers(applied.report.number)
                self._log.info(f"receipt.{applied.outcome}", source=source, message_id=report.message_id,
                               mobile=number, code=report.code or None)  # fmt: skip
        return outcomes
