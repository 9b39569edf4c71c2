"""Outcomes: how a run counts what happened to each document.

An *outcome* is the one word a run settles a document with: ``created``, ``updated``,
``unchanged``, ``excluded`` or ``failed`` (removals are tallied by :mod:`syncd.sync.deletes`).
Each outcome is counted in the run report, the ``syncd_documents`` metric (not on a dry run)
and the progress display. What else settling a document records (a failure's message, a new
version) is the run's, see :mod:`syncd.sync.context`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncd import metrics
from syncd.sync.plan import RunReport
from syncd.sync.progress import Progress

if TYPE_CHECKING:  # one-shot runs never import it (see syncd.metrics)
    from prometheus_client import Counter


class Outcomes:
    """The counters of one run of one source."""

    def __init__(
        self, *, source: str, report: RunReport, progress: Progress, dry_run: bool
    ) -> None:
        self.source = source
        self.report = report
        self.progress = progress
        self.dry_run = dry_run
        # The metric's child per outcome, looked up once: labels() takes a lock and builds a
        # key on every call, which showed in the per-page cost of a full sync.
        self._counters: dict[str, Counter] = {}

    def count(self, outcome: str) -> None:
        """One document settled with ``outcome``."""
        setattr(self.report, outcome, getattr(self.report, outcome) + 1)
        if not self.dry_run:
            self._counter(outcome).inc()
        self.progress.advance(self.source, outcome)

    def count_many(self, outcome: str, count: int) -> None:
        """Documents settled without work (not shown as progress: there was none)."""
        if count:
            setattr(self.report, outcome, getattr(self.report, outcome) + count)
            if not self.dry_run:
                self._counter(outcome).inc(count)

    def _counter(self, outcome: str) -> Counter:
        counter = self._counters.get(outcome)
        if counter is None:
            counter = self._counters[outcome] = metrics.DOCUMENTS.labels(self.source, outcome)
        return counter

    def failed(self, ref_id: str) -> bool:
        """Whether the document failed in this run."""
        return any(r == ref_id for r, _ in self.report.failures)
