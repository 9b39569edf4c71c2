"""A connector's memory kept in the state database (see :class:`syncd.connectors.base.Memory`).

Nothing is read until the connector first asks (a change trigger's connector never does);
then every value of the source is read at once; a value put is
committed at once (a connector puts a few values per run, such as a git source's renamed files
after its listing). A dry run reads the stored values and keeps what it puts in this process
only: it writes nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd.connectors.base import Memory
from syncd.state.models import ConnectorMemory, Source, utcnow

_TABLE: sa.Table = ConnectorMemory.__table__  # type: ignore[assignment]


class StoredMemory(Memory):
    """The memory of the source named ``source_name`` (its row is the tracker's)."""

    def __init__(
        self, sessions: sessionmaker[Session], source_name: str, *, dry_run: bool = False
    ) -> None:
        self.sessions = sessions
        self.source_name = source_name
        self.dry_run = dry_run
        self._source_pk: int | None = None
        self._values: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._values is None:
            with self.sessions() as session:
                self._source_pk = session.scalar(
                    sa.select(Source.id).where(Source.name == self.source_name)
                )
                query = sa.select(_TABLE.c.key, _TABLE.c.value).where(
                    _TABLE.c.source_id == self._source_pk
                )
                self._values = {row.key: row.value for row in session.execute(query)}
        return self._values

    def get(self, key: str) -> str | None:
        return self._load().get(key)

    def put(self, key: str, value: str | None) -> None:
        values = self._load()
        if values.get(key) == value:
            return
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
        if self.dry_run or self._source_pk is None:
            # A dry run writes nothing; a source without a row has never run (a run's tracker
            # makes the row before its connector lists), so there is no run to remember.
            return
        where = (_TABLE.c.source_id == self._source_pk) & (_TABLE.c.key == key)
        with self.sessions.begin() as session:
            # Delete and insert: the same two statements on SQLite and PostgreSQL.
            session.execute(sa.delete(_TABLE).where(where))
            if value is not None:
                session.execute(
                    sa.insert(_TABLE).values(
                        source_id=self._source_pk, key=key, value=value, updated_at=utcnow()
                    )
                )
