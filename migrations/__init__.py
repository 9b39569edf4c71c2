"""Alembic migrations of the state database; applied by every command on start."""

# The newest revision, so that a start-up whose database is current need not load Alembic.
# A test checks it against the scripts; update it with every new migration.
HEAD = "0007"
