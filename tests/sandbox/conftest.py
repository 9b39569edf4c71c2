"""A running sandbox on 127.0.0.1 and a raw HTTP client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from syncd.sandbox import SandboxServer, SandboxSettings


class FakeClock:
    """A settable wall clock, so rate-limit windows do not depend on when the test runs."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    """A clock at the start of a 10-second window."""
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SandboxServer]:
    """A sandbox with default settings and a fixed seed, running for one test."""
    with SandboxServer(SandboxSettings(seed=7), clock=clock) as server:
        yield server


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """An HTTP client sending the headers Intercom expects."""
    headers = {"Authorization": "Bearer sandbox", "Accept": "application/json"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        yield client
