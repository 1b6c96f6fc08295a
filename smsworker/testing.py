"""Test helpers that ship with the package: a scriptable in-memory provider.

``FakeProvider`` records every request and can be told, per number, which errors to produce on
successive attempts, so retry and dead-letter paths can be tested without a network or a clock.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable

from smsworker.errors import PermanentProviderError, ProviderError
from smsworker.providers.base import OutgoingMessage, SendResult
from smsworker.providers.segments import count_segments


class FakeProvider:
    name = "fake"

    def __init__(self, *, max_batch_size: int = 1) -> None:
        self.max_batch_size = max_batch_size
        self.requests: list[OutgoingMessage] = []
        self.closed = False
        self._lock = threading.Lock()
        self._script: dict[str, list[ProviderError | None]] = defaultdict(list)
        self._request_errors: list[Exception] = []
        self.in_flight = 0
        self.max_in_flight = 0
        # Tests that need sends to overlap or to be caught mid-flight hold this closed.
        self.gate = threading.Event()
        self.gate.set()

    def fail(self, mobile: str, *errors: ProviderError | None) -> None:
        """Per-number results for the next requests that include ``mobile`` (None = sent)."""
        self._script[mobile].extend(errors)

    def fail_requests(self, *errors: Exception) -> None:
        """Whole-request failures for the next requests, in order."""
        self._request_errors.extend(errors)

    def reject(self, mobiles: Iterable[str], code: str = "rejected") -> None:
        for mobile in mobiles:
            self.fail(mobile, *[PermanentProviderError(f"{mobile} refused", code=code)])

    def send(self, message: OutgoingMessage) -> SendResult:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self.gate.wait()
            with self._lock:
                self.requests.append(message)
                if self._request_errors:
                    raise self._request_errors.pop(0)
                failed = {}
                for mobile in message.mobiles:
                    script = self._script.get(mobile)
                    error = script.pop(0) if script else None
                    if error is not None:
                        failed[mobile] = error
                # A message id per request, like a vendor's: "fake-<request number>".
                ids = dict.fromkeys(set(message.mobiles) - set(failed), f"fake-{len(self.requests)}")
                return SendResult(failed=failed, message_ids=ids)
        finally:
            with self._lock:
                self.in_flight -= 1

    def sent_to(self) -> list[str]:
        """Every number a request carried, in order (a number refused still counts as carried)."""
        with self._lock:
            return [m for request in self.requests for m in request.mobiles]

    def segments(self, content: str) -> int:
        return count_segments(content)

    def close(self) -> None:
        self.closed = True
