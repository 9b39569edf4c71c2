"""Listing: what a run learns from the source before fetching, and what it must fetch.

The *listing* maps each listed document's ref id to its version, in the connector's order.
An incremental run (a change set naming documents) *looks up* just the named documents
instead, when the connector can; the documents named deleted that the lookup did not find
are the only ones that run may delete.

The *diff* compares the listing with the tracker's rows. A document is *current* when its
version is the one recorded and nothing else asks for a fetch (a full resync, a new
converter, a failure, no page yet); a row not listed is *gone* (on an incremental run only
when named deleted; any other is counted still listed and current). The version of a current
document is set to None in the listing, and so is a fetched one's: membership is all the rest
of the run asks, and a large run then holds one string per document, not three.
"""

from __future__ import annotations

import dataclasses

from syncd.connectors.base import SourceUnavailable
from syncd.state.tracker import Known
from syncd.sync.context import RunContext

STILL_FAILING = (
    "still failing at this version (too large or unreadable: `syncd status` says why);"
    " fetched again once it changes"
)

# The listing, ref id -> version, in the connector's order (see the module docstring).
Listing = dict[str, str | None]


def list_source(run: RunContext) -> tuple[Listing, frozenset[str] | None]:
    """The complete listing, or the named documents'; and the ref ids it may delete.

    The ref ids are None unless the run is incremental (a lookup answered).
    """
    only = run.options.only
    try:
        if only is not None and not only.everything:
            refs = run.connector.lookup(sorted(only.named))
            if refs is not None:
                found: Listing = {ref.id: ref.version for ref in refs}
                return found, only.deleted - found.keys()
            run.log.info("sync.lookup_unsupported", connector=run.source.connector)
        return {ref.id: ref.version for ref in run.connector.list()}, None
    except SourceUnavailable:
        raise
    except OSError as exc:
        raise SourceUnavailable(f"cannot list the source: {exc}") from exc


def unchanged(run: RunContext, fingerprint: str) -> bool:
    """Whether the source is as the last complete run left it; forget it when it is not."""
    tracker, source = run.tracker, run.source
    if (
        fingerprint == tracker.fingerprint
        and not run.reconciling
        and not run.rerender
        and tracker.url == source.url
        and tracker.status == source.status
    ):
        # As a listing would count them: each listed document unchanged or excluded.
        held, excluded = tracker.documents_held(), tracker.documents_excluded()
        run.report.listed = held
        run.outcomes.count_many("unchanged", held - excluded)
        run.outcomes.count_many("excluded", excluded)
        run.log.info("sync.listing_unchanged", fingerprint=fingerprint)
        return True
    if tracker.fingerprint is not None and not run.dry_run:
        # Forgotten before anything changes: a run cut short must not be taken for a
        # complete one if the source goes back to the stored listing (a force-push back).
        tracker.set_fingerprint(None)
    return False


@dataclasses.dataclass(slots=True)
class Diff:
    """What the diff found: how many to fetch, their rows, the gone rows, the pages held."""

    fetching: int
    known: dict[str, Known]
    gone: list[Known]
    held: int


def diff(run: RunContext, listed: Listing) -> Diff:
    """Mark current documents in ``listed`` and count them; the rest is in the :class:`Diff`.

    The tracker's rows are streamed and only those that need work are kept: a run where
    little changed holds the listing, not a second copy of the source.
    """
    deleted, full_resync, rerender = run.deleted, run.full_resync, run.rerender
    found = Diff(fetching=len(listed), known={}, gone=[], held=0)
    current = {"unchanged": 0, "excluded": 0}  # listed, and nothing to fetch
    for row in run.tracker.iter_known():
        found.held += row.page_id is not None
        if row.ref_id not in listed:
            if deleted is not None and row.ref_id not in deleted:
                listed[row.ref_id] = None  # not named: still there, and current
                continue
            found.gone.append(row)
            continue
        version = listed[row.ref_id]
        if version is not None and needs_fetch(version, row, full_resync, rerender):
            found.known[row.ref_id] = row
        elif version is not None:
            listed[row.ref_id] = None  # current: nothing to fetch
            found.fetching -= 1
            if row.failed_version == version:  # still failing, known without a fetch
                run.report.failures.append((row.ref_id, STILL_FAILING))
                current["failed"] = current.get("failed", 0) + 1
                continue
            current["excluded" if row.excluded else "unchanged"] += 1
            if run.debug:
                run.log.debug("document.unchanged", ref=row.ref_id, by="version")
    for outcome, count in current.items():
        run.outcomes.count_many(outcome, count)
    return found


def needs_fetch(version: str, known: Known, full_resync: bool, rerender: bool) -> bool:
    """Whether a listed document at ``version`` must be fetched again."""
    if known.failed_version == version and not full_resync:
        return False  # too large at this version: fetched again once it changes
    if full_resync or rerender or known.failed or known.version != version:
        return True
    return known.page_id is None and not known.excluded
