"""`syncd status`: per source, the last run, its counts, the pages held and what is failing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd.config.loading import Config
from syncd.state import freshness
from syncd.state.models import DocumentState, Run, Source
from syncd.sync.plan import describe_tally, plural

FAILING_SHOWN = 20


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

    def as_json(self) -> dict[str, Any]:
        """JSON-ready data, timestamps as ISO 8601."""
        data = dataclasses.asdict(self)
        data["last_success"] = self.last_success.isoformat() if self.last_success else None
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


def collect(config: Config, sessions: sessionmaker[Session]) -> list[SourceStatus]:
    """The status of every configured source (never-run sources included)."""
    result = []
    with sessions() as session:
        for source in config.sources:
            row = session.scalar(sa.select(Source).where(Source.name == source.name))
            if row is None:
                result.append(SourceStatus(source.name, None, 0, None, None, [], 0))
                continue
            result.append(_one(session, row))
    return result


def _one(session: Session, row: Source) -> SourceStatus:
    docs = sa.select(DocumentState).where(DocumentState.source_id == row.id)
    held = session.scalar(
        sa.select(sa.func.count()).select_from(
            docs.where(DocumentState.intercom_page_id.is_not(None)).subquery()
        )
    )
    failing_rows = session.scalars(
        docs.where(DocumentState.last_error.is_not(None))
        .order_by(DocumentState.last_error_at.desc())
        .limit(FAILING_SHOWN)
    ).all()
    failing_total = session.scalar(
        sa.select(sa.func.count()).select_from(
            docs.where(DocumentState.last_error.is_not(None)).subquery()
        )
    )
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
    )


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
        if status.failing_total:
            lines.append(f"  {plural(status.failing_total, 'failing document')}:")
            for doc in status.failing:
                lines.append(f"    {doc['ref_id']}: {doc['error']}")
            if status.failing_total > len(status.failing):
                lines.append(f"    ... and {status.failing_total - len(status.failing)} more")
    return "\n".join(lines)
