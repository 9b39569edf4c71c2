"""Outcomes: how a run counts what happened to each document.

An *outcome* is the one word a run settles a document with: ``created``, ``updated``,
``unchanged``, ``excluded`` or ``failed`` (removals are tallied by :mod:`syncd.sync.deletes`).
Each outcome is counted in the run report, the ``syncd_documents`` metric (not on a dry run)
and the progress display. A *failure* also keeps its message in the report and, outside a dry
run, in the tracker, so the document is fetched again next run. A document found unchanged by
its payload hash has its new version recorded, in batches.
"""

from __future__ import annotations

from typing import Any

from syncd import metrics
from syncd.connectors.base import DocumentRef
from syncd.state.tracker import Tracker
from syncd.sync.plan import RunReport
from syncd.sync.progress import Progress

_VERSION_BATCH = 500


class Outcomes:
    """The counters of one run of one source."""

    def __init__(
        self,
        *,
        source: str,
        report: RunReport,
        tracker: Tracker,
        progress: Progress,
        dry_run: bool,
        log: Any,
        debug: bool,
    ) -> None:
        self.source = source
        self.report = report
        self.tracker = tracker
        self.progress = progress
        self.dry_run = dry_run
        self.log = log
        self.debug = debug  # whether a decision per document is worth a DEBUG event
        self._versions: list[tuple[str, str]] = []

    def count(self, outcome: str) -> None:
        """One document settled with ``outcome``."""
        setattr(self.report, outcome, getattr(self.report, outcome) + 1)
        if not self.dry_run:
            metrics.DOCUMENTS.labels(self.source, outcome).inc()
        self.progress.advance(self.source, outcome)

    def count_many(self, outcome: str, count: int) -> None:
        """Documents settled without work (not shown as progress: there was none)."""
        if count:
            setattr(self.report, outcome, getattr(self.report, outcome) + count)
            if not self.dry_run:
                metrics.DOCUMENTS.labels(self.source, outcome).inc(count)

    def failed(self, ref_id: str) -> bool:
        """Whether the document failed in this run."""
        return any(r == ref_id for r, _ in self.report.failures)

    def fail(self, ref_id: str, error: str, *, final_version: str | None = None) -> None:
        """The document failed with ``error``; ``final_version`` is not fetched again."""
        self.log.warning("document.failed", ref=ref_id, error=error)
        self.report.failures.append((ref_id, error))
        if not self.dry_run:
            self.tracker.record_failed(ref_id, error, final_version=final_version)
        self.count("failed")

    def unchanged(self, ref: DocumentRef) -> None:
        """The rendered document equals its published page: only its version is recorded."""
        if self.debug:
            self.log.debug("document.unchanged", ref=ref.id, by="hash", version=ref.version)
        if not self.dry_run:
            self._versions.append((ref.id, ref.version))
            if len(self._versions) >= _VERSION_BATCH:
                self.flush_versions()
        self.count("unchanged")

    def flush_versions(self) -> None:
        """Record the versions of unchanged documents not recorded yet."""
        if self._versions and not self.dry_run:
            self.tracker.record_versions(self._versions)
        self._versions = []
