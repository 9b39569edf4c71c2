"""The change tracker: what was published for one source, read and written by the engine.

It answers "what do we hold?" with :class:`Known` snapshots taken once at the start of a run,
and records each document's outcome in its own transaction right after the write succeeded,
so a crash loses at most the document in flight (which the next run sends again: an upsert by
external id is idempotent).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from syncd.models import DocumentState, Run, Source, utcnow
from syncd.plan import Counts

_ERROR_LIMIT = 2000  # keep stored errors readable; a whole HTML error page helps no one
# What recording a written page sets, besides its key (source, ref id).
_WRITTEN_COLUMNS = (
    "external_id",
    "version",
    "payload_hash",
    "intercom_page_id",
    "title",
    "excluded",
    "last_written_at",
    "last_error",
    "last_error_at",
    "failures",
)


@dataclasses.dataclass(frozen=True, slots=True)
class Known:
    """A snapshot of one tracked document."""

    ref_id: str
    external_id: str | None
    version: str | None
    payload_hash: str | None
    page_id: str | None
    excluded: bool
    failed: bool


class Tracker:
    """The state of one source in the state database."""

    def __init__(self, sessions: sessionmaker[Session], source_name: str) -> None:
        self.sessions = sessions
        self.source_name = source_name
        self.source_pk, self.intercom_source_id, self.url, self.status = self._load_source()
        self._upserts: dict[str, sa.Executable] = {}

    def _load_source(self) -> tuple[int, int | None, str | None, str | None]:
        with self.sessions.begin() as session:
            row = session.scalar(sa.select(Source).where(Source.name == self.source_name))
            if row is None:
                row = Source(name=self.source_name)
                session.add(row)
                session.flush()
            return row.id, row.intercom_source_id, row.url, row.status

    def _known_query(self) -> Any:  # a Select of the Known columns
        return sa.select(
            DocumentState.ref_id,
            DocumentState.external_id,
            DocumentState.version,
            DocumentState.payload_hash,
            DocumentState.intercom_page_id,
            DocumentState.excluded,
            DocumentState.last_error,
        ).where(DocumentState.source_id == self.source_pk)

    @staticmethod
    def _snapshot(r: Any) -> Known:
        return Known(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6] is not None)

    def iter_known(self, batch: int = 2000) -> Iterator[Known]:
        """Every tracked document of the source, streamed: a large source is never in memory."""
        with self.sessions() as session:
            rows = session.execute(self._known_query().execution_options(yield_per=batch))
            for row in rows:
                yield self._snapshot(row)

    def known(self) -> dict[str, Known]:
        """Every tracked document of the source, by ref id."""
        return {k.ref_id: k for k in self.iter_known()}

    def holder_of(self, external_id: str) -> Known | None:
        """The row that holds ``external_id``, preferring one that knows its page."""
        with self.sessions() as session:
            rows = session.execute(
                self._known_query()
                .where(DocumentState.external_id == external_id)
                .order_by(DocumentState.intercom_page_id.is_(None))
            ).all()
        return self._snapshot(rows[0]) if rows else None

    def set_intercom_source(self, intercom_source_id: int, url: str, status: str) -> None:
        """Remember the Content Import Source and the URL and status applied to it."""
        with self.sessions.begin() as session:
            session.execute(
                sa.update(Source)
                .where(Source.id == self.source_pk)
                .values(intercom_source_id=intercom_source_id, url=url, status=status)
            )
        self.intercom_source_id, self.url, self.status = intercom_source_id, url, status

    def _row(self, session: Session, ref_id: str) -> DocumentState:
        row = session.scalar(
            sa.select(DocumentState).where(
                DocumentState.source_id == self.source_pk, DocumentState.ref_id == ref_id
            )
        )
        if row is None:
            row = DocumentState(source_id=self.source_pk, ref_id=ref_id, excluded=False, failures=0)
            session.add(row)
        return row

    def record_written(
        self,
        ref_id: str,
        *,
        external_id: str,
        version: str,
        payload_hash: str,
        page_id: str,
        title: str,
        replaces: str | None = None,
    ) -> None:
        """A page was created or updated in Intercom; ``replaces`` is a renamed-away ref."""
        values = {
            "external_id": external_id,
            "version": version,
            "payload_hash": payload_hash,
            "intercom_page_id": page_id,
            "title": title[:1024],
            "excluded": False,
            "last_written_at": utcnow(),
            "last_error": None,
            "last_error_at": None,
            "failures": 0,
        }
        with self.sessions.begin() as session:
            if replaces is not None:
                session.execute(
                    sa.delete(DocumentState).where(
                        DocumentState.source_id == self.source_pk,
                        DocumentState.ref_id == replaces,
                    )
                )
            # One prepared INSERT ... ON CONFLICT instead of an ORM load, flush and update: this
            # runs once per written document, on the thread that also feeds the writers.
            session.execute(
                self._upsert_statement(session.get_bind().dialect.name),
                {"source_id": self.source_pk, "ref_id": ref_id, **values},
            )

    def _upsert_statement(self, dialect: str) -> sa.Executable:
        statement = self._upserts.get(dialect)
        if statement is None:
            insert = sqlite_insert if dialect == "sqlite" else pg_insert
            columns = ["source_id", "ref_id", *_WRITTEN_COLUMNS]
            base = insert(DocumentState).values({name: sa.bindparam(name) for name in columns})
            statement = base.on_conflict_do_update(
                index_elements=[DocumentState.source_id, DocumentState.ref_id],
                set_={name: base.excluded[name] for name in _WRITTEN_COLUMNS},
            )
            self._upserts[dialect] = statement
        return statement

    def record_pending(self, writes: Iterable[tuple[str, str]]) -> None:
        """Documents about to be sent for the first time: remember their external ids."""
        rows = [
            {"source_id": self.source_pk, "ref_id": ref_id, "external_id": external_id}
            for ref_id, external_id in writes
        ]
        if not rows:
            return
        with self.sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = sqlite_insert if dialect == "sqlite" else pg_insert
            base = insert(DocumentState).values(
                source_id=sa.bindparam("source_id"),
                ref_id=sa.bindparam("ref_id"),
                external_id=sa.bindparam("external_id"),
                excluded=False,
                failures=0,
            )
            # A row that knows its page keeps its external id: the write will tell.
            statement = base.on_conflict_do_update(
                index_elements=[DocumentState.source_id, DocumentState.ref_id],
                set_={"external_id": base.excluded.external_id, "excluded": False},
                where=DocumentState.intercom_page_id.is_(None),
            )
            session.execute(statement, rows)

    def record_versions(self, versions: Iterable[tuple[str, str]]) -> None:
        """Documents whose version moved but whose payload did not: nothing was sent."""
        with self.sessions.begin() as session:
            for ref_id, version in versions:
                session.execute(
                    sa.update(DocumentState)
                    .where(
                        DocumentState.source_id == self.source_pk,
                        DocumentState.ref_id == ref_id,
                    )
                    .values(version=version)
                )

    def record_failed(self, ref_id: str, error: str) -> None:
        """A document failed; the next run fetches it again whatever its version."""
        with self.sessions.begin() as session:
            row = self._row(session, ref_id)
            row.last_error = error[:_ERROR_LIMIT]
            row.last_error_at = utcnow()
            row.failures = (row.failures or 0) + 1

    def record_excluded(self, ref_id: str, version: str) -> None:
        """A document must not be published (a draft); its page, if any, is gone now."""
        with self.sessions.begin() as session:
            row = self._row(session, ref_id)
            row.version = version
            row.excluded = True
            row.intercom_page_id = None
            row.payload_hash = None
            row.last_error = None
            row.last_error_at = None
            row.failures = 0

    def record_deleted(self, ref_id: str) -> None:
        """A document is gone from the source and from Intercom."""
        with self.sessions.begin() as session:
            session.execute(
                sa.delete(DocumentState).where(
                    DocumentState.source_id == self.source_pk, DocumentState.ref_id == ref_id
                )
            )

    def start_run(self, *, full_resync: bool, holder: str | None) -> int:
        """Open a run row; returns its id."""
        with self.sessions.begin() as session:
            run = Run(source_id=self.source_pk, full_resync=full_resync, holder=holder)
            session.add(run)
            session.flush()
            return run.id

    def finish_run(
        self, run_id: int, *, status: str, counts: Counts, duration: float, error: str | None
    ) -> None:
        """Close a run row with its outcome and counts."""
        with self.sessions.begin() as session:
            session.execute(
                sa.update(Run)
                .where(Run.id == run_id)
                .values(
                    status=status,
                    finished_at=utcnow(),
                    duration=duration,
                    error=error[:_ERROR_LIMIT] if error else None,
                    **dataclasses.asdict(counts),
                )
            )

    def pages_held(self) -> int:
        """How many pages syncd holds in Intercom for this source."""
        with self.sessions() as session:
            count = session.scalar(
                sa.select(sa.func.count())
                .select_from(DocumentState)
                .where(
                    DocumentState.source_id == self.source_pk,
                    DocumentState.intercom_page_id.is_not(None),
                )
            )
            return int(count or 0)
