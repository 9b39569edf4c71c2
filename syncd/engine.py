"""The sync engine: one run of one source, from listing to recorded writes.

The flow, per source::

    list -> diff against the tracker -> fetch new or re-versioned documents -> render the
    payload -> hash -> upsert when the hash differs -> delete what the listing lost -> record

Rules it keeps:

* A connector's listing fingerprint equal to the one stored by the last complete run ends the
  run before listing: nothing changed (see :mod:`syncd.connectors.base`).
* A new :data:`~syncd.content.CONVERTER_VERSION` (rendering changed) fetches and renders every
  document again, whatever its version says, until a complete run records it; only pages
  whose payload hash changed are sent, and the version is part of that hash.
* Only a complete listing can delete. A listing that fails deletes nothing. Every removal
  (gone, excluded, renamed away, orphan) is planned once the writes are done and weighed as
  one total before the first DELETE: too many raises :class:`~syncd.errors.SafetyStop` with
  nothing deleted (see :mod:`syncd.deletes`). The writes of that run stay: they only make
  pages equal to their source.
* A document that fails (fetch, render, or a 4xx from Intercom) is recorded with its error and
  fetched again next run; the others go on.
* Each document is recorded once its write succeeded, in small batches (see
  :mod:`syncd.tracker`); a first write's external id is committed before it is sent.
* Fetching and rendering run in the calling thread (connectors need not be thread-safe);
  writes run on a pool of ``max_concurrency`` threads sharing the publisher's rate budget.
* The stop event is honoured between documents: writes in flight finish and are recorded.

Which document publishes under which external id is decided by :mod:`syncd.claims`; pages
are removed, behind the safety stop, by :mod:`syncd.deletes`.

An *incremental run* (``SyncOptions.only``, a trigger's change set) looks up just the named
documents instead of listing the source, and counts every other tracked document as still
listed and current: it deletes only documents named deleted that the lookup confirms gone
(behind the same safety stop), and leaves every other row as it was, so the next full run
compares against what the last full listing saw. See :mod:`syncd.freshness` for the
change-to-write time measured on each write.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Iterable

import structlog

from syncd import content, metrics
from syncd.claims import ClaimConflict, Claims
from syncd.config import SourceConfig
from syncd.connectors.base import (
    ChangeSet,
    Connector,
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    DocumentTooLarge,
    SourceUnavailable,
)
from syncd.deletes import Deletions, Removal, uncertain
from syncd.errors import ExitCode, Interrupted, SafetyStop, SyncdError
from syncd.freshness import Freshness
from syncd.plan import PlanItem, RunReport, text_diff
from syncd.progress import NullProgress, Progress
from syncd.publisher import PageRejected, Publisher, RequestInterrupted
from syncd.tracker import Known, Tracker

log = structlog.get_logger(__name__)

_VERSION_BATCH = 500
#: The largest rendered page sent (bytes of HTML), unless ``intercom.max_page_bytes`` says
#: otherwise: far above real pages, and a bound on what one page costs in memory.
DEFAULT_MAX_PAGE_BYTES = 2_000_000
STILL_TOO_LARGE = "still too large at this version; fetched again once it changes"


def too_large(size: int, limit: int) -> str:
    """Why a rendered page was not sent."""
    return (
        f"page too large: {size / 1e6:.1f} MB of HTML once rendered, over the limit of"
        f" {limit / 1e6:.1f} MB (intercom.max_page_bytes); split the page, or raise the limit"
    )


# Writes are handed to the pool in batches whose first-write intents are committed together.
_WRITE_BATCH = 32

# The listing, ref id -> version, in the connector's order. The version of a document that
# needs no fetch (found by the diff) or was fetched is set to None: membership is all the rest
# of the run asks, and a large run then holds one string per document, not three.
Listing = dict[str, str | None]


@dataclasses.dataclass(frozen=True, slots=True)
class SyncOptions:
    """How a run treats what it finds."""

    full_resync: bool = False
    dry_run: bool = False
    allow_mass_delete: bool = False
    only: ChangeSet | None = None  # an incremental run of these documents (see the docstring)


@dataclasses.dataclass(frozen=True, slots=True)
class _Write:
    ref: DocumentRef
    payload: content.Payload
    digest: str
    action: str
    replaces: str | None  # ref id of a renamed-away row whose page this write takes over
    stale: tuple[str, str] | None  # (old external id, its page) this document moved away from
    pending: bool  # no page id is known yet: record the intent before sending
    changed_at: float | None  # when the source changed the document (Document.changed_at)


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
        # Asked once: a decision per document is logged only at DEBUG, and a no-op run of a
        # large source should not build 100,000 events to throw them away.
        self._debug = logging.getLogger(__name__).isEnabledFor(logging.DEBUG)
        self._source_id: int | None = tracker.intercom_source_id
        self._inflight: dict[cf.Future[str], _Write] = {}
        # Writes put themselves here when done: waiting on this queue is O(1) per write,
        # where concurrent.futures.wait installs a waiter on every future in flight each time.
        self._finished: queue.SimpleQueue[cf.Future[str]] = queue.SimpleQueue()
        self._versions: list[tuple[str, str]] = []
        self.claims = Claims(
            failed=lambda ref_id: any(r == ref_id for r, _ in self.report.failures)
        )
        # Pages a document left behind (its external id changed, or it became excluded). They
        # are removed after every write, unless another document took their external id over.
        self._left_behind: list[Removal] = []
        self._fatal: BaseException | None = None
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
            count=self._count,
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
            if fingerprint is not None and self._listing_unchanged(fingerprint):
                return self.report
            listed = self._list()
            self.report.listed = len(listed)
            fetching, known, gone, held = self._diff(listed)
            self.progress.start(self.source.name, fetching + len(gone))
            if self._must_contact_intercom(fetching, gone):
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
                self._remove(gone, held, listed, remote)
            else:
                self.deletes.keep(self._left_behind)
        finally:
            self._flush_versions()
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

    def _listing_unchanged(self, fingerprint: str) -> bool:
        """Whether the source is as the last complete run left it; forget it when it is not."""
        if (
            fingerprint == self.tracker.fingerprint
            and not self.options.full_resync
            and not self._rerender
            and self.tracker.url == self.source.url
            and self.tracker.status == self.source.status
        ):
            # As a listing would count them: each listed document unchanged or excluded.
            held, excluded = self.tracker.documents_held(), self.tracker.documents_excluded()
            self.report.listed = held
            self._count_many("unchanged", held - excluded)
            self._count_many("excluded", excluded)
            self.log.info("sync.listing_unchanged", fingerprint=fingerprint)
            return True
        if self.tracker.fingerprint is not None and not self.options.dry_run:
            # Forgotten before anything changes: a run cut short must not be taken for a
            # complete one if the source goes back to the stored listing (a force-push back).
            self.tracker.set_fingerprint(None)
        return False

    def _remove(
        self, gone: list[Known], held: int, listed: Listing, remote: dict[str, str]
    ) -> None:
        """Plan every removal of the run, weigh the total, then remove (see syncd.deletes)."""
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

    def _list(self) -> Listing:
        """The complete listing (see :data:`Listing`), or the named documents' refs."""
        try:
            only = self.options.only
            if only is not None and not only.everything:
                refs = self.connector.lookup(sorted(only.named))
                if refs is not None:
                    found: Listing = {ref.id: ref.version for ref in refs}
                    self._deleted = only.deleted - found.keys()
                    return found
                self.log.info("sync.lookup_unsupported", connector=self.source.connector)
            return {ref.id: ref.version for ref in self.connector.list()}
        except SourceUnavailable:
            raise
        except OSError as exc:
            raise SourceUnavailable(f"cannot list the source: {exc}") from exc

    def _diff(self, listed: Listing) -> tuple[int, dict[str, Known], list[Known], int]:
        """Mark current documents in ``listed``; count to fetch, their rows, gone rows, held.

        The tracker's rows are streamed and only those that need work are kept: a run where
        little changed holds the listing, not a second copy of the source.
        """
        fetching = len(listed)
        known: dict[str, Known] = {}
        gone: list[Known] = []
        held = 0
        current = {"unchanged": 0, "excluded": 0}  # listed, and nothing to fetch
        for row in self.tracker.iter_known():
            held += row.page_id is not None
            if row.ref_id not in listed:
                if self._deleted is not None and row.ref_id not in self._deleted:
                    listed[row.ref_id] = None  # not named: still there, and current
                    continue
                gone.append(row)
                continue
            version = listed[row.ref_id]
            if version is not None and self._needs_fetch(version, row):
                known[row.ref_id] = row
            elif version is not None:
                listed[row.ref_id] = None  # current: nothing to fetch
                fetching -= 1
                if row.failed_version == version:  # still failing, known without a fetch
                    self.report.failures.append((row.ref_id, STILL_TOO_LARGE))
                    current["failed"] = current.get("failed", 0) + 1
                    continue
                current["excluded" if row.excluded else "unchanged"] += 1
                if self._debug:
                    self.log.debug("document.unchanged", ref=row.ref_id, by="version")
        for outcome, count in current.items():
            self._count_many(outcome, count)
        return fetching, known, gone, held

    def _needs_fetch(self, version: str, known: Known) -> bool:
        if known.failed_version == version and not self.options.full_resync:
            return False  # too large at this version: fetched again once it changes
        if self.options.full_resync or self._rerender or known.failed or known.version != version:
            return True
        return known.page_id is None and not known.excluded

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
        pool = cf.ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="publish")
        batch: list[_Write] = []
        try:
            for ref in to_fetch:
                if self.stop.is_set() or self._fatal is not None:
                    break
                listed[ref.id] = None  # the ref holds the version now (see Listing)
                row = known.get(ref.id)
                document = self._fetch(ref, row)
                if row is not None:
                    # Only a tracked document can hold an external id another one wants.
                    self.claims.settle(ref.id)
                if document is None:
                    continue
                write = self._prepare(ref, row, document, by_external, listed, remote)
                batch = self._queue(pool, batch, write)
            for ref, document in self.claims.deferred:
                if self.stop.is_set() or self._fatal is not None:
                    break
                write = self._prepare(
                    ref, known.get(ref.id), document, by_external, listed, remote, final=True
                )
                batch = self._queue(pool, batch, write)
            if self._fatal is None:
                self._submit(pool, batch)
            self._drain(everything=True)
            self.tracker.flush()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if self._fatal is not None:
            raise self._fatal

    def _queue(
        self, pool: cf.ThreadPoolExecutor, batch: list[_Write], write: _Write | None
    ) -> list[_Write]:
        if write is None or self.options.dry_run:
            return batch
        batch.append(write)
        if len(batch) < max(self.max_concurrency, _WRITE_BATCH):
            return batch
        self._submit(pool, batch)
        return []

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
    ) -> _Write | None:
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
            self._fail(ref.id, str(exc))
            return None
        if external_id is None:
            return None
        takeover = owner is not None and owner.ref_id != ref.id
        # A renamed document's old row goes; a row still listed keeps its own document.
        replaces = (
            owner.ref_id if owner is not None and takeover and owner.ref_id not in listed else None
        )
        payload = self._render(ref, document, external_id)
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
            self._unchanged(ref)
            return None
        action = "update" if published or external_id in remote else "create"
        if self.options.dry_run:
            self._plan(action, ref, payload, previous, known)
            return None
        pending = not takeover and (known is None or known.page_id is None)
        return _Write(ref, payload, digest, action, replaces, stale, pending, document.changed_at)

    def _render(
        self, ref: DocumentRef, document: Document, external_id: str
    ) -> content.Payload | None:
        """The payload of a document, or None when it failed (cannot render, too large)."""
        try:
            payload = content.render(
                document,
                external_id=external_id,
                ai_agent_availability=self.source.ai_agent_availability,
                ai_copilot_availability=self.source.ai_copilot_availability,
            )
        except Exception as exc:
            self._fail(ref.id, f"cannot render: {type(exc).__name__}: {exc}")
            return None
        if (size := len(payload.html.encode())) > self.max_page_bytes:
            self._fail(ref.id, too_large(size, self.max_page_bytes), final_version=ref.version)
            return None
        return payload

    def _submit(self, pool: cf.ThreadPoolExecutor, batch: list[_Write]) -> None:
        # The intent is committed before the request leaves: if the process dies after
        # Intercom created the page but before its id was recorded, the next run knows the
        # external id and can find the page again instead of leaving it orphaned.
        pending = [(w.ref.id, w.payload.external_id) for w in batch if w.pending]
        if pending:
            self.tracker.record_pending(pending)
        for write in batch:
            future = pool.submit(self._upsert, write)
            self._inflight[future] = write
            future.add_done_callback(self._finished.put)
            if len(self._inflight) >= 2 * self.max_concurrency:
                self._drain(everything=False)

    def _fetch(self, ref: DocumentRef, known: Known | None) -> Document | None:
        try:
            return self.connector.fetch(ref)
        except DocumentExcluded as exc:
            self._exclude(ref, known, exc)
        except DocumentTooLarge as exc:
            self._fail(ref.id, str(exc), final_version=ref.version)
        except DocumentError as exc:
            self._fail(ref.id, str(exc))
        except Interrupted:
            pass  # the run is stopping (see syncd.deadline); the next run fetches it
        except Exception as exc:  # a connector bug must fail its document, not the run
            self.log.exception("document.fetch_crashed", ref=ref.id)
            self._fail(ref.id, f"{type(exc).__name__}: {exc}")
        return None

    def _upsert(self, write: _Write) -> str:
        assert self._source_id is not None
        return self.publisher.upsert_page(source_id=self._source_id, payload=write.payload)

    def _drain(self, *, everything: bool) -> None:
        """Record finished writes: at least one and those already done, or all of them."""
        while self._inflight:
            future = self._finished.get()
            write = self._inflight.pop(future, None)
            if write is not None:  # else cancelled after a fatal error, and forgotten
                self._record(future, write)
            if not everything and self._finished.empty():
                break
        if self._fatal is not None:
            for future in list(self._inflight):
                if future.cancel():  # not started: forget it; running ones finish and count
                    del self._inflight[future]

    def _record(self, future: cf.Future[str], write: _Write) -> None:
        try:
            page_id = future.result()
        except PageRejected as exc:
            self._fail(write.ref.id, f"Intercom rejected the page: {exc}")
            return
        except RequestInterrupted:
            return  # the run is stopping; the next one sends it again
        except SyncdError as exc:
            # Auth refused or Intercom down: every other write would fail the same way.
            self._fatal = self._fatal or exc
            return
        self.tracker.record_written(
            write.ref.id,
            external_id=write.payload.external_id,
            version=write.ref.version,
            payload_hash=write.digest,
            page_id=page_id,
            title=write.payload.title,
            replaces=write.replaces,
        )
        if write.stale is not None:
            old_external_id, old_page = write.stale
            self._left_behind.append(Removal("renamed", write.ref.id, old_external_id, old_page))
        self.freshness.written(write.changed_at)
        created = write.action == "create"
        if self._debug:
            event = "document.created" if created else "document.updated"
            self.log.debug(event, ref=write.ref.id, page=page_id)
        self._count("created" if created else "updated")

    # -- outcomes --------------------------------------------------------------------------

    def _count(self, outcome: str) -> None:
        setattr(self.report, outcome, getattr(self.report, outcome) + 1)
        if not self.options.dry_run:
            metrics.DOCUMENTS.labels(self.source.name, outcome).inc()
        self.progress.advance(self.source.name, outcome)

    def _count_many(self, outcome: str, count: int) -> None:
        """Documents settled without work (not shown as progress: there was none)."""
        if count:
            setattr(self.report, outcome, getattr(self.report, outcome) + count)
            if not self.options.dry_run:
                metrics.DOCUMENTS.labels(self.source.name, outcome).inc(count)

    def _changed(self, old: str | None, new: str) -> str:
        """The dry-run reason of a re-versioned document, in the connector's words."""
        described = None
        if old is not None:
            try:
                described = self.connector.describe_change(old, new)
            except Exception:  # a wording is never worth failing a plan over
                self.log.debug("document.describe_change_failed", exc_info=True)
        return f"content changed ({described or 'new version at the source'})"

    def _failed(self, ref_id: str) -> bool:
        return any(r == ref_id for r, _ in self.report.failures)

    def _fail(self, ref_id: str, error: str, *, final_version: str | None = None) -> None:
        self.log.warning("document.failed", ref=ref_id, error=error)
        self.report.failures.append((ref_id, error))
        if not self.options.dry_run:
            self.tracker.record_failed(ref_id, error, final_version=final_version)
        self._count("failed")

    def _unchanged(self, ref: DocumentRef) -> None:
        if self._debug:
            self.log.debug("document.unchanged", ref=ref.id, by="hash", version=ref.version)
        if not self.options.dry_run:
            self._versions.append((ref.id, ref.version))
            if len(self._versions) >= _VERSION_BATCH:
                self._flush_versions()
        self._count("unchanged")

    def _flush_versions(self) -> None:
        if self._versions and not self.options.dry_run:
            self.tracker.record_versions(self._versions)
        self._versions = []

    def _exclude(self, ref: DocumentRef, known: Known | None, why: DocumentExcluded) -> None:
        reason = why.reason
        if self._debug:
            self.log.debug("document.excluded", ref=ref.id, reason=str(why))
        if known is not None and known.page_id:
            # Its page goes behind the safety stop with every other removal; the document is
            # recorded as excluded once the page is gone (see syncd.deletes).
            self._left_behind.append(
                Removal("excluded", ref.id, known.external_id, known.page_id, reason, ref.version)
            )
        elif not self.options.dry_run:
            self.tracker.record_excluded(ref.id, ref.version)
        self._count("excluded")

    def _plan(
        self,
        action: str,
        ref: DocumentRef,
        payload: content.Payload,
        previous: Known | None,
        known: Known | None,
    ) -> None:
        if known is None:
            reason = "new document"
        elif self.options.full_resync:
            reason = "full resync"
        elif known.failed:
            reason = "previous attempt failed"
        elif known.version != ref.version:
            reason = self._changed(known.version, ref.version)
        elif self._rerender:
            reason = f"rendering changed (converter version {content.CONVERTER_VERSION})"
        else:
            reason = "not published yet"
        diff = None
        if action == "update" and previous is not None and previous.page_id:
            old_html = self.publisher.get_page_html(previous.page_id)
            if old_html is not None:
                diff = text_diff(
                    content.html_to_text(old_html),
                    content.html_to_text(payload.html),
                    name=payload.title,
                )
        if self._debug:
            self.log.debug("document.planned", ref=ref.id, action=action, reason=reason)
        self.report.plan.append(
            PlanItem(
                "create" if action == "create" else "update",
                ref.id,
                payload.external_id,
                payload.title,
                reason,
                diff,
            )
        )
        self._count("created" if action == "create" else "updated")
