"""Alembic migrations of the state database; applied by every command on start."""
