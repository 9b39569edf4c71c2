"""Deletes: the half of a run that removes pages, and the safety stop that guards it.

Kinds of page a run deletes:

gone
    Its document is no longer listed. Only a complete listing gets here (a failed listing
    raises before the diff), and a page whose external id a renamed document took over stays.

uncertain
    A gone document whose last first-write was interrupted: the intent (external id) was
    recorded, the page id was not. Intercom's page list tells whether the page exists.

stale
    A page its document left behind this run: the document moved to another external id, or
    became a draft. Deleted once every write is done, unless another document took the
    external id over.

orphan
    On a full resync only: a page in our Content Import Source that no listed document claims.

The safety stop (:meth:`Deletions.check`) refuses a run that would delete more than
``max_delete_fraction`` of the pages held, or any page when the source lists nothing, and
raises :class:`~syncd.errors.SafetyStop` before anything is deleted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping

import structlog

from syncd.config import SourceConfig
from syncd.errors import SafetyStop
from syncd.plan import PlanItem, RunReport
from syncd.publisher import Publisher
from syncd.tracker import Known, Tracker

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Stale:
    """A page its document left behind this run (see the module docstring)."""

    external_id: str
    page_id: str
    excluded_ref: str | None = None  # the draft that left this page behind, if one did
    version: str | None = None


def uncertain(known: Known) -> bool:
    """A row whose page may exist in Intercom although no page id was recorded."""
    return known.page_id is None and known.external_id is not None and not known.excluded


class Deletions:
    """Deletes pages for one run of one source, in Intercom and in the tracker.

    ``count`` is the run's outcome counter (report, metrics, progress); with ``dry_run``
    every delete becomes a plan item and nothing is sent or recorded.
    """

    def __init__(
        self,
        *,
        source: SourceConfig,
        tracker: Tracker,
        publisher: Publisher,
        report: RunReport,
        count: Callable[[str], None],
        dry_run: bool,
        allow_mass_delete: bool,
    ) -> None:
        self.source = source
        self.tracker = tracker
        self.publisher = publisher
        self.report = report
        self.count = count
        self.dry_run = dry_run
        self.allow_mass_delete = allow_mass_delete

    def check(self, *, held: int, deleting: int, listed: int, what: str) -> None:
        """Raise SafetyStop when deleting ``deleting`` of ``held`` pages is too many."""
        if self.allow_mass_delete or deleting == 0:
            return
        limit = self.source.max_delete_fraction
        if listed == 0 and held > 0:
            reason = f"it lists no documents but {held} pages are published"
        elif deleting > limit * held:
            reason = (
                f"it would delete {deleting} of {held} pages ({what}), more than "
                f"max_delete_fraction {limit:.0%}"
            )
        else:
            return
        raise SafetyStop(
            f"source {self.source.name!r}: refusing to delete: {reason}; nothing was deleted. "
            "If this is intended, run again with --allow-mass-delete"
        )

    def gone(self, gone: list[Known], claimed: Mapping[str, str], source_id: int | None) -> None:
        """Delete the pages of documents no longer listed; ``claimed`` maps external ids
        written this run to their documents."""
        unsure = []
        for known in gone:
            taker = claimed.get(known.external_id or "")
            if taker is not None and taker != known.ref_id:
                continue  # a renamed document took this page over
            if uncertain(known):
                unsure.append(known)
                continue
            self._delete(known.ref_id, known.page_id, known.external_id, "gone from the source")
        if unsure:
            self._gone_uncertain(unsure, claimed, source_id)

    def _gone_uncertain(
        self, unsure: list[Known], claimed: Mapping[str, str], source_id: int | None
    ) -> None:
        why = "gone from the source (its last write was interrupted)"
        if self.dry_run:
            for known in unsure:
                self.report.plan.append(
                    PlanItem("delete", known.ref_id, known.external_id, None, why)
                )
            return
        remote = self.remote_pages(source_id)
        for known in unsure:
            page_id = remote.get(known.external_id or "")
            if page_id is not None and known.external_id not in claimed:
                self._delete(known.ref_id, page_id, known.external_id, why)
            else:
                self.tracker.record_deleted(known.ref_id)

    def stale(self, stale: list[Stale], claimed: Mapping[str, str]) -> None:
        """Delete pages documents left behind, unless another document took them over."""
        for page in stale:
            if page.external_id not in claimed:
                self.publisher.delete_page(page.page_id)
            if page.excluded_ref is not None and page.version is not None:
                self.tracker.record_excluded(page.excluded_ref, page.version)

    def orphans(
        self, remote: Mapping[str, str], listed: Collection[str], claimed: Mapping[str, str]
    ) -> None:
        """Full resync: delete pages of our source that no listed document claims."""
        if self.report.failed:
            # A failed document's external id may be one we cannot see; deleting on a guess
            # could remove a page that still exists at the source.
            log.warning(
                "resync.orphans_skipped",
                source=self.source.name,
                reason="documents failed this run",
            )
            return
        ours = set(claimed) | {
            k.external_id for k in self.tracker.iter_known() if k.external_id and k.ref_id in listed
        }
        orphans = {ext: page for ext, page in remote.items() if ext not in ours}
        self.check(
            held=len(remote),
            deleting=len(orphans),
            listed=len(listed),
            what="pages in Intercom that no longer exist at the source",
        )
        for external_id, page_id in sorted(orphans.items()):
            if self.dry_run:
                self.report.plan.append(
                    PlanItem("delete", external_id, external_id, None, "orphan in Intercom")
                )
            else:
                self.publisher.delete_page(page_id)
            self.count("deleted")

    def remote_pages(self, source_id: int | None) -> dict[str, str]:
        """Our Content Import Source's pages in Intercom: external id -> page id."""
        if source_id is None:
            return {}
        pages = self.publisher.list_pages(source_id)
        return {page.external_id: page.id for page in pages if page.external_id is not None}

    def _delete(self, ref_id: str, page_id: str | None, external_id: str | None, why: str) -> None:
        if page_id is None:
            if not self.dry_run:
                self.tracker.record_deleted(ref_id)
            return
        if self.dry_run:
            self.report.plan.append(PlanItem("delete", ref_id, external_id, None, why))
        else:
            self.publisher.delete_page(page_id)
            self.tracker.record_deleted(ref_id)
        self.count("deleted")
