"""The retry policy, without sleeping: the sleep is a recorder."""

from __future__ import annotations

from typing import Any

import pytest
from tenacity import RetryCallState, Retrying

from smsworker.delivery import RetryPolicy, deliver
from smsworker.errors import PermanentProviderError, ShutdownRequested, TakenOver, TransientProviderError
from smsworker.providers.base import OutgoingMessage
from smsworker.testing import FakeProvider
from tests.support.logs import LogCapture

A, B, C = "+8613800138000", "+8613800138001", "+8613800138002"


def message(*mobiles: str) -> OutgoingMessage:
    return OutgoingMessage(template_id=1, content="hi", mobiles=mobiles)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def run(
    provider: FakeProvider, msg: OutgoingMessage, logs: LogCapture, sleep: Any = None, **policy: Any
) -> Any:
    policy.setdefault("max_attempts", 4)
    sleep = Sleeps() if sleep is None else sleep
    return deliver([provider], msg, RetryPolicy(**policy), sleep=sleep, log=logs.logger)


def test_sent_first_time(logs: LogCapture) -> None:
    provider = FakeProvider()
    outcome = run(provider, message(A), logs)
    assert outcome.sent == [A] and not outcome.failed and outcome.attempts == 1


def test_transient_errors_are_retried_with_capped_full_jitter(logs: LogCapture) -> None:
    provider = FakeProvider()
    provider.fail_requests(*[TransientProviderError("503") for _ in range(3)])
    sleeps = Sleeps()
    outcome = run(provider, message(A), logs, sleeps, backoff_base_s=1.0, backoff_max_s=3.0)
    assert outcome.sent == [A] and outcome.attempts == 4
    assert len(sleeps) == 3
    for n, slept in enumerate(sleeps):
        assert 0 <= slept <= min(3.0, 1.0 * 2**n)
    assert [e["attempt"] for e in logs.events("provider.retry_scheduled")] == [1, 2, 3]


def test_jitter_is_full_and_exponential() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_base_s=1.0, backoff_max_s=100.0)
    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = 4
    waits = [policy.wait_s(state) for _ in range(300)]
    assert max(waits) <= 8.0
    assert min(waits) < 2.0 and max(waits) > 6.0  # spread over [0, 8], not a fixed delay


def test_retries_exhausted(logs: LogCapture) -> None:
    provider = FakeProvider(max_batch_size=2)
    provider.fail_requests(*[TransientProviderError("HTTP 503: busy", code="503") for _ in range(5)])
    outcome = run(provider, message(A, B), logs, max_attempts=3)
    assert outcome.sent == []
    assert {m: (f.reason, f.attempts, f.provider_code) for m, f in outcome.failed.items()} == {
        A: ("retries_exhausted", 3, "503"),
        B: ("retries_exhausted", 3, "503"),
    }
    assert len(provider.requests) == 3


def test_permanent_error_is_not_retried(logs: LogCapture) -> None:
    provider = FakeProvider()
    provider.fail_requests(PermanentProviderError("HTTP 400: bad", code="400"))
    sleeps = Sleeps()
    outcome = run(provider, message(A), logs, sleeps)
    assert outcome.failed[A].reason == "provider_rejected"
    assert outcome.failed[A].error == "HTTP 400: bad"
    assert sleeps == [] and len(provider.requests) == 1


def test_retry_after_is_honoured_and_capped(logs: LogCapture) -> None:
    provider = FakeProvider()
    provider.fail_requests(
        TransientProviderError("429", retry_after_s=7), TransientProviderError("429", retry_after_s=500)
    )
    sleeps = Sleeps()
    run(provider, message(A), logs, sleeps, backoff_base_s=0.01, backoff_max_s=60)
    assert sleeps == [7, 60]


def test_per_number_results_retry_only_what_is_transient(logs: LogCapture) -> None:
    provider = FakeProvider(max_batch_size=3)
    provider.fail(B, TransientProviderError("busy"))
    provider.fail(C, PermanentProviderError("blacklisted", code="FailedOperation.PhoneNumberInBlacklist"))
    outcome = run(provider, message(A, B, C), logs)
    assert sorted(outcome.sent) == [A, B]
    assert outcome.failed[C].provider_code == "FailedOperation.PhoneNumberInBlacklist"
    assert [r.mobiles for r in provider.requests] == [(A, B, C), (B,)]


def test_a_provider_bug_is_retried_then_dead_lettered(logs: LogCapture) -> None:
    provider = FakeProvider()
    provider.fail_requests(*[KeyError("oops") for _ in range(2)])
    outcome = run(provider, message(A), logs, max_attempts=2)
    assert outcome.failed[A].reason == "retries_exhausted"
    assert "KeyError" in outcome.failed[A].error
    assert logs.events("provider.unexpected_error")


def test_shutdown_during_backoff_leaves_recipients_unsettled(logs: LogCapture) -> None:
    provider = FakeProvider()
    provider.fail_requests(TransientProviderError("503"))

    def stopping(_: float) -> None:
        raise ShutdownRequested()

    outcome = run(provider, message(A), logs, stopping)
    assert outcome.unsettled == [A] and not outcome.failed and not outcome.sent


@pytest.mark.parametrize("attempts", [1, 2])
def test_max_attempts_counts_all_attempts(logs: LogCapture, attempts: int) -> None:
    provider = FakeProvider()
    provider.fail_requests(*[TransientProviderError("x") for _ in range(5)])
    run(provider, message(A), logs, max_attempts=attempts)
    assert len(provider.requests) == attempts


def test_failover_moves_provider_faults_on_in_the_next_batch_size(logs: LogCapture) -> None:
    first, second = FakeProvider(max_batch_size=3), FakeProvider(max_batch_size=2)
    first.name, second.name = "first", "second"
    first.fail_requests(PermanentProviderError("isv.AMOUNT_NOT_ENOUGH", code="isv.AMOUNT_NOT_ENOUGH"))
    outcome = deliver(
        [first, second], message(A, B, C), RetryPolicy(max_attempts=2), sleep=Sleeps(), log=logs.logger
    )
    assert sorted(outcome.sent) == [A, B, C] and not outcome.failed
    assert {m: a.provider for m, a in outcome.accepted.items()} == dict.fromkeys((A, B, C), "second")
    assert [r.mobiles for r in second.requests] == [(A, B), (C,)]
    assert logs.events("provider.failover")[0]["next_provider"] == "second"


def test_failover_keeps_recipient_faults_and_takes_the_last_answer(logs: LogCapture) -> None:
    first, second = FakeProvider(), FakeProvider()
    first.fail(
        A,
        PermanentProviderError(
            "blacklisted", code="FailedOperation.PhoneNumberInBlacklist", recipient_fault=True
        ),
    )
    first.fail(B, *[TransientProviderError("503")] * 2)
    second.fail(B, PermanentProviderError("template", code="x"))
    sleeps = Sleeps()
    outcome_a = deliver(
        [first, second], message(A), RetryPolicy(max_attempts=2), sleep=sleeps, log=logs.logger
    )
    outcome_b = deliver(
        [first, second], message(B), RetryPolicy(max_attempts=2), sleep=sleeps, log=logs.logger
    )
    assert outcome_a.failed[A].reason == "provider_rejected" and second.requests[0].mobiles == (B,)
    assert outcome_b.failed[B].provider_code == "x"  # the last provider's word is final


def test_taken_over_during_backoff_ends_the_unit_and_sends_nothing_more(logs: LogCapture) -> None:
    """Found in another worker's hands before a retry: no later batch, no failover, and the unit says
    so, so that its task is not recorded by this worker (its recipients are the other's now)."""
    first, second = FakeProvider(max_batch_size=1), FakeProvider()
    first.fail_requests(TransientProviderError("503"))

    def sleep(seconds: float) -> None:
        raise TakenOver()

    outcome = deliver(
        [first, second], message(A, B), RetryPolicy(max_attempts=3), sleep=sleep, log=logs.logger
    )
    assert outcome.taken_over and not outcome.sent and not outcome.failed and not outcome.skipped
    assert first.sent_to() == [A] and second.sent_to() == []
