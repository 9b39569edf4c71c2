"""Rate limiting and injected faults: how the sandbox misbehaves the way Intercom can.

Rate limit
    Fixed windows aligned to multiples of ``window_seconds`` since the epoch, like Intercom's
    10-second windows. Each authenticated request spends one unit of the current window's
    budget; ``X-RateLimit-Reset`` is the Unix second at which the window ends.

Faults
    One seeded random generator draws, per request, whether it is dropped (before or after the
    server handled it, so retries must be idempotent), answered with a 5xx, or throttled with a
    429 despite budget left. With a seed, one client sending one request at a time sees the
    same faults on every run.
"""

from __future__ import annotations

import enum
import math
import random
import threading
import uuid

from syncd.sandbox.settings import SandboxSettings


class Fault(enum.Enum):
    """What happens to one request instead of (or after) its normal handling."""

    NONE = "none"
    DROP_BEFORE = "drop_before"  # connection closed before the request is handled
    DROP_AFTER = "drop_after"  # handled, then the connection closed before the answer
    ERROR = "error"  # a 5xx answer
    THROTTLE = "throttle"  # a 429 answer with budget left


_SERVER_ERRORS = (500, 502, 503, 504)


class FaultPlan:
    """Draws faults and request ids from one seeded generator."""

    def __init__(self, seed: int | None) -> None:
        self._random = random.Random(seed)  # noqa: S311 - reproducible faults, not secrets
        self._lock = threading.Lock()

    def draw(self, settings: SandboxSettings) -> Fault:
        """The fault for the next request, given the current rates."""
        with self._lock:
            roll = self._random.random()
            if roll < settings.drop_rate:
                return Fault.DROP_BEFORE if self._random.random() < 0.5 else Fault.DROP_AFTER
            roll -= settings.drop_rate
            if roll < settings.error_rate:
                return Fault.ERROR
            roll -= settings.error_rate
            if roll < settings.throttle_rate:
                return Fault.THROTTLE
            return Fault.NONE

    def server_error_status(self) -> int:
        """Which 5xx an injected error answers with."""
        with self._lock:
            return self._random.choice(_SERVER_ERRORS)

    def request_id(self) -> str:
        """A fresh request id (a UUID, reproducible with a seed)."""
        with self._lock:
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))


class RateWindow:
    """Counts requests in fixed, epoch-aligned windows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._used = 0

    def spend(self, settings: SandboxSettings, now: float) -> tuple[bool, dict[str, str]]:
        """Spend one request of the current window: (allowed, rate-limit headers).

        A refused request spends nothing. ``rate_limit`` 0 means unlimited (no headers).
        """
        limit = settings.rate_limit
        if limit <= 0:
            return True, {}
        length = settings.window_seconds
        window = math.floor(now / length)
        with self._lock:
            if window != self._window:
                self._window, self._used = window, 0
            allowed = self._used < limit
            if allowed:
                self._used += 1
            remaining = limit - self._used
        reset = math.ceil((window + 1) * length)
        return allowed, self.headers(limit, remaining, reset)

    @staticmethod
    def headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
        """The three ``X-RateLimit-*`` headers."""
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": str(reset),
        }
