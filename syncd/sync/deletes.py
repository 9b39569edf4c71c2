"""Deletes: the half of a run that removes pages, and the safety stop that guards it.

A *removal* is any page that exists in Intercom and that a run takes away, whatever the
reason. Its kind:

gone
    Its document is no longer listed. Only a complete listing gets here (a failed listing
    raises before the diff), and a page whose external id a renamed document took over stays.
    A gone document whose last first write was interrupted (the external id was recorded, the
    page id was not) is looked up in Intercom's page list first.

excluded
    Its document is still listed but must not be published any more: a draft, ``unlisted``,
    ``sync: false``, a file with nothing to publish (an empty or 0-byte file), a page in an
    excluded category. The reason is the connector's (``excluded: draft``, ``excluded: empty``).

renamed
    Its document moved to another external id this run, and the old page stays behind.

orphan
    On a full resync only: a page in our Content Import Source that no listed document claims.

Every removal of a run is planned first, once every write is done, and counted in one total
that the safety stop (:meth:`Deletions.check`) weighs *before the first DELETE is sent*. The
stop refuses the run, raising :class:`~syncd.errors.SafetyStop` with nothing deleted, when:

* the source lists no document while pages are held, or the run would remove every page held
  (the empty-source stop: it applies whatever the counts), or
* the run removes more than ``delete_allowance`` pages *and* more than
  ``max_delete_fraction`` of the pages held, counting with this run's removals the pages the
  source's runs deleted within :data:`~syncd.state.history.DELETION_WINDOW` (an hour) and
  with the pages held those they deleted: files removed one by one under ``watch`` (24 runs of
  one deletion each) are refused as removing them at once is.

``--allow-mass-delete`` lifts both, and the window counts from the last run it let through.
Removals are tallied by reason (``gone``,
``excluded: draft``, ``renamed``, ``orphan``) in the run report, the ``runs`` row, the
``syncd_pages_deleted`` metric and the dry-run plan.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
from collections import Counter
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Literal

import structlog

from syncd import metrics
from syncd.errors import Interrupted, SafetyStop
from syncd.publisher import RequestInterrupted
from syncd.state.history import DELETION_WINDOW
from syncd.state.models import utcnow
from syncd.state.tracker import Known
from syncd.sync.plan import PlanItem, describe_tally, ordered, plural

if TYPE_CHECKING:
    from syncd.sync.context import RunContext

log = structlog.get_logger(__name__)

Kind = Literal["gone", "excluded", "renamed", "orphan"]


@dataclasses.dataclass(frozen=True, slots=True)
class Removal:
    """One page a run takes out of Intercom, or a page left behind that may be (see above).

    ``page_id`` is None only for a gone document whose last write was interrupted, until its
    page is looked up. ``version`` is set for an excluded document: it is recorded as excluded
    at that version once its page is gone.
    """

    kind: Kind
    ref_id: str
    external_id: str | None
    page_id: str | None
    detail: str | None = None  # excluded: the connector's short reason ("draft", "empty")
    version: str | None = None

    @property
    def reason(self) -> str:
        """The short reason removals are tallied by: ``gone``, ``excluded: draft``, ..."""
        if self.kind == "excluded":
            return f"excluded: {self.detail}" if self.detail else "excluded"
        return self.kind

    def describe(self) -> str:
        """The reason in words, for the plan and the logs."""
        if self.kind == "gone":
            if self.page_id is None:
                return "gone from the source (its last write was interrupted)"
            return "gone from the source"
        if self.kind == "renamed":
            return "its document now publishes under another external id"
        if self.kind == "orphan":
            return "orphan in Intercom: no listed document claims it"
        return self.reason


def uncertain(known: Known) -> bool:
    """A row whose page may exist in Intercom although no page id was recorded."""
    return known.page_id is None and known.external_id is not None and not known.excluded


class Deletions:
    """Plans, guards and makes the removals of one run of one source.

    Every outcome is counted with the run's; on a dry run every removal becomes a plan item
    and nothing is sent or recorded.
    """

    def __init__(self, run: RunContext) -> None:
        self.run = run

    def remove(self, gone: list[Known], held: int) -> None:
        """Plan every removal of the run, weigh the total, then remove (see the docstring).

        ``gone``: the rows of documents no longer listed; ``held``: the pages held before the
        run. Raises :class:`~syncd.errors.SafetyStop` with nothing deleted when too many go.
        """
        run = self.run
        removals = self.plan(gone)
        run.left_behind = []
        # On a full resync Intercom's page list is the truth about what exists.
        held = max(held, len(run.remote))
        listed = len(run.listed)
        if run.dry_run:
            # The plan shows every removal, and then that the run would be refused.
            self.apply(removals)
            self.check(held=held, removals=removals, listed=listed)
        else:
            try:
                self.check(held=held, removals=removals, listed=listed)
            except SafetyStop:
                self.keep(removals)
                raise
            self.apply(removals)

    # -- the safety stop -------------------------------------------------------------------

    def check(self, *, held: int, removals: Collection[Removal], listed: int) -> None:
        """Raise SafetyStop when taking ``removals`` out of ``held`` pages is too many."""
        deleting = len(removals)
        if deleting == 0:
            return
        if self.run.options.allow_mass_delete:
            if not self.run.dry_run:
                self.run.tracker.allow_mass_delete()  # the operator's yes ends the window
            return
        fraction = self.run.source.max_delete_fraction
        allowance = self.run.source.delete_allowance
        why = describe_tally(ordered(Counter(r.reason for r in removals)))
        recent = self.run.tracker.deleted_since(utcnow() - DELETION_WINDOW)
        total, base = deleting + recent, held + recent
        if listed == 0 and held > 0:
            are = "is" if held == 1 else "are"
            reason = f"it lists no documents but {plural(held, 'page')} {are} published"
        elif held > 0 and deleting >= held:
            reason = f"it would delete every page it holds ({deleting}: {why})"
        elif total > allowance and total > fraction * base:
            earlier = (
                f", {total} of {base} within the last hour with the {recent} earlier runs deleted"
                if recent
                else ""
            )
            reason = (
                f"it would delete {deleting} of {held} pages ({why}){earlier}, more than "
                f"max_delete_fraction {fraction:.0%} and more than delete_allowance {allowance}"
            )
        else:
            return
        raise SafetyStop(
            f"source {self.run.source.name!r}: refusing to delete: {reason}; nothing was deleted. "
            "If this is intended, run again with --allow-mass-delete"
        )

    # -- planning --------------------------------------------------------------------------

    def plan(self, gone: Iterable[Known]) -> list[Removal]:
        """Every page this run removes, with its reason; nothing is sent or recorded here.

        ``gone`` are the rows of documents no longer listed; the pages left behind come from
        the run, and so do the external ids claimed this run and, on a full resync, our
        source's pages in Intercom. Rows of gone documents that hold no page are forgotten
        here (there is nothing to remove), and a left-behind page another document took over
        stays.
        """
        run = self.run
        claimed = run.claims.taken
        removals: list[Removal] = []
        unsure: list[Known] = []
        for known in gone:
            taker = claimed.get(known.external_id or "")
            if taker is not None and taker != known.ref_id:
                continue  # a renamed document took this page over
            if uncertain(known):
                unsure.append(known)
            elif known.page_id is not None:
                removals.append(Removal("gone", known.ref_id, known.external_id, known.page_id))
            elif not run.dry_run:
                run.tracker.record_deleted(known.ref_id)
        if unsure:
            removals.extend(self._uncertain(unsure))
        for page in run.left_behind:
            if page.external_id not in claimed:
                removals.append(page)
            elif page.kind == "excluded" and page.version is not None and not run.dry_run:
                # Another document publishes under this external id now: the page is its.
                run.tracker.record_excluded(page.ref_id, page.version)
        if run.reconciling:
            removals.extend(self._orphans(removals))
        return removals

    def _uncertain(self, unsure: list[Known]) -> list[Removal]:
        run = self.run
        if run.dry_run:  # a dry run does not look: it says what it would check
            return [Removal("gone", k.ref_id, k.external_id, None) for k in unsure]
        pages = run.remote if run.reconciling else self.remote_pages()
        found = []
        for known in unsure:
            page_id = pages.get(known.external_id or "")
            if page_id is not None and known.external_id not in run.claims.taken:
                found.append(Removal("gone", known.ref_id, known.external_id, page_id))
            else:
                run.tracker.record_deleted(known.ref_id)
        return found

    def _orphans(self, planned: list[Removal]) -> list[Removal]:
        run = self.run
        if run.report.failed:
            # A failed document's external id may be one we cannot see; deleting on a guess
            # could remove a page that still exists at the source.
            log.warning(
                "resync.orphans_skipped",
                source=run.source.name,
                reason="documents failed this run",
            )
            return []
        claimed = run.claims.taken
        ours = set(claimed) | {
            k.external_id
            for k in run.tracker.iter_known()
            if k.external_id and k.ref_id in run.listed
        }
        already = {r.page_id for r in planned} | {r.external_id for r in planned}
        return [
            Removal("orphan", external_id, external_id, page_id)
            for external_id, page_id in sorted(run.remote.items())
            if external_id not in ours and page_id not in already and external_id not in already
        ]

    def remote_pages(self) -> dict[str, str]:
        """Our Content Import Source's pages in Intercom: external id -> page id."""
        if self.run.source_id is None:
            return {}
        pages = self.run.publisher.list_pages(self.run.source_id)
        return {page.external_id: page.id for page in pages if page.external_id is not None}

    def keep(self, removals: Iterable[Removal]) -> None:
        """Track the pages renamed documents left behind, when this run does not remove them.

        A run refused by the safety stop, or stopped early, would otherwise forget them: the
        document's row already names its new page. Each is kept as a row of its own that no
        listing names, so a later run removes it as gone, behind the safety stop again.
        """
        if self.run.dry_run:
            return
        for removal in removals:
            if removal.kind == "renamed" and removal.page_id and removal.external_id:
                self.run.tracker.record_written(
                    f"{removal.ref_id} (left behind by a rename from {removal.external_id})",
                    external_id=removal.external_id,
                    version="",
                    payload_hash="",
                    page_id=removal.page_id,
                    title="",
                )
        self.run.tracker.flush()

    # -- removing --------------------------------------------------------------------------

    def apply(self, removals: list[Removal]) -> None:
        """Remove each page (or, in a dry run, plan it) and record it; tallied by reason.

        The DELETEs run on ``max_concurrency`` threads, as the writes do: one after another,
        a space of 5,000 pages retired took 5,000 round trips to Intercom. Each page is
        recorded as deleted once Intercom answered for it. When one fails (Intercom down, the
        run stopping), those not started are dropped, those in flight finish and are
        recorded, and the failure is raised. A stopping run starts no other DELETE, and
        returns once those in flight are recorded.
        """
        if self.run.dry_run:
            for removal in removals:
                self.run.report.plan.append(
                    PlanItem(
                        "delete", removal.ref_id, removal.external_id, None, removal.describe()
                    )
                )
                self._count(removal)
        elif removals:
            self._delete(removals)
        self.run.report.deletions = ordered(self.run.report.deletions)

    def _delete(self, removals: list[Removal]) -> None:
        run = self.run
        failure: BaseException | None = None
        pool = cf.ThreadPoolExecutor(run.max_concurrency, thread_name_prefix="delete")
        try:
            sent = {pool.submit(self._send, removal): removal for removal in removals}
            for future in cf.as_completed(sent):
                removal = sent[future]
                if future.cancelled():
                    continue  # dropped after a failure: its page stays, and so does its row
                if (error := future.exception()) is not None:
                    if failure is None:
                        failure = error
                        for other in sent:
                            other.cancel()
                    continue
                self._record(removal)
                metrics.PAGES_DELETED.labels(run.source.name, removal.kind).inc()
                self._count(removal)
        finally:
            # Also when recording fails: nothing more is deleted that could not be recorded.
            pool.shutdown(wait=True, cancel_futures=True)
        if failure is not None and not isinstance(failure, (Interrupted, RequestInterrupted)):
            raise failure
        # A stop is not a failure: the run reports itself stopped, the rest waits for the next.

    def _send(self, removal: Removal) -> None:
        assert removal.page_id is not None, removal
        if self.run.stop.is_set():
            # A stopping run lets the DELETEs in flight finish (within the request's grace)
            # but starts no other: the next run removes the rest, behind the safety stop.
            raise RequestInterrupted(f"delete page {removal.page_id}: the run is stopping")
        log.debug(
            "document.deleting",
            source=self.run.source.name,
            ref=removal.ref_id,
            reason=removal.reason,
        )
        self.run.publisher.delete_page(removal.page_id)

    def _count(self, removal: Removal) -> None:
        deletions = self.run.report.deletions
        deletions[removal.reason] = deletions.get(removal.reason, 0) + 1
        self.run.outcomes.count("deleted")

    def _record(self, removal: Removal) -> None:
        if removal.kind == "gone":
            self.run.tracker.record_deleted(removal.ref_id)
        elif removal.kind == "excluded" and removal.version is not None:
            self.run.tracker.record_excluded(removal.ref_id, removal.version)
        # renamed: the row was rewritten with its new page; orphan: there was no row.
