"""The shared rate budget: probing, pacing, pausing after a 429, stale answers."""

from __future__ import annotations

import itertools
import math
import threading
import time

from syncd.publisher.ratelimit import RateBudget


def _headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(reset)),
    }


def _acquire_in_threads(budget: RateBudget, count: int) -> list[float]:
    """Acquire from ``count`` threads at once; returns when each got through."""
    times: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        budget.acquire()
        with lock:
            times.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return times


def test_before_any_answer_only_one_request_goes_out() -> None:
    """Until the first answer says what the budget is, requests go one at a time."""
    budget = RateBudget()
    budget.acquire()
    released = time.time() + 0.3
    threading.Timer(0.3, budget.release, args=({}, 200)).start()
    times = _acquire_in_threads(budget, 1)
    assert times[0] >= released - 0.01


def test_a_server_without_rate_limit_headers_is_not_paced() -> None:
    """Answers without rate-limit headers leave requests unpaced."""
    budget = RateBudget()
    budget.acquire()
    budget.release({}, 200)
    started = time.time()
    for _ in range(50):
        budget.acquire()
    assert time.time() - started < 0.5


def test_a_429_holds_every_thread_until_the_reset() -> None:
    """After a 429, no thread gets through before X-RateLimit-Reset."""
    budget = RateBudget()
    budget.acquire()
    reset = math.ceil(time.time()) + 1
    budget.release(_headers(100, 0, reset), 429)
    assert budget.paused_until >= reset
    times = _acquire_in_threads(budget, 4)
    assert len(times) == 4
    assert min(times) >= reset


def test_an_exhausted_window_waits_for_the_reset() -> None:
    """With the window's budget spent (but for the margin), the next request waits for reset."""
    budget = RateBudget()
    reset = math.ceil(time.time()) + 1
    budget.acquire()
    budget.release(_headers(5, 1, reset), 200)
    # A late answer about an older window must not refill the budget.
    budget.release(_headers(5, 5, reset - 10), 200)
    times = _acquire_in_threads(budget, 1)
    assert times[0] >= reset


def test_the_remaining_budget_is_spread_over_the_window() -> None:
    """Requests are spaced so the remaining budget lasts until the reset, not sent in a burst."""
    budget = RateBudget()
    budget.acquire()
    reset = math.ceil(time.time()) + 2
    remaining = 20
    budget.release(_headers(20, remaining, reset), 200)
    started = time.time()
    sent = []
    for _ in range(5):
        budget.acquire()
        sent.append(time.time())
        remaining -= 1
        budget.release(_headers(20, remaining, reset), 200)
    # About (reset - now) / 19 between requests: at least 50 ms each, well over a burst.
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) > 0.05
    assert sent[-1] - started < reset - started
