"""Retrying a request: one policy and one loop, shared by the publisher and the connectors.

retry policy
    How long transient failures are retried (:class:`RetryPolicy`): a number of attempts *and*
    a total time, with exponential back-off and jitter between attempts (stamina).
retry verdict
    What a caller's ``retry_on`` says of one failure: False (give up: the failure propagates),
    True (retry after the policy's back-off) or a number of seconds to wait first (a server's
    ``Retry-After``). A wait that would overrun the policy's remaining time ends the retries at
    once rather than sleeping past the budget only to fail the same way, later.

Which failures are transient is the caller's business (Intercom retries a 409, a wiki does
not); so is turning the last failure into its own error. This module imports no HTTP library:
the publisher builds its policy before its first request, which is what imports httpx.
"""

from __future__ import annotations

import dataclasses
import email.utils
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

import stamina

T = TypeVar("T")

Verdict = bool | float
"""What ``retry_on`` answers: retry or not, or seconds to wait before the next attempt."""


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long transient failures are retried: attempts, total seconds and back-off shape."""

    attempts: int = 5
    total_seconds: float = 120.0
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 1.0


def retrying(
    attempt: Callable[[int], T],
    *,
    policy: RetryPolicy,
    retry_on: Callable[[Exception], Verdict],
    before_retry: Callable[[int, Exception], None] | None = None,
) -> T:
    """Call ``attempt(1)``, ``attempt(2)``... until one returns, and return its result.

    A failure ``retry_on`` refuses, or the last one the policy allows, propagates unchanged.
    ``before_retry(number, failure)`` runs before each attempt after the first, with the
    failure that made it necessary (to log it, count it).
    """
    started = time.monotonic()
    previous: list[Exception] = []

    def verdict(exc: Exception) -> Verdict:
        answer = retry_on(exc)
        if not isinstance(answer, bool):
            remaining = policy.total_seconds - (time.monotonic() - started)
            answer = answer if answer <= remaining else False
        if answer is not False:
            previous[:] = [exc]
        return answer

    # The first attempt runs outside stamina's loop: nearly every call succeeds at once, and
    # building the loop cost more than the rest of a request to a server nearby. A failure
    # enters the loop as its first attempt, whose clock starts that much later.
    try:
        return attempt(1)
    except Exception as exc:
        first = exc
    left = policy.total_seconds - (time.monotonic() - started)
    if left <= 0:
        raise first
    for trial in stamina.retry_context(
        on=verdict,
        attempts=policy.attempts,
        timeout=left,
        wait_initial=policy.wait_initial,
        wait_max=policy.wait_max,
        wait_jitter=policy.wait_jitter,
    ):
        with trial:
            if trial.num == 1:
                raise first
            if previous and before_retry is not None:
                before_retry(trial.num, previous[0])
            return attempt(trial.num)
    raise AssertionError("the retry loop ended without a result")  # pragma: no cover


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), if any."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
