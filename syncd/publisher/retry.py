"""Which failures the publisher retries, and how.

Retried: 408, 409, 429 and every 5xx, and transport failures (connection refused or reset, a
connection closed without an answer, timeouts: :data:`syncd.net.http.TRANSPORT_ERRORS`). Never
retried: any other 4xx, because the same request would fail the same way. Backoff is
exponential with jitter (:func:`syncd.net.retry.retrying`), bounded both by a number of
attempts and by a deadline; a 429 additionally holds every worker until the rate-limit window
resets (see :mod:`syncd.publisher.ratelimit`).

Importing this module imports httpx (through :mod:`syncd.net.http`): the publisher does so on
its first request.
"""

from __future__ import annotations

from typing import Any

from syncd.net.http import TRANSPORT_ERRORS, describe


class RetryableStatus(Exception):
    """An answer whose status says "try again later"."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


# Everything the retry loop retries.
RETRYABLE: tuple[type[Exception], ...] = (RetryableStatus, *TRANSPORT_ERRORS)


def is_retryable(status: int) -> bool:
    """Whether an answer with this status is worth retrying."""
    return status in (408, 409, 429) or status >= 500


def reason(exc: BaseException) -> str:
    """The ``reason`` label of a retry: the HTTP status, or ``transport``."""
    if isinstance(exc, RetryableStatus):
        return str(exc.status)
    return "transport"


def detail(exc: BaseException) -> str:
    """What went wrong, for people: the status, or the host and the system's words."""
    return str(exc) if isinstance(exc, RetryableStatus) else describe(exc)


def log_retry(log: Any, operation: str, attempt: int, reason_: str, detail_: str) -> None:
    """Log one retry: a warning with the underlying error, as the connectors log theirs.

    A 429 is the rate limit doing its job, not a fault: it stays at info level.
    """
    level = "info" if reason_ == "429" else "warning"
    getattr(log, level)(
        "publish.retry", operation=operation, attempt=attempt, reason=reason_, error=detail_
    )
