"""One provider request's worth of recipients: send, retry what is transient, classify the rest.

The retry policy: exponential backoff with full jitter (``backoff_base`` doubling per attempt,
capped at ``backoff_max``), at most ``max_attempts`` attempts in all; a provider's ``retry_after_s``
is waited instead, capped at ``backoff_max``. The sleep is passed in so that a shutdown can cut a
backoff short (it raises ``ShutdownRequested``) and tests never sleep.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from smsworker.config.schema import default_of
from smsworker.errors import (
    PermanentProviderError,
    ProviderError,
    ShutdownRequested,
    TakenOver,
    TransientProviderError,
    UnsendableMessage,
)
from smsworker.outcome import Acceptance, Failure, UnitOutcome
from smsworker.providers.base import OutgoingMessage, Provider, SendResult, batches
from smsworker.worker.events import WorkerEvents


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = default_of("max_attempts")
    backoff_base_s: float = default_of("backoff_base")
    backoff_max_s: float = default_of("backoff_max")

    def wait_s(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientProviderError) and error.retry_after_s is not None:
            return min(error.retry_after_s, self.backoff_max_s)
        jittered = wait_random_exponential(multiplier=self.backoff_base_s, max=self.backoff_max_s)
        return float(jittered(state))


def _no_pace(provider: str) -> None:
    return None


_SILENT = WorkerEvents()


def deliver(
    providers: Sequence[Provider],
    message: OutgoingMessage,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    log: Any,
    events: WorkerEvents = _SILENT,
    pace: Callable[[str], None] = _no_pace,
) -> UnitOutcome:
    """Send ``message`` under ``policy``; every recipient ends sent, failed or (at shutdown) unsettled.

    ``providers`` is a failover chain: recipients a provider could not take for a reason that is not
    their own (retries exhausted, account, signature or template errors) go to the next one, in
    batches of its own size. The last provider's answer is final. ``pace(provider)`` runs before
    each request (the shared rate limit); it may raise ``ShutdownRequested`` to stop waiting.
    """
    failover = _Failover(policy, sleep, log, events, pace)
    remaining = list(message.mobiles)
    for index, provider in enumerate(providers):
        next_round = failover.through(provider, message, remaining, last=index == len(providers) - 1)
        if failover.outcome.taken_over:
            break
        if next_round:
            log.warning(
                "provider.failover",
                provider=provider.name,
                next_provider=providers[index + 1].name,
                recipients=len(next_round),
            )
        remaining = next_round
    return failover.outcome


@dataclass
class _Failover:
    """One message's outcome, gathered provider after provider."""

    policy: RetryPolicy
    sleep: Callable[[float], None]
    log: Any
    events: WorkerEvents
    pace: Callable[[str], None]
    outcome: UnitOutcome = field(default_factory=UnitOutcome)

    def through(
        self, provider: Provider, message: OutgoingMessage, mobiles: list[str], *, last: bool
    ) -> list[str]:
        """Send ``mobiles`` through ``provider`` in batches of its size; the recipients it could not
        take for a reason that is not their own, for the next provider (none after the ``last``)."""
        outcome = self.outcome
        next_round: list[str] = []
        for chunk in batches(mobiles, provider.max_batch_size):
            if outcome.unsettled:  # stopping: leave the rest for after the restart
                outcome.unsettled.extend(chunk)
                continue
            if outcome.taken_over:  # another worker has the task now: the rest is theirs
                break
            unit = dataclasses.replace(message, mobiles=tuple(chunk))
            part = _Delivery(provider, unit, self.log, self.events, self.pace).run(self.policy, self.sleep)
            outcome.sent.extend(part.sent)
            outcome.accepted.update(part.accepted)
            outcome.unsettled.extend(part.unsettled)
            outcome.attempts += part.attempts
            outcome.taken_over = outcome.taken_over or part.taken_over
            for mobile, failure in part.failed.items():
                if last or failure.recipient_fault:
                    outcome.failed[mobile] = failure
                else:
                    next_round.append(mobile)
        return next_round


class _Delivery:
    def __init__(
        self,
        provider: Provider,
        message: OutgoingMessage,
        log: Any,
        events: WorkerEvents,
        pace: Callable[[str], None],
    ) -> None:
        self.provider = provider
        self.events = events
        self.pace = pace
        self.message = message
        self.log = log
        self.outcome = UnitOutcome()
        self.remaining = list(message.mobiles)

    def run(self, policy: RetryPolicy, sleep: Callable[[float], None]) -> UnitOutcome:
        retrying = Retrying(
            stop=stop_after_attempt(policy.max_attempts),
            wait=policy.wait_s,
            retry=retry_if_exception_type(TransientProviderError),
            sleep=sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            retrying(self._attempt)
        except TransientProviderError as exc:
            self._fail(self.remaining, "retries_exhausted", exc)
        except ShutdownRequested:
            self.outcome.unsettled.extend(self.remaining)
        except TakenOver:
            self.outcome.taken_over = True
        return self.outcome

    def _attempt(self) -> None:
        """One request for the recipients not settled yet; raises Transient to ask for a retry."""
        self.outcome.attempts += 1
        try:
            result = self._send()
        except PermanentProviderError as exc:
            self._fail(self.remaining, "provider_rejected", exc)
            self.remaining.clear()
            return
        if result.message_ids:  # the first few: enough to find the request in the vendor's console
            self.log.debug(
                "provider.accepted",
                provider=self.provider.name,
                message_ids=sorted(set(result.message_ids.values()))[:10],
                recipients=len(self.remaining) - len(result.failed),
            )
        retry_later: list[str] = []
        first_transient: TransientProviderError | None = None
        for mobile in self.remaining:
            error = result.failed.get(mobile)
            if error is None:
                self.outcome.sent.append(mobile)
                self.outcome.accepted[mobile] = Acceptance(
                    self.provider.name, result.message_ids.get(mobile, "")
                )
            elif isinstance(error, TransientProviderError):
                retry_later.append(mobile)
                first_transient = first_transient or error
            else:
                self._fail([mobile], "provider_rejected", error)
        self.remaining = retry_later
        if first_transient is not None:
            raise first_transient

    def _send(self) -> SendResult:
        self.pace(self.provider.name)
        started = time.perf_counter()
        try:
            return self.provider.send(dataclasses.replace(self.message, mobiles=tuple(self.remaining)))
        except ProviderError:
            raise
        except Exception as exc:  # a provider bug must not kill the worker: retry, then dead-letter
            self.log.exception("provider.unexpected_error", provider=self.provider.name)
            raise TransientProviderError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.events.request_done(self.provider.name, time.perf_counter() - started, len(self.remaining))

    def _before_sleep(self, state: RetryCallState) -> None:
        self.events.retried(self.provider.name)
        error = state.outcome.exception() if state.outcome else None
        self.log.info(
            "provider.retry_scheduled",
            provider=self.provider.name,
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 3),
            recipients=len(self.remaining),
            error=str(error),
        )

    def _fail(self, mobiles: list[str], reason: str, exc: ProviderError) -> None:
        recipient_fault = isinstance(exc, PermanentProviderError) and exc.recipient_fault
        if isinstance(exc, UnsendableMessage):
            reason, recipient_fault = "unsendable", True  # no provider of a chain could send it
        for mobile in mobiles:
            self.outcome.failed[mobile] = Failure(
                reason=reason,
                error=str(exc),
                attempts=self.outcome.attempts,
                provider_code=exc.code,
                recipient_fault=recipient_fault,
            )
