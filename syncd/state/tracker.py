"""The change tracker: what was published for one source, read and written by the engine.

It answers "what do we hold?" with :class:`Known` snapshots streamed once at the start of a
run, and records each document's outcome.

Written pages are recorded in small batches (:meth:`Tracker.record_written` buffers,
:meth:`Tracker.flush` commits; every other method flushes first, so the order of records is
kept). A crash loses at most the last batch of records, never a page: a first write's intent
(its external id) was committed before the request left (:meth:`Tracker.record_pending`), so
the next run finds the page by external id, and a re-sent update is idempotent. One
transaction per page cost more than the HTTP request it recorded.

Writes go through SQLAlchemy Core statements built once per tracker (see
:mod:`syncd.state.statements`); the run history is kept by :mod:`syncd.state.history`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd.state import history
from syncd.state.counts import Counts
from syncd.state.models import DocumentState, Source, utcnow
from syncd.state.statements import (
    DOCUMENTS,
    WRITTEN_KEYS,
    DriverStatement,
    build_statement,
    dialect_insert,
)

# Buffered written records are committed once this many wait, or the oldest waited this long.
WRITE_BATCH = 64
WRITE_BATCH_SECONDS = 0.5


class Known(NamedTuple):
    """A snapshot of one tracked document (a tuple: a large source streams many of them)."""

    ref_id: str
    external_id: str | None
    version: str | None
    payload_hash: str | None
    page_id: str | None
    excluded: bool
    failed: bool
    failed_version: str | None = None  # the version whose failure is final (too large)


class Tracker:
    """The state of one source in the state database."""

    def __init__(self, sessions: sessionmaker[Session], source_name: str) -> None:
        self.sessions = sessions
        bind = sessions.kw["bind"]
        assert isinstance(bind, sa.Engine), bind
        # The batched writes use Core connections directly: a Session per batch cost more
        # than the statements it ran.
        self._engine: sa.Engine = bind
        self.source_name = source_name
        (
            self.source_pk,
            self.intercom_source_id,
            self.url,
            self.status,
            self.fingerprint,
            self.converter_version,
        ) = self._load_source()
        self._statements: dict[str, sa.Executable] = {}
        self._driver: DriverStatement | None = None  # the "written" statement, compiled
        self.run_id: int | None = None  # the run this tracker opened last
        self._written: list[tuple[Any, ...]] = []  # buffered records, as WRITTEN_KEYS
        self._replaced: list[dict[str, Any]] = []  # renamed-away rows those writes replace
        self._written_since = 0.0

    def _load_source(
        self,
    ) -> tuple[int, int | None, str | None, str | None, str | None, str | None]:
        query = sa.select(Source).where(Source.name == self.source_name)
        with self.sessions.begin() as session:
            row = session.scalar(query)
            if row is None:
                # The first runs of a new source may start at once (the lease is taken after
                # this): one inserts, the others wait for it and read its row.
                insert = dialect_insert(session.get_bind().dialect.name)
                session.execute(
                    insert(Source.__table__)
                    .values(name=self.source_name)
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                row = session.scalars(query).one()
            return (
                row.id,
                row.intercom_source_id,
                row.url,
                row.status,
                row.listing_fingerprint,
                row.converter_version,
            )

    def _known_query(self) -> sa.Select[Any]:
        c = DOCUMENTS.c
        return sa.select(
            c.ref_id,
            c.external_id,
            c.version,
            c.payload_hash,
            c.intercom_page_id,
            c.excluded,
            c.last_error.is_not(None),
            c.failed_version,
        ).where(c.source_id == self.source_pk)

    def iter_known(self, batch: int = 2000) -> Iterator[Known]:
        """Every tracked document of the source, streamed: a large source is never in memory."""
        self.flush()
        known = Known._make
        with self.sessions() as session:
            connection = session.connection().execution_options(yield_per=batch)
            for row in connection.execute(self._known_query()):
                # Core rows, not ORM entities: a no-op run reads every row of the source.
                yield known((*row[:5], bool(row[5]), bool(row[6]), row[7]))

    def known(self) -> dict[str, Known]:
        """Every tracked document of the source, by ref id."""
        return {k.ref_id: k for k in self.iter_known()}

    def holder_of(self, external_id: str) -> Known | None:
        """The row that holds ``external_id``, preferring one that knows its page."""
        self.flush()
        c = DOCUMENTS.c
        with self.sessions() as session:
            row = (
                session.connection()
                .execute(
                    self._known_query()
                    .where(c.external_id == external_id)
                    .order_by(c.intercom_page_id.is_(None))
                    .limit(1)
                )
                .first()
            )
        return None if row is None else Known._make((*row[:5], bool(row[5]), bool(row[6]), row[7]))

    def set_intercom_source(self, intercom_source_id: int, url: str, status: str) -> None:
        """Remember the Content Import Source and the URL and status applied to it."""
        self._update_source(intercom_source_id=intercom_source_id, url=url, status=status)
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
        """A page was created or updated in Intercom; ``replaces`` is a renamed-away ref.

        Buffered: committed with the next batch (see the module docstring), at the latest by
        :meth:`flush`.
        """
        if not self._written:
            self._written_since = time.monotonic()
        if replaces is not None:
            self._replaced.append({"source_id": self.source_pk, "ref_id": replaces})
        self._written.append(
            (
                self.source_pk,
                ref_id,
                external_id,
                version,
                payload_hash,
                page_id,
                title[:1024],  # the column's width
                utcnow(),
            )
        )
        if (
            len(self._written) >= WRITE_BATCH
            or time.monotonic() - self._written_since >= WRITE_BATCH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        """Commit the buffered records of written pages, in one transaction."""
        if not self._written:
            return
        written, replaced = self._written, self._replaced
        with self._engine.begin() as connection:
            # A renamed-away row is never one being written (it is no longer listed), so its
            # delete can go first.
            if replaced:
                connection.execute(self._statement("replaced", connection.dialect.name), replaced)
            driver = self._driver
            if driver is None:
                dialect = connection.dialect
                statement = build_statement("written", dialect.name)
                assert isinstance(statement, sa.ClauseElement)
                driver = self._driver = DriverStatement.compile(statement, WRITTEN_KEYS, dialect)
            connection.exec_driver_sql(driver.sql, driver.rows(written))
        self._written, self._replaced = [], []

    def _statement(self, name: str, dialect: str) -> sa.Executable:
        key = f"{name}:{dialect}"
        statement = self._statements.get(key)
        if statement is None:
            statement = build_statement(name, dialect)
            self._statements[key] = statement
        return statement

    def record_pending(self, writes: Iterable[tuple[str, str]]) -> None:
        """Documents about to be sent for the first time: remember their external ids."""
        rows = [
            {"source_id": self.source_pk, "ref_id": ref_id, "external_id": external_id}
            for ref_id, external_id in writes
        ]
        if not rows:
            return
        self.flush()
        with self._engine.begin() as connection:
            connection.execute(self._statement("pending", connection.dialect.name), rows)

    def record_versions(self, versions: Iterable[tuple[str, str]]) -> None:
        """Documents whose version moved but whose payload did not: nothing was sent."""
        rows = [{"ref": ref_id, "new_version": version} for ref_id, version in versions]
        if not rows:
            return
        self.flush()
        c = DOCUMENTS.c
        statement = (
            sa.update(DOCUMENTS)
            .where(c.source_id == self.source_pk, c.ref_id == sa.bindparam("ref"))
            .values(version=sa.bindparam("new_version"))
        )
        with self._engine.begin() as connection:
            connection.execute(statement, rows)

    def record_failed(
        self,
        ref_id: str,
        error: str,
        *,
        final_version: str | None = None,
        title: str | None = None,
    ) -> None:
        """A document failed; the next run fetches it again whatever its version.

        ``final_version``: the failure is final for this version (the document is too
        large), so it is fetched again only once its version changes. ``title``: the
        document's, when it was fetched (a page never published has no other).
        """
        self.flush()
        with self.sessions.begin() as session:
            row = self._row(session, ref_id)
            row.last_error = history.stored_error(error)
            row.last_error_at = utcnow()
            row.failures = (row.failures or 0) + 1
            row.failed_version = final_version
            if title is not None:
                row.title = title[:1024]  # the column's width

    def record_excluded(self, ref_id: str, version: str) -> None:
        """A document must not be published (a draft); its page, if any, is gone now."""
        self.flush()
        with self.sessions.begin() as session:
            row = self._row(session, ref_id)
            row.version = version
            row.excluded = True
            row.intercom_page_id = None
            row.payload_hash = None
            row.last_error = None
            row.last_error_at = None
            row.failures = 0
            row.failed_version = None

    def record_deleted(self, ref_id: str) -> None:
        """A document is gone from the source and from Intercom."""
        self.flush()
        with self.sessions.begin() as session:
            session.execute(
                sa.delete(DocumentState).where(
                    DocumentState.source_id == self.source_pk, DocumentState.ref_id == ref_id
                )
            )

    def start_run(
        self,
        *,
        full_resync: bool,
        holder: str | None,
        incremental: bool = False,
        keep: int | None = None,
    ) -> int:
        """Open a run row; returns its id (see :func:`syncd.state.history.open_run`)."""
        self.flush()
        with self.sessions.begin() as session:
            self.run_id = history.open_run(
                session,
                self.source_pk,
                full_resync=full_resync,
                holder=holder,
                incremental=incremental,
                keep=keep,
            )
        return self.run_id

    def allow_mass_delete(self) -> None:
        """Mark the open run as let past the safety stop (see :meth:`deleted_since`)."""
        if self.run_id is None:
            return  # a dry run records no run
        self.flush()
        with self.sessions.begin() as session:
            history.allow_mass_delete(session, self.run_id)

    def deleted_since(self, since: dt.datetime) -> int:
        """Pages this source's runs deleted since ``since`` (see
        :func:`syncd.state.history.deleted_since`)."""
        self.flush()
        with self.sessions() as session:
            return history.deleted_since(session, self.source_pk, since)

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        counts: Counts,
        duration: float,
        error: str | None,
        deletions: Mapping[str, int] | None = None,
    ) -> None:
        """Close a run row with its outcome and counts."""
        self.flush()
        with self.sessions.begin() as session:
            history.close_run(
                session,
                run_id,
                status=status,
                counts=counts,
                duration=duration,
                error=error,
                deletions=deletions,
            )

    def set_fingerprint(self, fingerprint: str | None) -> None:
        """Remember the listing fingerprint of a run that handled every document (or forget)."""
        self._update_source(listing_fingerprint=fingerprint)
        self.fingerprint = fingerprint

    def set_converter_version(self, version: str) -> None:
        """Remember that every document was rendered again by this converter version."""
        self._update_source(converter_version=version)
        self.converter_version = version

    def _update_source(self, **values: Any) -> None:
        self.flush()
        with self.sessions.begin() as session:
            session.execute(sa.update(Source).where(Source.id == self.source_pk).values(**values))

    def documents_held(self) -> int:
        """How many documents of this source are tracked (published, excluded or failed)."""
        return self._count()

    def documents_excluded(self) -> int:
        """How many tracked documents of this source are excluded (not to be published)."""
        return self._count(DocumentState.excluded)

    def pages_held(self) -> int:
        """How many pages syncd holds in Intercom for this source."""
        return self._count(DocumentState.intercom_page_id.is_not(None))

    def _count(self, *where: sa.ColumnExpressionArgument[bool]) -> int:
        self.flush()
        query = sa.select(sa.func.count()).select_from(DocumentState)
        with self.sessions() as session:
            count = session.scalar(query.where(DocumentState.source_id == self.source_pk, *where))
            return int(count or 0)
