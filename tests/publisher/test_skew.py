"""A server clock far from ours cannot stall the pacing of requests."""

from __future__ import annotations

import time

import pytest

from syncd.publisher import Publisher
from syncd.render.content import Payload
from tests.slow_server import SlowServer, http_date

HOUR = 3600


def payload(number: int) -> Payload:
    return Payload(
        external_id=f"doc-{number}",
        title=f"Doc {number}",
        html="<p>body</p>",
        url=None,
        ai_agent_availability=True,
        ai_copilot_availability=True,
    )


def rate_headers(reset_in: float, *, date: bool) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "90",
        "X-RateLimit-Reset": str(int(time.time() + reset_in)),
    }
    if date:
        headers["Date"] = http_date(HOUR)  # the server's clock runs an hour ahead of ours
    return headers


@pytest.mark.parametrize("date", [True, False], ids=["with-date", "without-date"])
def test_a_reset_an_hour_ahead_does_not_stall_pacing(date: bool) -> None:
    """With X-RateLimit-Reset an hour ahead of our clock, 20 pages still go out in seconds."""
    answer = (200, rate_headers(HOUR + 5, date=date), {"type": "external_page", "id": "7"})
    with SlowServer("json", answers=[answer]) as server:
        with Publisher(base_url=server.url, token="t", max_concurrency=4) as publisher:
            started = time.monotonic()
            for number in range(20):
                assert publisher.upsert_page(source_id=1, payload=payload(number)) == "7"
            elapsed = time.monotonic() - started
        assert len(server.requests) == 20
    # The budget (90 left) spread over one 10-second window at most: well under 5 s for 20.
    assert elapsed < 5, elapsed


def test_a_429_with_a_far_reset_pauses_at_most_a_window() -> None:
    """A 429 whose reset lies an hour ahead (no Date) holds requests a window, not an hour."""
    throttled = (429, rate_headers(HOUR, date=False), {"type": "error.list", "errors": []})
    fine = (200, rate_headers(HOUR, date=False), {"type": "external_page", "id": "7"})
    with (
        SlowServer("json", answers=[fine, throttled, fine]) as server,
        Publisher(base_url=server.url, token="t", max_concurrency=1) as publisher,
    ):
        started = time.monotonic()
        for number in range(3):
            publisher.upsert_page(source_id=1, payload=payload(number))
        elapsed = time.monotonic() - started
    assert elapsed < 20, elapsed
