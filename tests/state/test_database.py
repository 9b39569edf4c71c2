"""The state database: migrations on SQLite and PostgreSQL, drift, concurrent start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from syncd.state import database
from syncd.state.models import Base


def test_migrations_reach_head(state_url: str) -> None:
    """A new database is migrated to the newest revision and is then ready."""
    engine, _ = database.open_database(state_url)
    try:
        assert database.current_revision(engine) == database.head_revision()
        assert database.readiness(engine) is None
        tables = set(sa.inspect(engine).get_table_names())
        assert {"sources", "documents", "runs", "leases"} <= tables
    finally:
        engine.dispose()


def test_models_match_migrations(state_url: str) -> None:
    """The models and the migrated schema do not drift apart."""
    engine, _ = database.open_database(state_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(state_url: str) -> None:
    """Opening an up-to-date database again changes nothing."""
    for _ in range(2):
        engine, _ = database.open_database(state_url)
        engine.dispose()


def test_two_processes_migrating_at_once(state_url: str) -> None:
    """Two processes starting together both succeed; the schema is migrated once."""
    code = (
        "import sys; from syncd.state import database; "
        "e, _ = database.open_database(sys.argv[1]); e.dispose()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, state_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    engine = database.create_db_engine(state_url)
    try:
        assert database.readiness(engine) is None
    finally:
        engine.dispose()


def test_unreachable_database_is_a_state_error() -> None:
    """A database that cannot be reached is reported as a state error (exit code 5)."""
    import pytest

    from syncd.errors import StateError

    with pytest.raises(StateError, match="state database") as info:
        database.open_database("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(info.value)
    assert info.value.exit_code == 5


def test_failed_sqlite_migration_leaves_no_half_schema(tmp_path: object) -> None:
    """A migration that fails part-way on SQLite rolls back every table it created."""
    import pytest

    from syncd.errors import StateError

    url = f"sqlite:///{tmp_path}/half.db"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE runs (x INTEGER)"))  # collides mid-migration
    with pytest.raises(StateError):
        database.open_database(url)
    assert set(sa.inspect(engine).get_table_names()) == {"runs"}
    engine.dispose()


def test_head_constant_matches_the_migration_scripts() -> None:
    """migrations.HEAD, used to skip loading Alembic at start-up, is the scripts' head."""
    from syncd import migrations

    assert database.head_revision() == migrations.HEAD


def test_sqlite_leaves_no_lock_file_beside_the_database(tmp_path: Path) -> None:
    """Migrating an SQLite database locks the file itself: nothing but the database remains."""
    (tmp_path / "state.db.migrate-lock").touch()  # left by an earlier version
    engine, _ = database.open_database(f"sqlite:///{tmp_path / 'state.db'}")
    engine.dispose()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]
