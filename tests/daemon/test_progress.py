"""Progress: periodic log events off a terminal, a live display on one, and the choice."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import TextIO

import pytest
from rich.console import Console
from structlog.testing import capture_logs

from syncd.sync.progress import LogProgress, RichProgress, make_progress


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_log_progress_reports_at_most_every_interval() -> None:
    """sync.progress is logged once per interval with done, total and outcome counts."""
    clock = FakeClock()
    progress = LogProgress(interval=10, clock=clock)
    with capture_logs() as logs:
        progress.start("handbook", 5)
        progress.advance("handbook", "created")
        clock.now += 4
        progress.advance("handbook", "unchanged")
        clock.now += 7  # 11 s after the start
        progress.advance("handbook", "created")
        clock.now += 3
        progress.advance("handbook", "failed")
        clock.now += 10
        progress.advance("handbook", "created")
        progress.finish("handbook")
    assert logs == [
        {
            "event": "sync.progress",
            "log_level": "info",
            "source": "handbook",
            "done": 3,
            "total": 5,
            "created": 2,
            "unchanged": 1,
        },
        {
            "event": "sync.progress",
            "log_level": "info",
            "source": "handbook",
            "done": 5,
            "total": 5,
            "created": 3,
            "unchanged": 1,
            "failed": 1,
        },
    ]


def test_log_progress_keeps_sources_apart() -> None:
    """Two sources running at once are counted and timed separately."""
    clock = FakeClock()
    progress = LogProgress(interval=1, clock=clock)
    with capture_logs() as logs:
        progress.start("a", 2)
        clock.now += 0.5
        progress.start("b", 9)
        clock.now += 0.6
        progress.advance("a", "created")
        progress.advance("b", "created")
    assert [(e["source"], e["done"], e["total"]) for e in logs] == [("a", 1, 2)]


def test_short_runs_log_no_progress() -> None:
    """A run shorter than the interval logs nothing; its summary line is enough."""
    progress = LogProgress(interval=10, clock=FakeClock())
    with capture_logs() as logs:
        progress.start("handbook", 2)
        progress.advance("handbook", "created")
        progress.advance("handbook", "created")
        progress.finish("handbook")
    assert logs == []


def test_rich_progress_draws_a_bar_per_source() -> None:
    """On a terminal, each source gets a bar with its name, done/total and outcomes."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    progress = RichProgress(console)
    progress.start("handbook", 3)
    progress.start("wiki", 1)
    for outcome in ("created", "created", "failed"):
        progress.advance("handbook", outcome)
    progress.advance("wiki", "unchanged")
    progress.finish("handbook")
    progress.finish("wiki")
    screen = out.getvalue()
    assert "handbook" in screen
    assert "3/3" in screen
    assert "created 2 failed 1" in screen
    assert "wiki" in screen
    assert "1/1" in screen


@pytest.fixture
def terminal() -> Iterator[TextIO]:
    """A stream on a real pseudo-terminal."""
    controller, device = os.openpty()
    stream = os.fdopen(device, "w", encoding="utf-8")
    try:
        yield stream
    finally:
        stream.close()
        os.close(controller)


def test_make_progress_draws_on_a_terminal(
    terminal: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interactive terminal gets the live display."""
    monkeypatch.setenv("TERM", "xterm-256color")
    assert isinstance(make_progress(terminal), RichProgress)


def test_make_progress_logs_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe or file gets periodic log events instead of a display."""
    for forcing in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(forcing, raising=False)
    assert isinstance(make_progress(io.StringIO()), LogProgress)


def test_make_progress_logs_on_a_dumb_terminal(
    terminal: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TERM=dumb means no live display, even on a terminal."""
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(make_progress(terminal), LogProgress)
