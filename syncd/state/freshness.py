"""Freshness: how long a change at a source takes to reach Intercom.

freshness
    For one document written in Intercom, the seconds from its change at the source
    (:attr:`Document.changed_at <syncd.connectors.base.Document.changed_at>`: a file's
    modification time, a wiki page's last edit) to the end of its successful write.

Only changes the source made after the start of the last complete listing (the last full
run that finished ``ok`` or ``partial``) are measured: a document first synced, or
retried after failing, was not waiting on a trigger, and its age says nothing about how fresh
the daemon keeps Intercom. A source never fully listed measures nothing yet.

Each measure goes to the ``syncd_freshness_seconds`` histogram, per source, and to the state
database (the last :data:`~syncd.state.models.FRESHNESS_KEPT` per source), from which `syncd status`
shows the last value and the 95th percentile.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from syncd import metrics
from syncd.state.models import FRESHNESS_KEPT, FreshnessSample, Run, utcnow
from syncd.state.tracker import Tracker

if TYPE_CHECKING:  # one-shot runs never import it (see syncd.metrics)
    from prometheus_client import Histogram
_COMPLETE = ("ok", "partial")


class Freshness:
    """The freshness measures of one run of one source."""

    def __init__(self, source: str, tracker: Tracker, *, recording: bool) -> None:
        self.source = source
        self.tracker = tracker
        self.recording = recording
        self._since: float | None = None
        self._loaded = False
        self._samples: list[tuple[dt.datetime, float]] = []
        self._histogram: Histogram | None = None  # the metric's child, looked up once

    def written(self, changed_at: float | None) -> None:
        """A document that the source changed at ``changed_at`` was just written."""
        if changed_at is None or not self.recording:
            return
        since = self._baseline()
        if since is None or changed_at <= since:
            return
        seconds = max(0.0, time.time() - changed_at)  # clocks of two machines may disagree
        if self._histogram is None:
            self._histogram = metrics.FRESHNESS.labels(self.source)
        self._histogram.observe(seconds)
        self._samples.append((utcnow(), seconds))

    def save(self) -> None:
        """Store the run's measures, keeping the last FRESHNESS_KEPT of the source."""
        if not self._samples:
            return
        source_id = self.tracker.source_pk
        with self.tracker.sessions.begin() as session:
            session.execute(
                sa.insert(FreshnessSample),
                [
                    {"source_id": source_id, "written_at": at, "seconds": seconds}
                    for at, seconds in self._samples
                ],
            )
            oldest_kept = session.scalar(
                sa.select(FreshnessSample.id)
                .where(FreshnessSample.source_id == source_id)
                .order_by(FreshnessSample.id.desc())
                .offset(FRESHNESS_KEPT - 1)
                .limit(1)
            )
            if oldest_kept is not None:
                session.execute(
                    sa.delete(FreshnessSample).where(
                        FreshnessSample.source_id == source_id, FreshnessSample.id < oldest_kept
                    )
                )
        self._samples = []

    def _baseline(self) -> float | None:
        if not self._loaded:
            self._loaded = True
            with self.tracker.sessions() as session:
                started = session.scalar(
                    sa.select(sa.func.max(Run.started_at)).where(
                        Run.source_id == self.tracker.source_pk,
                        Run.incremental.is_(False),
                        Run.status.in_(_COMPLETE),
                    )
                )
            if isinstance(started, dt.datetime):
                if started.tzinfo is None:  # max() bypasses the UTC column type
                    started = started.replace(tzinfo=dt.UTC)
                self._since = started.timestamp()
        return self._since


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (``fraction`` 0.95 for p95) of ``values``; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(session: Session, source_id: int) -> dict[str, float | int | None]:
    """The last freshness measure of a source, the p95 of those kept, and how many there are."""
    rows = session.execute(
        sa.select(FreshnessSample.seconds)
        .where(FreshnessSample.source_id == source_id)
        .order_by(FreshnessSample.id.desc())
        .limit(FRESHNESS_KEPT)
    ).scalars()
    values = list(rows)
    return {
        "last": values[0] if values else None,
        "p95": percentile(values, 0.95),
        "samples": len(values),
    }
