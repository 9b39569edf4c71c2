"""Documents: each listed document's way through a run, from its fetch to its write.

Every listed document the diff left to fetch (see :mod:`syncd.sync.listing`), in the listing's
order: fetch it (:mod:`syncd.sync.fetching`), claim its external id (:mod:`syncd.sync.claims`),
render its payload, compare the payload's hash with what was published, then hand a write to
the pool (:mod:`syncd.sync.writes`) or, on a dry run, add its plan item
(:mod:`syncd.sync.dryrun`). Documents whose claim was deferred go last.

owner
    The tracked row that holds the external id a document wants: a row of this run's diff, or,
    for an explicit external id, any row of the source (it may not have changed).
takeover
    A document publishing under an external id another row owns: a renamed file takes its old
    page over, and the renamed-away row goes once the write is recorded (it *replaces* it).
stale
    The page a document leaves behind when its external id changes; it is removed with the
    other removals, behind the safety stop (see :mod:`syncd.sync.deletes`).
unchanged
    A payload whose hash equals the published one is not sent (unless on a full resync): only
    the document's new version is recorded.
"""

from __future__ import annotations

import concurrent.futures as cf

from syncd.connectors.base import Document, DocumentRef
from syncd.state.tracker import Known
from syncd.sync.claims import ClaimConflict
from syncd.sync.context import RunContext
from syncd.sync.dryrun import plan_write
from syncd.sync.fetching import fetch, render
from syncd.sync.listing import Diff
from syncd.sync.writes import Write, WritePool


def write_documents(run: RunContext, found: Diff) -> None:
    """Fetch, render and write each document the diff left to fetch, until the run stops.

    Writes in flight when the run stops finish and are recorded; a fatal error (auth refused,
    Intercom down, the state database failing) is raised once they are counted (see
    :mod:`syncd.sync.writes`).
    """
    # Rows that know their page win: a run killed after an upsert but before its record can
    # leave a second row with the same external id and no page id.
    by_external = {
        k.external_id: k
        for k in sorted([*found.known.values(), *found.gone], key=lambda k: k.page_id is not None)
        if k.external_id
    }
    known = found.known
    # Built as they are fetched: a first sync of a large source holds no second list.
    to_fetch = (
        DocumentRef(ref_id, version)
        for ref_id, version in run.listed.items()
        if version is not None
    )
    pool = cf.ThreadPoolExecutor(run.max_concurrency, thread_name_prefix="publish")
    with WritePool(run, pool) as writes:  # a failure still counts what Intercom has
        for ref in to_fetch:
            if run.stop.is_set() or writes.fatal is not None:
                break
            run.listed[ref.id] = None  # the ref holds the version now (see Listing)
            row = known.get(ref.id)
            document = fetch(run, ref, row)
            if row is not None:
                # Only a tracked document can hold an external id another one wants.
                run.claims.settle(ref.id)
            if document is None:
                continue
            write = _prepare(run, ref, row, document, by_external)
            if write is not None:
                writes.queue(write)
        for ref, document in run.claims.deferred:
            if run.stop.is_set() or writes.fatal is not None:
                break
            write = _prepare(run, ref, known.get(ref.id), document, by_external, final=True)
            if write is not None:
                writes.queue(write)
        writes.finish()
        run.tracker.flush()
    if writes.fatal is not None:
        raise writes.fatal


def _prepare(
    run: RunContext,
    ref: DocumentRef,
    known: Known | None,
    document: Document,
    by_external: dict[str, Known],
    *,
    final: bool = False,
) -> Write | None:
    """The write of a fetched document; None when it is settled without one (see above)."""
    wanted = document.external_id or ref.id
    owner = by_external.get(wanted)
    if owner is None and wanted != ref.id:
        # An explicit external id may belong to a document that did not change, whose row is
        # not in this run's snapshot.
        owner = run.tracker.holder_of(wanted)
        if owner is not None:
            by_external[wanted] = owner
    try:
        external_id = run.claims.claim(ref, document, owner, run.listed, final=final)
    except ClaimConflict as exc:
        run.fail(ref.id, str(exc))
        return None
    if external_id is None:
        return None
    takeover = owner is not None and owner.ref_id != ref.id
    # A renamed document's old row goes; a row still listed keeps its own document.
    replaces = (
        owner.ref_id if owner is not None and takeover and owner.ref_id not in run.listed else None
    )
    payload = render(run, ref, document, external_id)
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
        and not run.full_resync
        and not takeover
        and stale is None
    ):
        run.unchanged(ref)
        return None
    action = "update" if published or external_id in run.remote else "create"
    if run.dry_run:
        plan_write(run, action, ref, payload, previous, known, digest=digest, renamed_from=replaces)
        return None
    pending = not takeover and (known is None or known.page_id is None)
    restore = run.drift.restores(ref.id)
    return Write(
        ref, payload, digest, action, replaces, stale, pending, document.changed_at, restore
    )
