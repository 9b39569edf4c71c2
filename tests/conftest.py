"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd.sandbox import SandboxServer, SandboxSettings
from syncd.state import database
from tests.engine_harness import TOKEN

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


def in_ci() -> bool:
    """Whether CI=true (or 1, yes): a missing service or fixture is then a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(reason: str) -> NoReturn:
    """Skip the test for ``reason``, or fail it in CI, where nothing may go untested."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """The real exports and Markdown trees kept beside the project; skips when absent."""
    if not SHARED_FIXTURES.is_dir():
        missing(
            f"shared fixtures not found: expected the folder ../shared/fixtures beside the"
            f" project root ({SHARED_FIXTURES})"
        )
    return SHARED_FIXTURES


PG_ADMIN_URL = os.environ.get(
    "SYNCD_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"syncd_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        shown = sa.make_url(PG_ADMIN_URL).render_as_string(hide_password=True)
        missing(
            f"PostgreSQL not reachable at {shown} ({str(exc.orig).strip().splitlines()[0]}):"
            " start it (pg_ctlcluster <version> main start), install it (apt-get install"
            " postgresql) with trust auth and a database 'test', or point SYNCD_TEST_POSTGRES"
            " at another server"
        )
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A state database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """The Intercom stand-in on loopback, shared by a module's tests; modules may override it."""
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


@pytest.fixture
def sessions(state_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated state database, once on SQLite and once on PostgreSQL."""
    engine, factory = database.open_database(state_url)
    yield factory
    engine.dispose()
