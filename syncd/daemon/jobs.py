"""The sync job: what the daemon calls to run one source, and how a run that failed says so.

sync job
    A :class:`SyncJob`: runs one source to its end, checking the stop event between
    documents, and raises when the run failed (:class:`RunFailed` for a run that ended with a
    non-zero exit code). :func:`app_job` makes the job that runs
    :meth:`App.sync <syncd.app.App.sync>`; tests pass their own.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Protocol

import structlog

from syncd.connectors.base import EVERYTHING, ChangeSet
from syncd.daemon.reconcile import Reconciles
from syncd.errors import ExitCode
from syncd.sync.progress import Progress

if TYPE_CHECKING:
    from syncd.app import App

# The daemon's events keep the scheduler's logger name, which log filters may select.
log = structlog.get_logger("syncd.daemon.scheduler")


class SyncJob(Protocol):
    """Runs one source to its end; raises when the run failed. Checks ``stop`` between documents.

    Called as ``job(source, stop, tick=start)`` for a full run, ``start`` being when the
    scheduled tick it serves was due (see :mod:`syncd.daemon.ticks`), or None for a run asked
    for between ticks; and as ``job(source, stop, changes)`` with a
    :class:`~syncd.connectors.base.ChangeSet` for a run of just the documents a trigger named.
    """

    def __call__(
        self,
        source: str,
        stop: threading.Event,
        changes: ChangeSet = ...,
        *,
        tick: dt.datetime | None = ...,
    ) -> None: ...


class RunFailed(Exception):
    """A run of a source ended with a non-zero exit code; ``error`` says why."""

    def __init__(self, source: str, exit_code: ExitCode, error: str | None) -> None:
        super().__init__(f"run of source {source!r} failed ({exit_code.name}): {error}")
        self.source = source
        self.exit_code = exit_code
        self.error = error


def app_job(app: App, progress: Progress) -> SyncJob:
    """The sync job that runs one source through ``app.sync``."""

    reconciles = Reconciles(app.config)

    def job(
        source: str,
        stop: threading.Event,
        changes: ChangeSet = EVERYTHING,
        *,
        tick: dt.datetime | None = None,
    ) -> None:
        if not changes.everything:
            tick = None  # a run of named documents serves no tick
        reconcile = changes.everything and reconciles.due(source)
        outcome = app.sync(
            [source], stop=stop, progress=progress, changes=changes, tick=tick, reconcile=reconcile
        )
        ran = bool(outcome.reports) and not outcome.reports[0].skipped
        if reconcile and ran and outcome.exit_code == ExitCode.OK and not outcome.interrupted:
            reconciles.done(source)
        if any(report.stopped for report in outcome.reports):
            log.info("daemon.run_stopped", source=source)
        if outcome.exit_code != ExitCode.OK:
            errors = [report.error for report in outcome.reports if report.error]
            raise RunFailed(source, outcome.exit_code, "; ".join(errors) or None)

    return job
