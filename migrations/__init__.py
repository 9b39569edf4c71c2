"""Alembic migrations of the state database; applied by every command on start.

Linked into the package as ``syncd/migrations``; its one import name is ``syncd.migrations``
(see :mod:`syncd.connectors` for why).
"""

if __name__ != "syncd.migrations":
    raise ImportError(f"import syncd.migrations, not {__name__}: the migrations have one name")

# The newest revision, so that a start-up whose database is current need not load Alembic.
# A test checks it against the scripts; update it with every new migration.
HEAD = "0009"
