"""What an attempt's answer means: delivered, deactivated, retried with backoff, or dead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain import AttemptResult, RetryPolicy, decide, retry_after

NOW = datetime(2026, 11, 20, 20, 30, tzinfo=UTC)
POLICY = RetryPolicy(factor_s=0.5, base=3.0, cap_s=20.0, max_attempts=6, retry_after_cap_s=60)


def answered(code: int | None, retry: str | None = None) -> AttemptResult:
    return AttemptResult(
        code, 12, error=None if code else "no answer within 10 s", retry_after=retry
    )


def test_backoff_is_factor_times_base_to_the_attempt_capped() -> None:
    waits = [POLICY.delay(n).total_seconds() for n in range(1, 7)]
    assert waits == [0.5, 1.5, 4.5, 13.5, 20.0, 20.0]


def test_backoff_survives_absurd_attempt_counts() -> None:
    assert POLICY.delay(10_000) == timedelta(seconds=20)


@pytest.mark.parametrize("code", [200, 201, 202, 204, 299])
def test_any_2xx_is_delivered(code: int) -> None:
    assert decide(answered(code), 1, POLICY, NOW).verdict == "delivered"


def test_410_ends_the_subscription_at_once() -> None:
    assert decide(answered(410), 1, POLICY, NOW).verdict == "gone"


@pytest.mark.parametrize("code", [None, 400, 401, 404, 500, 503, 301])
def test_anything_else_retries_with_backoff_then_dies(code: int | None) -> None:
    second = decide(answered(code), 2, POLICY, NOW)
    assert second.verdict == "retry"
    assert second.next_attempt_at == NOW + timedelta(seconds=1.5)
    assert second.reason
    last = decide(answered(code), POLICY.max_attempts, POLICY, NOW)
    assert last.verdict == "dead"
    assert "after 6 attempts" in (last.reason or "")


def test_429_waits_as_long_as_retry_after_says() -> None:
    assert decide(answered(429, "7"), 1, POLICY, NOW).next_attempt_at == NOW + timedelta(seconds=7)
    when = "Fri, 20 Nov 2026 20:30:30 GMT"
    at = decide(answered(429, when), 1, POLICY, NOW).next_attempt_at
    assert at == NOW + timedelta(seconds=30)


def test_429_without_a_usable_retry_after_backs_off_and_a_huge_one_is_capped() -> None:
    assert decide(answered(429, "soon"), 1, POLICY, NOW).next_attempt_at == NOW + timedelta(
        seconds=0.5
    )
    assert decide(answered(429, "86400"), 1, POLICY, NOW).next_attempt_at == NOW + timedelta(
        seconds=60
    )


def test_retry_after_in_the_past_means_now() -> None:
    assert retry_after("Fri, 20 Nov 2026 20:00:00 GMT", NOW) == timedelta(0)
    assert retry_after(None, NOW) is None
    assert retry_after("", NOW) is None


@pytest.mark.parametrize("asked", ["0", "Fri, 20 Nov 2026 20:00:00 GMT", "1"])
def test_a_retry_after_shorter_than_the_backoff_waits_the_backoff(asked: str) -> None:
    for attempt in (2, 3, 5):  # backoffs of 1.5 s and more
        decision = decide(answered(429, asked), attempt, POLICY, NOW)
        assert decision.next_attempt_at == NOW + POLICY.delay(attempt)
