"""`syncd status`: per source, the last run, its counts, the pages held and what is failing.

One data model (:class:`SourceStatus`) for the command's text and ``--json``, and for the
daemon's status page and ``/status.json`` (:mod:`syncd.daemon.statuspage`).

left out
    Documents a source lists that are not in Intercom on purpose: ``excluded`` (a draft, an
    exclude rule, a restricted page: the connector said not to publish it) and ``final``
    (failed for good at this version, too large or unreadable: fetched again only once it
    changes). Documents still failing are under ``failing``.
origin
    What the last listing was read from where the connector keeps it: the git commit and ref
    of a Markdown repository, the export file(s) of a Confluence export.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd import metrics
from syncd.config.loading import Config
from syncd.state import freshness
from syncd.state.models import ConnectorMemory, DocumentState, Run, Source
from syncd.sync.plan import describe_tally, plural

FAILING_SHOWN = 20
# Connector memories that record where a listing came from, and the fields shown: a git
# source's commit and ref (connectors.markdown), a Confluence export's file names
# (connectors.confluence.feed).
_ORIGIN_KEYS = {
    "git.identities": ("commit", "ref"),
    "listing.origin": ("export", "spaces", "settling"),
}


@dataclasses.dataclass(slots=True)
class SourceStatus:
    """What the state database knows about one configured source."""

    name: str
    intercom_source_id: int | None
    pages_held: int
    last_run: dict[str, Any] | None
    last_success: dt.datetime | None
    failing: list[dict[str, Any]]
    failing_total: int
    # Seconds from a change at the source to its write in Intercom: the last measure, the
    # p95 of those kept, and how many are kept (see syncd.state.freshness).
    freshness: dict[str, float | int | None] = dataclasses.field(
        default_factory=lambda: {"last": None, "p95": None, "samples": 0}
    )
    connector: str = ""
    # The last failed run and the last run the safety stop refused: when, and why.
    last_failure: dict[str, Any] | None = None
    last_refusal: dict[str, Any] | None = None
    left_out: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"excluded": 0, "final": 0}
    )
    origin: dict[str, str] | None = None
    # When the daemon runs the source next (None outside `syncd run`, or not scheduled).
    next_run: dt.datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """JSON-ready data, timestamps as ISO 8601."""
        data = dataclasses.asdict(self)
        data["last_success"] = self.last_success.isoformat() if self.last_success else None
        data["next_run"] = self.next_run.isoformat() if self.next_run else None
        converted: dict[str, Any] = _iso(data)
        return converted


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


def collect(
    config: Config,
    sessions: sessionmaker[Session],
    next_runs: Mapping[str, dt.datetime | None] | None = None,
) -> list[SourceStatus]:
    """The status of every configured source (never-run sources included).

    ``next_runs``: the daemon's next scheduled run per source name.
    """
    result = []
    with sessions() as session:
        for source in config.sources:
            row = session.scalar(sa.select(Source).where(Source.name == source.name))
            if row is None:
                status = SourceStatus(source.name, None, 0, None, None, [], 0)
            else:
                status = _one(session, row)
            status.connector = source.connector
            status.next_run = (next_runs or {}).get(source.name)
            result.append(status)
    return result


def _one(session: Session, row: Source) -> SourceStatus:
    docs = sa.select(DocumentState).where(DocumentState.source_id == row.id)
    # Every count in one pass over the source's documents (a page load makes it per source).
    held, failing_total, excluded, final = session.execute(
        sa.select(
            sa.func.count(DocumentState.intercom_page_id),
            sa.func.count(DocumentState.last_error),
            sa.func.count(sa.case((DocumentState.excluded.is_(True), 1))),
            sa.func.count(DocumentState.failed_version),
        ).where(DocumentState.source_id == row.id)
    ).one()
    failing_rows = session.scalars(
        docs.where(DocumentState.last_error.is_not(None))
        .order_by(DocumentState.last_error_at.desc())
        .limit(FAILING_SHOWN)
    ).all()
    last = session.scalar(
        sa.select(Run).where(Run.source_id == row.id).order_by(Run.id.desc()).limit(1)
    )
    last_success = session.scalar(
        sa.select(sa.func.max(Run.finished_at)).where(Run.source_id == row.id, Run.status == "ok")
    )
    last_run = None
    if last is not None:
        last_run = {
            "started_at": last.started_at,
            "finished_at": last.finished_at,
            "duration": None if last.duration is None else round(last.duration, 3),
            "status": last.status,
            "full_resync": last.full_resync,
            "incremental": last.incremental,
            "listed": last.listed,
            "created": last.created,
            "updated": last.updated,
            "unchanged": last.unchanged,
            "deleted": last.deleted,
            "failed": last.failed,
            "excluded": last.excluded,
            "restored": last.restored,
            "deletions": last.deletions or {},
            "error": last.error,
        }
    failing = [
        {
            "ref_id": d.ref_id,
            "title": d.title,
            "error": d.last_error,
            "since": d.last_error_at,
            "failures": d.failures,
        }
        for d in failing_rows
    ]
    if isinstance(last_success, dt.datetime) and last_success.tzinfo is None:
        last_success = last_success.replace(tzinfo=dt.UTC)
    return SourceStatus(
        row.name,
        row.intercom_source_id,
        int(held or 0),
        last_run,
        last_success,
        failing,
        int(failing_total or 0),
        freshness.summary(session, row.id),
        last_failure=_last(session, row.id, "failed"),
        last_refusal=_last(session, row.id, "safety_stop"),
        left_out={"excluded": int(excluded or 0), "final": int(final or 0)},
        origin=_origin(session, row.id),
    )


def seed_metrics(config: Config, sessions: sessionmaker[Session]) -> None:
    """Set the gauges a restart would reset from the state database: the last success, the
    failing streak and the pages held of every configured source that has run."""
    with sessions() as session:
        for source in config.sources:
            row = session.scalar(sa.select(Source).where(Source.name == source.name))
            if row is None:
                continue
            status = _one(session, row)
            metrics.PAGES_HELD.labels(source.name).set(status.pages_held)
            if status.last_success is not None:
                metrics.LAST_SUCCESS.labels(source.name).set(status.last_success.timestamp())
            results = session.scalars(
                sa.select(Run.status)
                .where(Run.source_id == row.id, Run.status != "stopped")
                .order_by(Run.id.desc())
                .limit(100)
            )
            streak = 0
            for result in results:
                if result not in metrics.FAILED_RESULTS:
                    break
                streak += 1
            metrics.FAILING_STREAK.labels(source.name).set(streak)


def _last(session: Session, source_id: int, status: str) -> dict[str, Any] | None:
    """When the last run with this status finished, and its error."""
    run = session.scalar(
        sa.select(Run)
        .where(Run.source_id == source_id, Run.status == status)
        .order_by(Run.id.desc())
        .limit(1)
    )
    if run is None:
        return None
    return {"at": run.finished_at or run.started_at, "error": run.error}


def _origin(session: Session, source_id: int) -> dict[str, str] | None:
    """What the source's last listing read, where its connector records it (else None)."""
    rows = session.execute(
        sa.select(ConnectorMemory.key, ConnectorMemory.value).where(
            ConnectorMemory.source_id == source_id,
            ConnectorMemory.key.in_(_ORIGIN_KEYS),
        )
    )
    found: dict[str, str] = {}
    for key, text in rows:
        try:
            state = json.loads(text)
        except ValueError:
            continue
        if isinstance(state, dict):
            wanted = _ORIGIN_KEYS[key]
            found |= {k: state[k] for k in wanted if isinstance(state.get(k), str)}
    return found or None


def render(statuses: list[SourceStatus]) -> str:
    """Readable text, one block per source."""
    lines: list[str] = []
    for status in statuses:
        lines.append(f"{status.name}: {plural(status.pages_held, 'page')} held")
        run = status.last_run
        if run is None:
            lines.append("  never run")
        else:
            when = f"{run['started_at']:%Y-%m-%d %H:%M:%S} UTC"
            took = f", {run['duration']:.2f}s" if run["duration"] is not None else ""
            kind = " (incremental)" if run["incremental"] else ""
            lines.append(
                f"  last run{kind} {when}: {run['status']}{took}; {run['created']} created, "
                f"{run['updated']} updated, {run['deleted']} deleted, {run['unchanged']} "
                f"unchanged, {run['excluded']} excluded, {run['failed']} failed; "
                f"{run['listed']} listed"
                + (f"; {run['restored']} restored" if run["restored"] else "")
            )
            if run["deletions"]:
                lines.append(f"  deleted: {describe_tally(run['deletions'])}")
            if run["error"]:
                lines.append(f"  error: {run['error']}")
        if status.last_success is not None:
            lines.append(f"  last success {status.last_success:%Y-%m-%d %H:%M:%S} UTC")
        fresh = status.freshness
        if fresh["last"] is not None and fresh["p95"] is not None:
            samples = plural(int(fresh["samples"] or 0), "write")
            lines.append(
                f"  freshness (change to Intercom): last {fresh['last']:.1f}s, "
                f"p95 {fresh['p95']:.1f}s over the last {samples}"
            )
        refusal = status.last_refusal
        if refusal is not None:
            lines.append(f"  safety stop refused a run {refusal['at']:%Y-%m-%d %H:%M:%S} UTC")
        if status.origin:
            listed = ", ".join(f"{key} {value}" for key, value in status.origin.items())
            lines.append(f"  last listing from {listed}")
        if status.failing_total:
            lines.append(f"  {plural(status.failing_total, 'failing document')}:")
            for doc in status.failing:
                lines.append(f"    {doc['ref_id']}: {doc['error']}")
            if status.failing_total > len(status.failing):
                lines.append(f"    ... and {status.failing_total - len(status.failing)} more")
    return "\n".join(lines)
