"""The state database: connecting, migrating to the current schema, checking readiness.

Every command calls :func:`open_database`, which applies pending Alembic migrations before
anything else touches the schema. Two processes starting at once must not both migrate:
PostgreSQL serialises them with an advisory lock, SQLite with a lock on one byte of the
database file itself (see :mod:`syncd.state.locks`; no lock file is left beside it). The loser
waits, then finds the schema already at head.

Faults are told apart here (:func:`is_busy`, :func:`describe`): only SQLite's "database is
locked" is contention worth waiting on; anything else (read-only, full, corrupt, unreachable)
is a :class:`~syncd.errors.StateError`, reported at once with the database's own reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import stamina
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from syncd import migrations
from syncd.errors import StateError
from syncd.state import locks

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# Any constant works; it only has to be the same in every syncd process.
_PG_MIGRATION_LOCK = 0x5E11C0D
# Where earlier versions kept their SQLite migration lock; removed when found.
_OLD_LOCK_SUFFIX = ".migrate-lock"


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets `syncd status` read while a run writes; the busy timeout makes concurrent
    # writers wait for each other instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str | URL) -> Engine:
    """An engine for ``url`` with the settings syncd relies on."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    # A database host that does not answer fails the command in 10 s instead of hanging.
    return sa.create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"connect_timeout": 10},
    )


@contextlib.contextmanager
def _sqlite_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:" or not locks.ofd_available():
        yield  # BEGIN IMMEDIATE alone still serialises the migrations themselves
        return
    fd = locks.open_for_locking(database)
    try:
        locks.ofd_lock(fd, locks.MIGRATION_OFFSET, wait=True)
        with contextlib.suppress(FileNotFoundError):
            Path(f"{database}{_OLD_LOCK_SUFFIX}").unlink()
        yield
    finally:
        os.close(fd)


def head_revision() -> str | None:
    """The newest migration shipped with this version of syncd (read from the scripts)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    # Read with plain SQL: importing Alembic costs more than a no-op sync of a small source.
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        rows = [row[0] for row in versions]
    return rows[0] if len(rows) == 1 else None


def upgrade(engine: Engine) -> None:
    """Apply every pending migration, safely when several processes start at once."""
    if current_revision(engine) == migrations.HEAD:
        return
    from alembic import command

    config = _alembic_config()
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK}
            )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        return
    # pysqlite commits DDL statement by statement unless it is told to leave transactions to
    # us; a process killed mid-migration would leave half a schema behind. This engine makes
    # the whole upgrade one transaction.
    ddl_engine = sa.create_engine(engine.url, connect_args={"timeout": 30})

    @sa.event.listens_for(ddl_engine, "connect")
    def _manual_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(ddl_engine, "begin")
    def _begin_immediate(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with _sqlite_lock(engine), ddl_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        ddl_engine.dispose()


def open_database(url: str | URL) -> tuple[Engine, sessionmaker[Session]]:
    """Connect, migrate to head, and return the engine and a session factory."""
    engine = create_db_engine(url)
    try:
        for attempt in stamina.retry_context(
            on=_sqlite_busy, attempts=10, timeout=60, wait_initial=0.1, wait_max=2.0
        ):
            with attempt:
                upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        shown = sa.make_url(url).render_as_string(hide_password=True)
        raise StateError(f"state database {shown}: {_first_line(exc)}") from exc
    return engine, sessionmaker(engine, expire_on_commit=False)


def _sqlite_busy(exc: Exception) -> bool:
    # Two processes opening a new SQLite file race to switch it to WAL; SQLite refuses one of
    # them at once ("database is locked") instead of waiting. Trying again a moment later
    # finds the file switched.
    return isinstance(exc, OperationalError) and "locked" in str(exc.orig)


def readiness(engine: Engine) -> str | None:
    """None when the database answers and is at the newest migration, else why not."""
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        return f"state database unreachable: {_first_line(exc)}"
    head = migrations.HEAD
    if current != head:
        return f"state database at migration {current}, expected {head}"
    return None


def is_busy(exc: BaseException) -> bool:
    """Whether a database error is contention (another writer), not a fault of the database."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def describe(exc: BaseException) -> str:
    """The database's own reason for an error, in one line, without the SQL statement."""
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
