"""The Core statements of the tracker's batched writes, one per SQL dialect.

Writes go through SQLAlchemy Core statements built once per tracker (see
:mod:`syncd.state.tracker`): the ORM's unit of work and per-statement cache keys were the
largest cost of a full sync. Each statement takes bind parameters, for ``executemany``:

written
    The record of a page created or updated: an upsert of the document's row.
replaced
    The row of a renamed-away document whose page a write took over: deleted.
pending
    A first write's intent, its external id, committed before the request leaves; a row that
    already knows its page keeps its external id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

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
        base = insert(DOCUMENTS)
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
