"""The Core statements of the tracker's batched writes, one per SQL dialect.

Writes go through SQLAlchemy Core statements built once per tracker (see
:mod:`syncd.state.tracker`): the ORM's unit of work and per-statement cache keys were the
largest cost of a full sync. Each statement takes bind parameters, for ``executemany``:

written
    The record of a page created or updated: an upsert of the document's row. Run by the
    driver (:class:`DriverStatement`), its rows in the order of :data:`WRITTEN_KEYS`.
replaced
    The row of a renamed-away document whose page a write took over: deleted.
pending
    A first write's intent, its external id, committed before the request leaves; a row that
    already knows its page keeps its external id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from syncd.state.models import DocumentState

DOCUMENTS: sa.Table = DocumentState.__table__  # type: ignore[assignment]
# What recording a written page sets, besides its key (source, ref id).
WRITTEN_COLUMNS = (
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
    "failed_version",
)

# The per-row values of a written record, in the order a DriverStatement takes them; the other
# columns of WRITTEN_COLUMNS are the same for every record (no error, not excluded).
WRITTEN_KEYS = (
    "source_id",
    "ref_id",
    "external_id",
    "version",
    "payload_hash",
    "intercom_page_id",
    "title",
    "last_written_at",
)


@dataclasses.dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled once for a dialect, its rows handed straight to the driver.

    SQLAlchemy processes every parameter of every row of an ``executemany`` (key lookups,
    type processors for each column); for the records of written pages that cost several
    times the statement itself. Here a row is a tuple in the order of ``keys`` and only the
    columns whose type needs a conversion for the driver are converted (:meth:`rows`).
    """

    sql: str
    keys: tuple[str, ...]
    order: tuple[int, ...] | None  # a positional driver's order of `keys`; None: dicts
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (index in keys, conversion)

    @classmethod
    def compile(
        cls, statement: sa.ClauseElement, keys: tuple[str, ...], dialect: sa.Dialect
    ) -> DriverStatement:
        """``statement``, whose bind parameters are the columns ``keys``, for ``dialect``."""
        compiled = statement.compile(dialect=dialect, for_executemany=True)
        assert isinstance(compiled, SQLCompiler), compiled
        order = None
        if compiled.positional:
            order = tuple(keys.index(name) for name in compiled.positiontup or ())
            assert sorted(order) == list(range(len(keys))), compiled.positiontup
        processors = []
        for index, key in enumerate(keys):
            convert = DOCUMENTS.c[key].type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                processors.append((index, convert))
        return cls(compiled.string, keys, order, tuple(processors))

    def rows(self, records: Sequence[tuple[Any, ...]]) -> list[Any]:
        """The driver's parameters for ``records`` (tuples in the order of ``keys``)."""
        rows: list[Any] = []
        order, keys = self.order, self.keys
        for record in records:
            values = list(record)
            for index, convert in self.processors:
                values[index] = convert(values[index])
            if order is None:
                rows.append(dict(zip(keys, values, strict=True)))
            else:
                rows.append(tuple([values[i] for i in order]))
        return rows


def dialect_insert(dialect: str) -> Callable[[Any], Any]:
    """The INSERT with ON CONFLICT clauses of ``dialect`` (SQLite or PostgreSQL)."""
    # Imported here: a run needs one dialect, and a no-op run neither.
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return pg_insert


def build_statement(name: str, dialect: str) -> sa.Executable:
    """The Core statement ``name`` for ``dialect``, with bind parameters for executemany."""
    insert = dialect_insert(dialect)
    c = DOCUMENTS.c
    key = [c.source_id, c.ref_id]
    if name == "replaced":
        return sa.delete(DOCUMENTS).where(
            c.source_id == sa.bindparam("source_id"), c.ref_id == sa.bindparam("ref_id")
        )
    if name == "written":
        # The columns every record sets alike are SQL literals, not parameters of each row.
        base = insert(DOCUMENTS).values(
            {name: sa.bindparam(name) for name in WRITTEN_KEYS}
            | {
                "excluded": sa.false(),
                "last_error": sa.null(),
                "last_error_at": sa.null(),
                "failures": sa.literal_column("0"),
                "failed_version": sa.null(),
            }
        )
        written: sa.Executable = base.on_conflict_do_update(
            index_elements=key,
            set_={name: base.excluded[name] for name in WRITTEN_COLUMNS},
        )
        return written
    assert name == "pending", name
    base = insert(DOCUMENTS).values(excluded=False, failures=0)
    # A row that knows its page keeps its external id: the write will tell.
    pending: sa.Executable = base.on_conflict_do_update(
        index_elements=key,
        set_={"external_id": base.excluded.external_id, "excluded": False},
        where=c.intercom_page_id.is_(None),
    )
    return pending
