"""The run context: one run of one source, as every part of the run sees it.

run context
    What a run of one source reads and fills, built once by :class:`~syncd.sync.engine.SourceSync`
    and handed whole to each part of the run (listing, fetching, writes, deletes, the dry-run
    plan): the source's configuration and the run's options, its connector, tracker and
    publisher, the stop event, the report and the outcome counters, the log, and what the run
    learns on its way (the Content Import Source, the listing, the pages left behind).

*Settling* a document records its outcome where it belongs: a failure is logged, kept in the
report and, outside a dry run, in the tracker so the document is fetched again next run, then
counted (:meth:`RunContext.fail`); an unchanged document has its new version recorded, in batches
(:meth:`RunContext.unchanged`). Counting alone is :class:`~syncd.sync.outcomes.Outcomes`'.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import TYPE_CHECKING, Any

import structlog

from syncd.config.loading import SourceConfig
from syncd.connectors.base import ChangeSet, Connector, DocumentRef
from syncd.publisher import Publisher
from syncd.render import content
from syncd.state.freshness import Freshness
from syncd.state.tracker import Tracker
from syncd.sync.claims import Claims
from syncd.sync.drift import Drift
from syncd.sync.outcomes import Outcomes
from syncd.sync.plan import RunReport
from syncd.sync.progress import NullProgress, Progress

if TYPE_CHECKING:
    from syncd.sync.deletes import Removal
    from syncd.sync.listing import Listing

# A run's events are the engine's, whichever part logs them: log filters select them by name.
_LOGGER = "syncd.sync.engine"
log = structlog.get_logger(_LOGGER)

#: The largest rendered page sent (bytes of HTML), unless ``intercom.max_page_bytes`` says
#: otherwise: far above real pages, and a bound on what one page costs in memory.
DEFAULT_MAX_PAGE_BYTES = 2_000_000

# Versions of unchanged documents are recorded this many at a time.
_VERSION_BATCH = 500


@dataclasses.dataclass(frozen=True, slots=True)
class SyncOptions:
    """How a run treats what it finds."""

    full_resync: bool = False
    dry_run: bool = False
    allow_mass_delete: bool = False
    only: ChangeSet | None = None  # an incremental run of these documents (see syncd.sync.engine)
    reconcile: bool = False  # compare Intercom's pages with the tracker (syncd.sync.drift)


class RunContext:
    """One run of one source (see the module docstring); the parts read it and fill it."""

    def __init__(
        self,
        *,
        source: SourceConfig,
        options: SyncOptions,
        connector: Connector,
        tracker: Tracker,
        publisher: Publisher,
        max_concurrency: int,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES,
    ) -> None:
        self.source = source
        self.options = options
        #: This run only plans: nothing is sent to Intercom or recorded.
        self.dry_run = options.dry_run
        #: Every document is fetched and sent again, and orphans are looked for.
        self.full_resync = options.full_resync
        #: Intercom's pages of the source are listed: lost ones sent again, orphans removed.
        self.reconciling = options.full_resync or options.reconcile
        self.connector = connector
        self.tracker = tracker
        self.publisher = publisher
        self.max_concurrency = max_concurrency
        self.max_page_bytes = max_page_bytes
        self.stop = stop or threading.Event()
        self.progress: Progress = progress or NullProgress()
        self.report = RunReport(source=source.name, dry_run=options.dry_run)
        self.log: Any = log.bind(source=source.name)
        # Asked once: a decision per document is logged only at DEBUG, and a no-op run of a
        # large source should not build 100,000 events to throw them away.
        self.debug = logging.getLogger(_LOGGER).isEnabledFor(logging.DEBUG)
        self.outcomes = Outcomes(
            source=source.name, report=self.report, progress=self.progress, dry_run=self.dry_run
        )
        self.freshness = Freshness(source.name, tracker, recording=not self.dry_run)
        # Pages published by another renderer are rendered again, whatever their versions.
        self.rerender = tracker.converter_version != content.CONVERTER_VERSION
        #: Our Content Import Source in Intercom, once known (or made).
        self.source_id: int | None = tracker.intercom_source_id
        #: The listing, once made (see syncd.sync.listing).
        self.listed: Listing = {}
        #: Which document publishes under which external id (see syncd.sync.claims).
        self.claims = Claims(failed=self.outcomes.failed)
        #: What this run found lost in Intercom, and so restores (see syncd.sync.drift).
        self.drift = Drift(tracker, self.log)
        #: On a reconciling run, our source's pages in Intercom (external id -> page id).
        self.remote: dict[str, str] = {}
        #: The ref ids an incremental run may delete: named deleted, and not found by lookup.
        #: None on a full run.
        self.deleted: frozenset[str] | None = None
        #: Pages a document left behind (its external id changed, or it became excluded).
        #: They are removed after every write, unless another document took their id over.
        self.left_behind: list[Removal] = []
        self._versions: list[tuple[str, str]] = []

    @property
    def incremental(self) -> bool:
        """Whether this run syncs only the documents a change set named."""
        return self.deleted is not None

    # -- settling a document ---------------------------------------------------------------

    def fail(
        self, ref_id: str, error: str, *, final_version: str | None = None, title: str | None = None
    ) -> None:
        """The document failed with ``error``; ``final_version`` is not fetched again."""
        self.log.warning("document.failed", ref=ref_id, error=error)
        self.report.failures.append((ref_id, error))
        if not self.dry_run:
            self.tracker.record_failed(ref_id, error, final_version=final_version, title=title)
        self.outcomes.count("failed")

    def unchanged(self, ref: DocumentRef) -> None:
        """The rendered document equals its published page: only its version is recorded."""
        if self.debug:
            self.log.debug("document.unchanged", ref=ref.id, by="hash", version=ref.version)
        if not self.dry_run:
            self._versions.append((ref.id, ref.version))
            if len(self._versions) >= _VERSION_BATCH:
                self.flush_versions()
        self.outcomes.count("unchanged")

    def flush_versions(self) -> None:
        """Record the versions of unchanged documents not recorded yet."""
        if self._versions and not self.dry_run:
            self.tracker.record_versions(self._versions)
        self._versions = []

    def flush(self) -> None:
        """Record everything buffered: versions, written pages, freshness measures."""
        self.flush_versions()
        self.tracker.flush()
        self.freshness.save()
