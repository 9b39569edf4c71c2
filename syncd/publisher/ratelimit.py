"""One rate-limit budget shared by every thread of a publisher.

Intercom grants each app a number of requests per fixed 10-second window and reports, on
every authenticated answer, ``X-RateLimit-Limit`` (the window's allowance),
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix seconds at which the window ends).
:class:`RateBudget` keeps the latest view of that window and paces requests so its budget lasts
until the reset: the requests still allowed (minus those in flight and a small safety margin)
are spread evenly over the time left. A 429 holds every thread until the reset plus jitter.

Answers arrive out of order, so within one window the lowest ``Remaining`` wins; an answer
about an older window is ignored. When the clock passes the reset, the next window is assumed
to be full until an answer says otherwise. Before the first answer nothing is known, so only
one request goes out; a server that sends no rate-limit headers is not paced at all.

Clocks: ``X-RateLimit-Reset`` is a time on the *server's* clock. The budget keeps its own time
on that clock too: each answer's ``Date`` header gives the offset (the *skew*) between the two,
and a skew under :data:`SKEW_TOLERANCE` (Date's one-second resolution plus the trip) is taken
as none. Should a reset still lie more than a window ahead (no ``Date``, a proxy's answer), it
is not believed: the pacing horizon is capped at one window, and a window is assumed to roll
one window after the answer that reported it.
"""

from __future__ import annotations

import email.utils
import functools
import math
import random
import threading
import time
from collections.abc import Callable, Mapping

from syncd import metrics

DEFAULT_WINDOW = 10.0  # Intercom's window, until two answers show the real one
MAX_PAUSE = 60.0  # a reset further away than this is a clock problem, not a budget
MARGIN_SHARE = 0.02  # keep this share of each window unused, for other clients of the app
SKEW_TOLERANCE = 2.0  # seconds: a smaller gap to the server's Date is rounding, not skew


def _server_time(headers: Mapping[str, str]) -> float | None:
    """The answer's ``Date`` header as Unix seconds (the middle of its one-second span)."""
    value = headers.get("date")
    return _parse_date(value) if value else None


@functools.lru_cache(maxsize=16)
def _parse_date(value: str) -> float | None:
    # Cached: a Date changes once a second, and parsing it cost more than the rest of the
    # budget's bookkeeping of an answer.
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() + 0.5
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


class RateBudget:
    """Shared pacing for all requests of one publisher; every method is thread-safe."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._random = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._cond = threading.Condition()
        self._limit: int | None = None
        self._remaining = 0
        self._reset = 0.0  # end of the window `_remaining` describes
        self._confirmed_reset = 0.0  # the latest reset an answer reported
        self._estimated = False  # the window rolled by our clock; no answer about it yet
        self._window = DEFAULT_WINDOW
        self._window_known = False
        self._in_flight = 0
        self._last_sent = 0.0
        self._paused_until = 0.0
        self._unpaced = False  # the server sends no rate-limit headers
        self._skew = 0.0  # the server's clock minus ours
        self._observed_at = 0.0  # when the answer that set the window arrived (server clock)

    def _now(self) -> float:
        """The current time on the server's clock (see the module docstring)."""
        return self._clock() + self._skew

    def acquire(self) -> float:
        """Block until one more request may go out; returns the seconds waited."""
        started = self._clock()
        with self._cond:
            while True:
                now = self._now()
                delay = self._delay(now)
                if delay <= 0:
                    break
                self._cond.wait(min(delay, MAX_PAUSE))
            self._in_flight += 1
            self._last_sent = now
        waited = self._clock() - started
        if waited > 0.001:
            metrics.RATE_LIMIT_WAITS.inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.inc(waited)
        return waited

    def release(self, headers: Mapping[str, str] | None, status: int | None) -> None:
        """Account for the answer (or the failure) of a request ``acquire`` let through."""
        with self._cond:
            self._in_flight = max(self._in_flight - 1, 0)
            limit = remaining = reset = None
            if headers is not None:
                self._observe_clock(headers)
                limit = _header_int(headers, "x-ratelimit-limit")
                remaining = _header_int(headers, "x-ratelimit-remaining")
                reset = _header_int(headers, "x-ratelimit-reset")
            if limit is not None and remaining is not None and reset is not None:
                self._observe(limit, remaining, float(reset))
            elif headers is not None and self._limit is None:
                self._unpaced = True
            elif self._limit is not None:
                # Unknown whether it counted (a dropped connection, a proxy's answer): assume so.
                self._remaining = max(self._remaining - 1, 0)
            if status == 429:
                self._pause(float(reset) if reset is not None else None)
            self._cond.notify_all()

    def cancel(self) -> None:
        """Give back a slot ``acquire`` granted to a request that was never sent."""
        with self._cond:
            self._in_flight = max(self._in_flight - 1, 0)
            self._cond.notify_all()

    @property
    def paused_until(self) -> float:
        """Unix time (our clock) until which every request waits after a 429 (0 when none)."""
        with self._cond:
            return self._paused_until - self._skew if self._paused_until else 0.0

    def _observe_clock(self, headers: Mapping[str, str]) -> None:
        server = _server_time(headers)
        if server is None:
            return
        skew = server - self._clock()
        # Moving the clock moves every stored time that was measured on it.
        new = skew if abs(skew) >= SKEW_TOLERANCE else 0.0
        if abs(new - self._skew) >= SKEW_TOLERANCE or (new == 0.0) != (self._skew == 0.0):
            self._last_sent += new - self._skew
            self._paused_until += (new - self._skew) if self._paused_until else 0.0
            self._skew = new

    def _observe(self, limit: int, remaining: int, reset: float) -> None:
        self._unpaced = False
        if reset > self._confirmed_reset:
            if self._confirmed_reset > 0:
                step = reset - self._confirmed_reset
                self._window = step if not self._window_known else min(self._window, step)
                self._window_known = True
            self._confirmed_reset = self._reset = reset
            self._limit, self._remaining, self._estimated = limit, remaining, False
            self._observed_at = self._now()
        elif reset == self._confirmed_reset and not self._estimated:
            self._limit = limit
            self._remaining = min(self._remaining, remaining)
        # Otherwise the answer describes a window that is already over.

    def _pause(self, reset: float | None) -> None:
        now = self._now()
        target = max(reset if reset is not None else now, now)
        # A reset further than a window away is a clock we cannot trust (module docstring).
        target = min(target, now + min(self._window, MAX_PAUSE)) + self._random.uniform(0.05, 0.3)
        self._paused_until = max(self._paused_until, target)
        if reset is not None and reset == self._reset:
            self._remaining = 0

    def _delay(self, now: float) -> float:
        """Seconds to wait before the next request may go out (0 or less: go now)."""
        if now < self._paused_until:
            return self._paused_until - now
        if self._unpaced:
            return 0.0
        if self._limit is None:
            # Nothing known yet: one probe at a time until the first answer arrives.
            return 0.0 if self._in_flight == 0 else MAX_PAUSE
        if now >= self._reset:
            windows = math.floor((now - self._reset) / self._window) + 1
            self._reset += windows * self._window
            self._remaining, self._estimated = self._limit, True
        elif self._reset - now > self._window and now >= self._observed_at + self._window:
            # An unbelievable reset, and a window has passed since it was reported.
            self._reset = self._observed_at = now + self._window
            self._remaining, self._estimated = self._limit, True
        margin = max(1, math.ceil(self._limit * MARGIN_SHARE))
        available = self._remaining - self._in_flight - margin
        time_left = min(self._reset - now, self._window)
        if available <= 0:
            return time_left + self._random.uniform(0.01, 0.05)
        return self._last_sent + time_left / available - now
