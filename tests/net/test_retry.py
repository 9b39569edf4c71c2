"""The shared retry loop: attempts, verdicts, Retry-After within the budget, and the hooks."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

import pytest

from syncd.net.retry import RetryPolicy, Verdict, retry_after, retrying

FAST = RetryPolicy(attempts=4, total_seconds=10, wait_initial=0.01, wait_max=0.02, wait_jitter=0)


class Flaky(Exception):
    """A failure worth another attempt."""


def failing(times: int, answer: str = "done") -> tuple[list[int], Callable[[int], str]]:
    """An attempt that fails ``times`` times, then answers; and the numbers it was called with."""
    calls: list[int] = []

    def attempt(number: int) -> str:
        calls.append(number)
        if len(calls) <= times:
            raise Flaky(f"failure {len(calls)}")
        return answer

    return calls, attempt


def test_transient_failures_are_retried_and_each_retry_is_told_why() -> None:
    """Attempts are numbered from 1; before each retry the hook hears the failure that caused it."""
    calls, attempt = failing(2)
    told: list[tuple[int, str]] = []
    result = retrying(
        attempt,
        policy=FAST,
        retry_on=lambda exc: isinstance(exc, Flaky),
        before_retry=lambda number, exc: told.append((number, str(exc))),
    )
    assert result == "done"
    assert calls == [1, 2, 3]
    assert told == [(2, "failure 1"), (3, "failure 2")]


def test_a_refused_failure_propagates_at_once() -> None:
    """A failure retry_on refuses is raised unchanged after one attempt."""
    calls, attempt = failing(5)
    with pytest.raises(Flaky, match="failure 1"):
        retrying(attempt, policy=FAST, retry_on=lambda exc: False)
    assert calls == [1]


def test_the_last_failure_propagates_once_the_attempts_are_spent() -> None:
    """With every attempt failing, the policy's last attempt's failure is raised."""
    calls, attempt = failing(10)
    with pytest.raises(Flaky, match="failure 4"):
        retrying(attempt, policy=FAST, retry_on=lambda exc: True)
    assert calls == [1, 2, 3, 4]


def test_a_requested_wait_is_honoured_within_the_budget() -> None:
    """A verdict in seconds waits that long before the next attempt."""
    calls, attempt = failing(1)

    def wait_a_little(exc: Exception) -> Verdict:
        return 0.3

    started = time.monotonic()
    assert retrying(attempt, policy=FAST, retry_on=wait_a_little) == "done"
    assert time.monotonic() - started >= 0.3
    assert calls == [1, 2]


def test_a_wait_past_the_budget_gives_up_at_once() -> None:
    """A requested wait longer than the time left ends the retries without sleeping."""
    calls, attempt = failing(5)
    started = time.monotonic()
    with pytest.raises(Flaky):
        retrying(attempt, policy=FAST, retry_on=lambda exc: 60.0)
    assert calls == [1]
    assert time.monotonic() - started < 5


def test_retry_after_reads_seconds_and_dates() -> None:
    """Retry-After is read as delta seconds or as an HTTP date; anything else is no wish."""
    assert retry_after({"retry-after": " 7 "}) == 7.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after({"retry-after": later}) or 0) <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after({"retry-after": past}) == 0.0
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None
