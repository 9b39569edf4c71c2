"""Alembic environment: runs migrations on the connection syncd hands over.

syncd applies migrations programmatically (see :mod:`syncd.state.database`), passing an open
connection in ``config.attributes["connection"]``. Running ``alembic`` by hand needs
``sqlalchemy.url`` set in an ``alembic.ini`` of your own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from syncd.state.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the given connection, or on one made from ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as fresh:
        _run(fresh)


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `syncd db upgrade`")
run_migrations_online()
