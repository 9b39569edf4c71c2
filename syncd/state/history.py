"""The run history: a row per run of a source, opened as the run starts, closed as it ends.

run row
    One run of one source: when it started and ended, whether it was a full resync or an
    incremental run, the *holder* that ran it (host and process, see
    :mod:`syncd.state.lease`), its status (``running`` until it ends, then ``ok``,
    ``partial``, ``stopped``, ``failed`` or ``safety_stop``), its counts, the removals by
    reason, and its error with every secret masked. A process killed mid-run leaves its row
    ``running``.
kept history
    The last ``keep`` runs of a source (``state.run_history``), this one included. Older rows
    go in the transaction that opens a run, so the history stays bounded whether runs finish
    or crash (a crash loop records a run per attempt too). The last complete full run is kept
    whatever its age: freshness measures from it (see :mod:`syncd.state.freshness`), and a
    burst of triggered runs must not push it out, and neither do runs that deleted pages
    within :data:`DELETION_WINDOW`: the safety stop counts them.
let past the safety stop
    A run whose deletions an operator allowed (``--allow-mass-delete``): the deletions the
    safety stop counts start after it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from syncd.redact import redact
from syncd.state.counts import Counts
from syncd.state.models import Run, utcnow

#: How far back the safety stop counts earlier runs' deletions (see syncd.sync.deletes).
DELETION_WINDOW = dt.timedelta(hours=1)
_ERROR_LIMIT = 2000  # keep stored errors readable; a whole HTML error page helps no one


def stored_error(error: str) -> str:
    """An error as the state database keeps it: secrets masked, and not too long to read."""
    return redact(error)[:_ERROR_LIMIT]


def open_run(
    session: Session,
    source_pk: int,
    *,
    full_resync: bool,
    holder: str | None,
    incremental: bool = False,
    keep: int | None = None,
) -> int:
    """Open a run row; returns its id. ``keep``: runs of the source kept, this one included."""
    run = Run(
        source_id=source_pk,
        full_resync=full_resync,
        holder=holder,
        incremental=incremental,
    )
    session.add(run)
    session.flush()
    if keep is not None:
        oldest_kept = (
            sa.select(Run.id)
            .where(Run.source_id == source_pk)
            .order_by(Run.id.desc())
            .offset(keep - 1)
            .limit(1)
            .scalar_subquery()
        )
        last_full = (
            sa.select(sa.func.max(Run.id))
            .where(
                Run.source_id == source_pk,
                Run.incremental.is_(False),
                Run.status.in_(("ok", "partial")),
            )
            .scalar_subquery()
        )
        session.execute(
            sa.delete(Run).where(
                Run.source_id == source_pk,
                Run.id < oldest_kept,
                Run.id != sa.func.coalesce(last_full, -1),
                sa.or_(Run.deleted == 0, Run.started_at < utcnow() - DELETION_WINDOW),
            )
        )
    return run.id


def allow_mass_delete(session: Session, run_id: int) -> None:
    """Mark a run as let past the safety stop (see :func:`deleted_since`)."""
    session.execute(sa.update(Run).where(Run.id == run_id).values(mass_delete_allowed=True))


def deleted_since(session: Session, source_pk: int, since: dt.datetime) -> int:
    """Pages the source's runs deleted since ``since``, back to the last run let past the
    safety stop (whose deletions an operator allowed), that one excluded."""
    allowed = (
        sa.select(sa.func.max(Run.id))
        .where(Run.source_id == source_pk, Run.mass_delete_allowed)
        .scalar_subquery()
    )
    count = session.scalar(
        sa.select(sa.func.sum(Run.deleted)).where(
            Run.source_id == source_pk,
            Run.started_at >= since,
            Run.id > sa.func.coalesce(allowed, 0),
        )
    )
    return int(count or 0)


def close_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    counts: Counts,
    duration: float,
    error: str | None,
    deletions: Mapping[str, int] | None = None,
) -> None:
    """Close a run row with its outcome and counts."""
    session.execute(
        sa.update(Run)
        .where(Run.id == run_id)
        .values(
            status=status,
            finished_at=utcnow(),
            duration=duration,
            error=stored_error(error) if error else None,
            deletions=dict(deletions) if deletions else None,
            **dataclasses.asdict(counts),
        )
    )
