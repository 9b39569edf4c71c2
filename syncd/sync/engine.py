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

Which document publishes under which external id is decided by :mod:`syncd.sync.claims`; pages
are removed, behind the safety stop, by :mod:`syncd.sync.deletes`. The listing and its diff against
the tracker live in :mod:`syncd.sync.listing`, fetching and rendering a document in
:mod:`syncd.sync.fetching`, the write pool in :mod:`syncd.sync.writes`, the dry-run plan item of
a write in :mod:`syncd.sync.dryrun`, and the counting of each document's outcome in
:mod:`syncd.sync.outcomes`.

An *incremental run* (``SyncOptions.only``, a trigger's change set) looks up just the named
documents instead of listing the source, and counts every other tracked document as still
listed and current: it deletes only documents named deleted that the lookup confirms gone
(behind the same safety stop), and leaves every other row as it was, so the next full run
compares against what the last full listing saw. See :mod:`syncd.state.freshness` for the
change-to-write time measured on each write.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import threading
import time
from collections.abc import Iterable

import structlog

from syncd.config.loading import SourceConfig
from syncd.connectors.base import (
    ChangeSet,
    Connector,
    Document,
    DocumentRef,
)
from syncd.errors import ExitCode, SafetyStop
from syncd.publisher import Publisher
from syncd.render import content
from syncd.state.freshness import Freshness
from syncd.state.tracker import Known, Tracker
from syncd.sync.claims import ClaimConflict, Claims
from syncd.sync.deletes import Deletions, Removal, uncertain
from syncd.sync.dryrun import plan_write
from syncd.sync.fetching import DEFAULT_MAX_PAGE_BYTES, fetch, render
from syncd.sync.listing import Listing, diff, list_source, unchanged
from syncd.sync.outcomes import Outcomes
from syncd.sync.plan import RunReport
from syncd.sync.progress import NullProgress, Progress
from syncd.sync.writes import Write, WritePool

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class SyncOptions:
    """How a run treats what it finds."""

    full_resync: bool = False
    dry_run: bool = False
    allow_mass_delete: bool = False
    only: ChangeSet | None = None  # an incremental run of these documents (see the docstring)


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
        self.source = source
        self.max_page_bytes = max_page_bytes
        self.connector = connector
        self.tracker = tracker
        self.publisher = publisher
        self.options = options
        self.max_concurrency = max_concurrency
        self.stop = stop or threading.Event()
        self.progress: Progress = progress or NullProgress()
        self.report = RunReport(source=source.name, dry_run=options.dry_run)
        self.log = log.bind(source=source.name)
        self.outcomes = Outcomes(
            source=source.name,
            report=self.report,
            tracker=tracker,
            progress=self.progress,
            dry_run=options.dry_run,
            log=self.log,
            # Asked once: a decision per document is logged only at DEBUG, and a no-op run of
            # a large source should not build 100,000 events to throw them away.
            debug=logging.getLogger(__name__).isEnabledFor(logging.DEBUG),
        )
        self._source_id: int | None = tracker.intercom_source_id
        self.claims = Claims(failed=self.outcomes.failed)
        # Pages a document left behind (its external id changed, or it became excluded). They
        # are removed after every write, unless another document took their external id over.
        self._left_behind: list[Removal] = []
        # The ref ids an incremental run may delete: named deleted, and not found by lookup.
        self._deleted: frozenset[str] | None = None
        # Pages published by another renderer are rendered again, whatever their versions.
        self._rerender = tracker.converter_version != content.CONVERTER_VERSION
        self.freshness = Freshness(source.name, tracker, recording=not options.dry_run)
        self.deletes = Deletions(
            source=source,
            tracker=tracker,
            publisher=publisher,
            report=self.report,
            count=self.outcomes.count,
            dry_run=options.dry_run,
            allow_mass_delete=options.allow_mass_delete,
        )

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> RunReport:
        """List, diff, write and delete; the report holds the outcome."""
        started = time.monotonic()
        fingerprint: str | None = None
        try:
            fingerprint = self.connector.fingerprint()
            if fingerprint is not None and unchanged(
                fingerprint,
                source=self.source,
                tracker=self.tracker,
                outcomes=self.outcomes,
                full_resync=self.options.full_resync,
                rerender=self._rerender,
            ):
                return self.report
            listed, self._deleted = list_source(
                self.connector, self.options.only, self.outcomes, self.source.connector
            )
            self.report.listed = len(listed)
            found = diff(
                listed,
                tracker=self.tracker,
                outcomes=self.outcomes,
                deleted=self._deleted,
                full_resync=self.options.full_resync,
                rerender=self._rerender,
            )
            known, gone = found.known, found.gone
            self.progress.start(self.source.name, found.fetching + len(gone))
            if self._must_contact_intercom(found.fetching, gone):
                self._ensure_source()
            remote = self.deletes.remote_pages(self._source_id) if self.options.full_resync else {}
            # Rows that know their page win: a run killed after an upsert but before its
            # record can leave a second row with the same external id and no page id.
            by_external = {
                k.external_id: k
                for k in sorted([*known.values(), *gone], key=lambda k: k.page_id is not None)
                if k.external_id
            }
            # Built as they are fetched: a first sync of a large source holds no second list.
            to_fetch = (
                DocumentRef(ref_id, version)
                for ref_id, version in listed.items()
                if version is not None
            )
            self._write_all(to_fetch, known, by_external, listed, remote)
            if not self.stop.is_set():
                self._remove(gone, found.held, listed, remote)
            else:
                self.deletes.keep(self._left_behind)
        finally:
            self.outcomes.flush_versions()
            self.tracker.flush()
            self.freshness.save()
            self.report.duration = time.monotonic() - started
            self.progress.finish(self.source.name)
        self.report.stopped = self.stop.is_set()
        if self.report.failed:
            self.report.exit_code = ExitCode.PARTIAL
        elif (
            fingerprint is not None
            and not self.report.stopped
            and not self.options.dry_run
            and not self.incremental
        ):
            # Every document of this listing was handled: an equal listing is a no-op.
            self.tracker.set_fingerprint(fingerprint)
        if self._rerender and not (self.report.stopped or self.options.dry_run or self.incremental):
            # Every listed document was rendered by this converter (failed ones are fetched
            # again next run anyway).
            self.tracker.set_converter_version(content.CONVERTER_VERSION)
        return self.report

    @property
    def incremental(self) -> bool:
        """Whether this run syncs only the documents a change set named."""
        return self._deleted is not None

    def _remove(
        self, gone: list[Known], held: int, listed: Listing, remote: dict[str, str]
    ) -> None:
        """Plan every removal of the run, weigh the total, then remove (see syncd.sync.deletes)."""
        removals = self.deletes.plan(
            gone=gone,
            left_behind=self._left_behind,
            claimed=self.claims.taken,
            source_id=self._source_id,
            remote=remote if self.options.full_resync else None,
            listed=listed,
        )
        self._left_behind = []
        # On a full resync Intercom's page list is the truth about what exists.
        held = max(held, len(remote))
        if self.options.dry_run:
            # The plan shows every removal, and then that the run would be refused.
            self.deletes.apply(removals)
            self.deletes.check(held=held, removals=removals, listed=len(listed))
        else:
            try:
                self.deletes.check(held=held, removals=removals, listed=len(listed))
            except SafetyStop:
                self.deletes.keep(removals)
                raise
            self.deletes.apply(removals)

    def _must_contact_intercom(self, fetching: int, gone: list[Known]) -> bool:
        # A run with nothing to send makes no request at all: that is the common case.
        if self.options.dry_run:
            return False
        return bool(
            self.options.full_resync
            or fetching
            or any(k.page_id or uncertain(k) for k in gone)
            or self.tracker.url != self.source.url
            or self.tracker.status != self.source.status
        )

    def _ensure_source(self) -> None:
        source_id = self.publisher.ensure_source(
            stored_id=self.tracker.intercom_source_id,
            url=self.source.url,
            status=self.source.status,
        )
        if (source_id, self.source.url, self.source.status) != (
            self.tracker.intercom_source_id,
            self.tracker.url,
            self.tracker.status,
        ):
            self.tracker.set_intercom_source(source_id, self.source.url, self.source.status)
        self._source_id = source_id

    # -- writes ----------------------------------------------------------------------------

    def _write_all(
        self,
        to_fetch: Iterable[DocumentRef],
        known: dict[str, Known],
        by_external: dict[str, Known],
        listed: Listing,
        remote: dict[str, str],
    ) -> None:
        writes = WritePool(
            pool=cf.ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="publish"),
            max_concurrency=self.max_concurrency,
            source_id=self._source_id,
            tracker=self.tracker,
            publisher=self.publisher,
            outcomes=self.outcomes,
            freshness=self.freshness,
            left_behind=self._left_behind.append,
        )
        with writes:  # a failure still counts what Intercom has (see WritePool.__exit__)
            for ref in to_fetch:
                if self.stop.is_set() or writes.fatal is not None:
                    break
                listed[ref.id] = None  # the ref holds the version now (see Listing)
                row = known.get(ref.id)
                document = fetch(
                    self.connector,
                    ref,
                    row,
                    outcomes=self.outcomes,
                    left_behind=self._left_behind.append,
                )
                if row is not None:
                    # Only a tracked document can hold an external id another one wants.
                    self.claims.settle(ref.id)
                if document is None:
                    continue
                write = self._prepare(ref, row, document, by_external, listed, remote)
                if write is not None:
                    writes.queue(write)
            for ref, document in self.claims.deferred:
                if self.stop.is_set() or writes.fatal is not None:
                    break
                write = self._prepare(
                    ref, known.get(ref.id), document, by_external, listed, remote, final=True
                )
                if write is not None:
                    writes.queue(write)
            writes.finish()
            self.tracker.flush()
        if writes.fatal is not None:
            raise writes.fatal

    def _prepare(
        self,
        ref: DocumentRef,
        known: Known | None,
        document: Document,
        by_external: dict[str, Known],
        listed: Listing,
        remote: dict[str, str],
        *,
        final: bool = False,
    ) -> Write | None:
        wanted = document.external_id or ref.id
        owner = by_external.get(wanted)
        if owner is None and wanted != ref.id:
            # An explicit external id may belong to a document that did not change, whose
            # row is not in this run's snapshot.
            owner = self.tracker.holder_of(wanted)
            if owner is not None:
                by_external[wanted] = owner
        try:
            external_id = self.claims.claim(ref, document, owner, listed, final=final)
        except ClaimConflict as exc:
            self.outcomes.fail(ref.id, str(exc))
            return None
        if external_id is None:
            return None
        takeover = owner is not None and owner.ref_id != ref.id
        # A renamed document's old row goes; a row still listed keeps its own document.
        replaces = (
            owner.ref_id if owner is not None and takeover and owner.ref_id not in listed else None
        )
        payload = render(
            ref,
            document,
            external_id,
            source=self.source,
            max_page_bytes=self.max_page_bytes,
            outcomes=self.outcomes,
        )
        if payload is None:
            return None
        digest = payload.digest()
        previous = owner if owner is not None else None
        if known is not None and known.external_id == external_id:
            previous = known
        stale = None
        if known is not None and known.page_id and known.external_id != external_id:
            stale = (known.external_id or "", known.page_id)
        published = previous is not None and previous.page_id is not None
        if (
            published
            and previous is not None
            and previous.payload_hash == digest
            and not self.options.full_resync
            and not takeover
            and stale is None
        ):
            self.outcomes.unchanged(ref)
            return None
        action = "update" if published or external_id in remote else "create"
        if self.options.dry_run:
            plan_write(
                action,
                ref,
                payload,
                previous,
                known,
                connector=self.connector,
                publisher=self.publisher,
                outcomes=self.outcomes,
                full_resync=self.options.full_resync,
                rerender=self._rerender,
                renamed_from=replaces,
            )
            return None
        pending = not takeover and (known is None or known.page_id is None)
        return Write(ref, payload, digest, action, replaces, stale, pending, document.changed_at)
