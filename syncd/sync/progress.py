"""Progress reporting: how a run tells a person (or the logs) how far it got.

The engine reports through the :class:`Progress` protocol and never knows whether a terminal
is attached. The implementations:

:class:`NullProgress`
    Ignores everything (tests, ``--json`` output).
:class:`RichProgress`
    A live display on a terminal: one bar per source, with done/total and the outcomes so far.
:class:`LogProgress`
    Off a terminal (containers, CronJobs, pipes): a ``sync.progress`` log event per source at
    most every ``interval`` seconds, with ``done``, ``total`` and the outcome counts, so a long
    run shows it is alive without a line per document.

:func:`make_progress` picks between the last two for an output stream. Runs of different
sources may report from different threads at once; the implementations are thread-safe.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

import structlog

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

DEFAULT_LOG_INTERVAL = 10.0
# Environment variables that make rich treat any stream as a terminal.
_FORCING = ("TTY_COMPATIBLE", "FORCE_COLOR")


class Progress(Protocol):
    """Receives progress events of runs; one run of one source at a time per source name."""

    def start(self, source: str, total: int) -> None:
        """A run of ``source`` will handle ``total`` documents (writes and deletes)."""

    def advance(self, source: str, outcome: str) -> None:
        """One document of ``source`` was handled with ``outcome`` (created, failed, ...)."""

    def finish(self, source: str) -> None:
        """The run of ``source`` ended (successfully or not)."""


class NullProgress:
    """A progress sink that shows nothing."""

    def start(self, source: str, total: int) -> None:
        """Ignore the start."""

    def advance(self, source: str, outcome: str) -> None:
        """Ignore the document."""

    def finish(self, source: str) -> None:
        """Ignore the end."""


@dataclasses.dataclass
class _Run:
    total: int
    done: int = 0
    outcomes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    last_report: float = 0.0


class LogProgress:
    """Logs ``sync.progress`` (source, done, total, outcome counts) every ``interval`` seconds.

    The first event of a run comes ``interval`` seconds after its start, so runs shorter than
    that log nothing here: their summary line says it all.
    """

    def __init__(
        self,
        *,
        interval: float = DEFAULT_LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        logger: structlog.typing.FilteringBoundLogger | None = None,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._log = logger if logger is not None else structlog.get_logger("syncd.sync.progress")
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def start(self, source: str, total: int) -> None:
        """Begin counting a run of ``source``."""
        with self._lock:
            self._runs[source] = _Run(total=total, last_report=self._clock())

    def advance(self, source: str, outcome: str) -> None:
        """Count one document; log if ``interval`` passed since the last event of ``source``."""
        with self._lock:
            run = self._runs.get(source)
            if run is None:  # an engine that skipped start(): count from here on
                run = self._runs[source] = _Run(total=0, last_report=self._clock())
            run.done += 1
            run.outcomes[outcome] += 1
            now = self._clock()
            if now - run.last_report < self.interval:
                return
            run.last_report = now
            done, total, outcomes = run.done, max(run.total, run.done), dict(run.outcomes)
        self._log.info("sync.progress", source=source, done=done, total=total, **outcomes)

    def finish(self, source: str) -> None:
        """Forget the run of ``source``."""
        with self._lock:
            self._runs.pop(source, None)


class RichProgress:
    """A live terminal display with one progress bar per running source.

    The display starts with the first run and stops (leaving the final bars on screen) when no
    run is left, so log lines printed between runs are not overwritten.
    """

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichDisplay

        self._display = RichDisplay(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[outcomes]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._outcomes: dict[str, collections.Counter[str]] = {}
        self._lock = threading.Lock()
        self._live = False

    def start(self, source: str, total: int) -> None:
        """Add a bar for ``source``, starting the live display if it is the first."""
        with self._lock:
            if not self._live:
                self._display.start()
                self._live = True
            self._outcomes[source] = collections.Counter()
            self._tasks[source] = self._display.add_task(source, total=total, outcomes="")

    def advance(self, source: str, outcome: str) -> None:
        """Move the bar of ``source`` one document on and update its outcome counts."""
        with self._lock:
            task = self._tasks.get(source)
            if task is None:
                return
            counts = self._outcomes[source]
            counts[outcome] += 1
            summary = " ".join(f"{name} {count}" for name, count in sorted(counts.items()))
            self._display.update(task, advance=1, outcomes=summary)

    def finish(self, source: str) -> None:
        """Complete the bar of ``source``; stop the display when no run is left."""
        with self._lock:
            task = self._tasks.pop(source, None)
            self._outcomes.pop(source, None)
            if task is not None:
                self._display.stop_task(task)
            if self._live and not self._tasks:
                self._display.stop()
                self._live = False


def make_progress(stream: TextIO, *, log_interval: float = DEFAULT_LOG_INTERVAL) -> Progress:
    """A live display when ``stream`` is an interactive terminal, else periodic log events."""
    if not _isatty(stream) and not any(os.environ.get(name) for name in _FORCING):
        # rich would say "not a terminal" too, but importing it to ask costs ~20 ms: a pipe or
        # a file (CronJobs, containers) is told apart here, by the same rules.
        return LogProgress(interval=log_interval)
    from rich.console import Console

    console = Console(file=stream)
    # rich's checks honour TERM=dumb and FORCE_COLOR/TTY_COMPATIBLE, as users expect.
    if console.is_terminal and not console.is_dumb_terminal:
        return RichProgress(console)
    return LogProgress(interval=log_interval)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False
