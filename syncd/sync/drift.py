"""Drift: what syncd believes is in Intercom, checked against Intercom and repaired.

confirm
    Every run but a dry run asks Intercom once (a GET of its Content Import Source) whether
    the source it publishes into still exists; a no-op run makes that one request and no other.
vanished source
    A source Intercom no longer has (an admin cleaned up, the workspace was reset, the sandbox
    restarted) is created again, and everything the tracker knew about published pages is
    forgotten (page id, payload hash, version), so that the same run fetches and sends every
    document again. Each such write counts as *restored*; a WARNING says what happened.
reconcile
    Intercom's page list of the source, compared with the tracker (``--full-resync``, and the
    daemon every ``schedule.reconcile``): a tracked page Intercom no longer holds is forgotten
    the same way and sent again (restored); a page of the source that no document owns is an
    *orphan*, removed behind the safety stop with every other removal
    (see :mod:`syncd.sync.deletes`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from syncd.state.models import DocumentState, Source
from syncd.state.tracker import Tracker

_DOCUMENTS: sa.Table = DocumentState.__table__  # type: ignore[assignment]
_EXAMPLES = 5  # ref ids named in a warning; the rest are counted


class Drift:
    """What one run found missing in Intercom, and which writes therefore restore a page."""

    def __init__(self, tracker: Tracker, log: Any) -> None:
        self.tracker = tracker
        self.log = log
        self.everything = False  # the whole source was restored
        self.refs: set[str] = set()  # documents whose page was found missing

    def restores(self, ref_id: str) -> bool:
        """Whether a write of this document puts back a page Intercom lost."""
        return self.everything or ref_id in self.refs

    def source_vanished(self, old_id: int, new_id: int, url: str) -> None:
        """Intercom lost source ``old_id``; ``new_id`` replaces it: send every page again."""
        pages = self.tracker.pages_held()
        self.log.warning(
            "sync.source_restored",
            message=(
                f"Content Import Source {old_id} ({url}) no longer exists in Intercom; it was"
                f" created again as {new_id}, and all {pages} pages of this source are sent"
                " again in this run"
            ),
            old_source_id=old_id,
            new_source_id=new_id,
            pages=pages,
        )
        forget_published(self.tracker, None)
        self.everything = True

    def pages_missing(self, remote: dict[str, str]) -> None:
        """Forget the tracked pages that Intercom's list (external id -> page id) lacks."""
        held = set(remote.values())
        missing = sorted(
            known.ref_id
            for known in self.tracker.iter_known()
            if known.page_id and known.page_id not in held
        )
        if not missing:
            return
        self.log.warning(
            "sync.pages_missing_in_intercom",
            message=f"{len(missing)} pages of this source are no longer in Intercom; sent again",
            count=len(missing),
            examples=missing[:_EXAMPLES],
        )
        forget_published(self.tracker, missing)
        self.refs.update(missing)


def forget_published(tracker: Tracker, ref_ids: Collection[str] | None) -> None:
    """Forget what was published of these documents (all when None) and the listing
    fingerprint: the next listing fetches, renders and sends each of them again."""
    tracker.flush()
    c = _DOCUMENTS.c
    statement = (
        sa.update(_DOCUMENTS)
        .where(c.source_id == tracker.source_pk)
        .values(intercom_page_id=None, payload_hash=None, version=None)
    )
    with tracker.sessions.begin() as session:
        if ref_ids is None:
            session.execute(statement)
        else:
            ids = list(ref_ids)
            for start in range(0, len(ids), 500):
                session.execute(statement.where(c.ref_id.in_(ids[start : start + 500])))
        session.execute(
            sa.update(Source).where(Source.id == tracker.source_pk).values(listing_fingerprint=None)
        )
    tracker.fingerprint = None
