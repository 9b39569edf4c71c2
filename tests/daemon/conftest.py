"""Helpers of the daemon tests: sources on short schedules, a recording sync job, polling."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from syncd.config.loading import Schedule, ServerConfig, SourceConfig
from syncd.daemon.jobs import SyncJob
from syncd.daemon.scheduler import Daemon


def make_source(name: str, **schedule: Any) -> SourceConfig:
    """A source whose only relevant part here is its name and schedule."""
    return SourceConfig(
        name=name,
        connector="markdown",
        url="https://docs.example.com",
        schedule=Schedule(**(schedule or {"interval": "1h"})),
    )


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.01)


@dataclasses.dataclass
class Call:
    """One run the job saw: which source, when it started and ended."""

    source: str
    started: float
    ended: float | None = None


class RecordingJob:
    """A sync job that records its runs; ``duration`` seconds of work checked against stop.

    ``failures`` lists, per source, how many first runs raise before runs succeed.
    """

    def __init__(
        self,
        *,
        duration: float = 0.0,
        failures: int = 0,
        on_run: Callable[[str], None] | None = None,
    ) -> None:
        self.duration = duration
        self.failures = failures
        self.on_run = on_run
        self.calls: list[Call] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def __call__(
        self, source: str, stop: threading.Event, *, tick: dt.datetime | None = None
    ) -> None:
        call = Call(source, time.monotonic())
        with self._lock:
            self.calls.append(call)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            failing = sum(1 for c in self.calls if c.source == source) <= self.failures
        try:
            # Work in small steps, like documents, and end early when asked to stop.
            steps = max(1, int(self.duration / 0.01))
            for _ in range(steps):
                if stop.is_set():
                    break
                time.sleep(self.duration / steps)
            if failing:
                raise RuntimeError(f"source {source} is broken")
            if self.on_run is not None:
                self.on_run(source)
        finally:
            call.ended = time.monotonic()
            with self._lock:
                self.active -= 1

    def runs(self, source: str | None = None) -> list[Call]:
        """The runs so far, of one source or all."""
        with self._lock:
            return [c for c in self.calls if source is None or c.source == source]


@pytest.fixture
def start_daemon() -> Iterator[Callable[..., Daemon]]:
    """Start a daemon over given sources and job; it is stopped at the end of the test."""
    started: list[Daemon] = []

    def start(
        sources: list[SourceConfig],
        job: SyncJob,
        *,
        serve: bool = False,
        **options: Any,
    ) -> Daemon:
        options.setdefault("jitter", 0.0)
        server = ServerConfig(host="127.0.0.1", port=0) if serve else None
        daemon = Daemon(sources, job, server=server, **options)
        daemon.start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if not daemon.stop.is_set():
            daemon.stop.set()
            daemon.wait()
