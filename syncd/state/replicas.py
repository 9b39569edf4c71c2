"""Several daemons on one state database: each tick of a source is synced once, not per replica.

A Kubernetes Deployment scaled to two or three replicas runs the same configuration in each.
Without coordination every replica would sync every source at every tick, one after another
(the lease keeps them from running at once). Instead:

aligned ticks
    Interval schedules count from a fixed point in time (:data:`ANCHOR`), not from each
    daemon's start, so every replica's ticks fall at the same moments (cron ticks already
    do). Each replica adds its own jitter.
tick start
    The moment a tick was due, before jitter: the time APScheduler scheduled the run minus the
    largest jitter a replica may add (:func:`tick_start`).
skip
    At a tick, a replica that finds the source's lease held by another run skips the tick at
    once (the source is being synced now); one that obtains the lease and finds a run of the
    source that started since the tick start and ended ``ok`` or ``partial`` skips it too
    (another replica synced it for this tick). Triggered runs (hooks, watched changes) and
    `syncd sync` never skip.

A replica killed mid-run loses its holder lock with its database session, so the next tick
of any other replica syncs the source: the work is finished within one tick (plus the lease
wait, when the session's end is noticed late). Only PostgreSQL can be shared by several
hosts; SQLite suits one replica.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd.state.models import Run, Source

#: The point from which interval ticks are counted, the same in every replica.
ANCHOR = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_DONE = ("ok", "partial")


def tick_start(scheduled: dt.datetime, jitter: float) -> dt.datetime:
    """When the tick of a run scheduled at ``scheduled`` (jitter included) was due."""
    return scheduled - dt.timedelta(seconds=jitter)


def synced_since(
    sessions: sessionmaker[Session], source_name: str, since: dt.datetime
) -> str | None:
    """The holder of a run of the source that started at ``since`` or later and ended well."""
    query = (
        sa.select(Run.holder)
        .join(Source, Source.id == Run.source_id)
        .where(Source.name == source_name, Run.started_at >= since, Run.status.in_(_DONE))
        .order_by(Run.id.desc())
        .limit(1)
    )
    with sessions() as session:
        row = session.execute(query).first()
    if row is None:
        return None
    return str(row[0] or "another run")
