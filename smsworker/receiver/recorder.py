"""Reports from any source, pushed, pulled or held, applied the same way: stored, logged, counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from smsworker.redact import mask_numbers
from smsworker.store.receipts import Applied, ReceiptStore, Report

if TYPE_CHECKING:
    from smsworker.receiver.metrics import ReceiptMetrics


class Recorder:
    def __init__(self, store: ReceiptStore, log: Any, metrics: ReceiptMetrics | None = None) -> None:
        self._store = store
        self._log = log
        self._metrics = metrics

    def record(self, source: str, reports: Sequence[Report], *, hold: bool = True) -> Counter[str]:
        """Apply each report; how many did what (delivered, undelivered, duplicate, held,
        unmatched). ``hold`` False: a report whose record is still missing is unmatched now."""
        outcomes: Counter[str] = Counter()
        for report in reports:
            applied = self._store.apply(report, hold=hold, source=source)
            outcomes[applied.outcome] += 1
            self._note(source, applied)
        return outcomes

    def malformed(self, source: str, problems: Sequence[str]) -> None:
        """Elements of a pushed batch that were not reports (the others were applied)."""
        if self._metrics is not None:
            self._metrics.reports.labels(source, "malformed").inc(len(problems))
        self._log.warning("receipts.bad_report", source=source, count=len(problems), error=problems[0])

    def _note(self, source: str, applied: Applied) -> None:
        """Log and count what one report did."""
        if self._metrics is not None:
            self._metrics.applied(applied)
        if applied.outcome == "duplicate":
            return
        report = applied.report
        self._log.info(
            f"receipt.{applied.outcome}",
            source=source,
            message_id=report.message_id,
            mobile=mask_numbers(report.number),
            code=report.code or None,
        )
