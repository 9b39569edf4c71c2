"""The sync engine: one run of one source, from listing to recorded writes.

The flow, per source::

    list -> diff against the tracker -> fetch new or re-versioned documents -> render the
    payload -> hash -> upsert when the hash differs -> delete what the listing lost -> record

Rules it keeps:

* A connector's listing fingerprint equal to the one stored by the last complete run ends the
  run before listing: nothing changed (see :mod:`syncd.connectors.base`).
* A new :data:`~syncd.render.content.CONVERTER_VERSION` (rendering changed) fetches and renders
  every document again, whatever its version says, until a complete run records it; only pages
  whose payload hash changed are sent, and the version is part of that hash.
* Only a complete listing can delete. A listing that fails deletes nothing. Every removal
  (gone, excluded, renamed away, orphan) is planned once the writes are done and weighed as
  one total before the first DELETE: too many raises :class:`~syncd.errors.SafetyStop` with
  nothing deleted (see :mod:`syncd.sync.deletes`). The writes of that run stay: they only make
  pages equal to their source.
* A document that fails (fetch, render, or a 4xx from Intercom) is recorded with its error and
  fetched again next run; the others go on.
* Each document is recorded once its write succeeded, in small batches (see
  :mod:`syncd.state.tracker`); a first write's external id is committed before it is sent.
* Fetching and rendering run in the calling thread (connectors need not be thread-safe);
  writes run on a pool of ``max_concurrency`` threads sharing the publisher's rate budget.
* The stop event is honoured between documents: writes in flight finish and are recorded.

The listing and its diff against the tracker live in :mod:`syncd.sync.listing`; each listed
document's way from its fetch to its write in :mod:`syncd.sync.documents`, which relies on
:mod:`syncd.sync.fetching` (fetch and render), :mod:`syncd.sync.claims` (which document publishes
under which external id), :mod:`syncd.sync.writes` (the write pool) and :mod:`syncd.sync.dryrun`
(the plan item of a write); pages are removed, behind the safety stop, by
:mod:`syncd.sync.deletes`, and each document's outcome is counted by :mod:`syncd.sync.outcomes`.
Each of them is handed the one :class:`~syncd.sync.context.RunContext`
of the run: the source, options, collaborators, report and what the run learned so far.

An *incremental run* (``SyncOptions.only``, a trigger's change set) looks up just the named
documents instead of listing the source, and counts every other tracked document as still
listed and current: it deletes only documents named deleted that the lookup confirms gone
(behind the same safety stop), and leaves every other row as it was, so the next full run
compares against what the last full listing saw. See :mod:`syncd.state.freshness` for the
change-to-write time measured on each write.
"""

from __future__ import annotations

import threading
import time

from syncd.config.loading import SourceConfig
from syncd.connectors.base import Connector
from syncd.errors import ExitCode
from syncd.publisher import Publisher
from syncd.render import content
from syncd.state.tracker import Known, Tracker
from syncd.sync.context import DEFAULT_MAX_PAGE_BYTES, RunContext, SyncOptions
from syncd.sync.deletes import Deletions, uncertain
from syncd.sync.documents import write_documents
from syncd.sync.listing import diff, list_source, unchanged
from syncd.sync.plan import RunReport
from syncd.sync.progress import Progress

__all__ = ["SourceSync", "SyncOptions"]


class SourceSync:
    """One run of one source; build, call :meth:`run`, read the report."""

    def __init__(
        self,
        *,
        source: SourceConfig,
        connector: Connector,
        tracker: Tracker,
        publisher: Publisher,
        options: SyncOptions,
        max_concurrency: int,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    ) -> None:
        self.context = RunContext(
            source=source,
            options=options,
            connector=connector,
            tracker=tracker,
            publisher=publisher,
            max_concurrency=max_concurrency,
            stop=stop,
            progress=progress,
            max_page_bytes=max_page_bytes,
        )
        self.deletes = Deletions(self.context)
        self._confirmed = False  # the source's existence was confirmed by this run

    @property
    def report(self) -> RunReport:
        """What the run did so far: complete once :meth:`run` returned."""
        return self.context.report

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> RunReport:
        """List, diff, write and delete; the report holds the outcome."""
        run = self.context
        report, tracker = run.report, run.tracker
        started = time.monotonic()
        fingerprint: str | None = None
        try:
            self._check_drift()
            fingerprint = run.connector.fingerprint()
            if fingerprint is not None and unchanged(run, fingerprint):
                return report
            run.listed, run.deleted = list_source(run)
            report.listed = len(run.listed)
            found = diff(run, run.listed)
            run.progress.start(run.source.name, found.fetching + len(found.gone))
            if self._must_contact_intercom(found.fetching, found.gone) and not self._confirmed:
                self._ensure_source()
            write_documents(run, found)
            if not run.stop.is_set():
                self.deletes.remove(found.gone, found.held)
            else:
                self.deletes.keep(run.left_behind)
        finally:
            run.flush()
            report.duration = time.monotonic() - started
            run.progress.finish(run.source.name)
        report.stopped = run.stop.is_set()
        if report.failed:
            report.exit_code = ExitCode.PARTIAL
        elif (
            fingerprint is not None
            and not report.stopped
            and not run.dry_run
            and not run.incremental
        ):
            # Every document of this listing was handled: an equal listing is a no-op.
            tracker.set_fingerprint(fingerprint)
        if run.rerender and not (report.stopped or run.dry_run or run.incremental):
            # Every listed document was rendered by this converter (failed ones are fetched
            # again next run anyway).
            tracker.set_converter_version(content.CONVERTER_VERSION)
        return report

    def _check_drift(self) -> None:
        """Confirm the source exists, restoring it if not; on a reconciling run, also read
        Intercom's pages of the source into ``run.remote`` (see :mod:`syncd.sync.drift`)."""
        run = self.context
        stored = run.tracker.intercom_source_id
        if run.dry_run:  # asks nothing it need not: the plan shows orphans only
            if run.full_resync:
                run.remote = self.deletes.remote_pages()
            return
        if stored is not None or run.reconciling:
            self._ensure_source()  # the one request of a no-op run; finds one lost by URL
            self._confirmed = True
            if stored is not None and (run.source_id != stored or stored in run.publisher.vanished):
                assert run.source_id is not None
                run.drift.source_vanished(stored, run.source_id, run.source.url)
        if run.reconciling and run.source_id is not None:
            run.remote = self.deletes.remote_pages()
            if not run.drift.everything:
                run.drift.pages_missing(run.remote)

    def _must_contact_intercom(self, fetching: int, gone: list[Known]) -> bool:
        # A run with nothing to send makes no request at all: that is the common case.
        run = self.context
        if run.dry_run:
            return False
        return bool(
            run.full_resync
            or fetching
            or any(k.page_id or uncertain(k) for k in gone)
            or run.tracker.url != run.source.url
            or run.tracker.status != run.source.status
        )

    def _ensure_source(self) -> None:
        run = self.context
        tracker, source = run.tracker, run.source
        source_id = run.publisher.ensure_source(
            stored_id=tracker.intercom_source_id, url=source.url, status=source.status
        )
        if (source_id, source.url, source.status) != (
            tracker.intercom_source_id,
            tracker.url,
            tracker.status,
        ):
            tracker.set_intercom_source(source_id, source.url, source.status)
        run.source_id = source_id
