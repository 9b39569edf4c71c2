"""Locks that the operating system or the database releases when their holder dies.

A lease row alone cannot tell a crashed run from a live one until the row expires: the row
says "held until" whether or not its holder still exists. These locks can: they live exactly
as long as the process (or its database session) that took them, so a lock that can be taken
proves that its previous holder is gone.

database lock
    On PostgreSQL, a session-level advisory lock held on a connection of its own. The server
    drops it when that session ends: the process exited or was killed (the kernel closes the
    socket), or the connection was lost.
file lock
    On SQLite, an open file description (OFD) lock on one byte of the database file itself,
    far beyond anything SQLite locks. The kernel drops it when the process exits, however it
    exits; unlike classic POSIX locks it is not lost when SQLite closes another descriptor of
    the same file, and unlike ``flock`` it can cover one source without covering the others.
    No extra file is created. OFD locks are Linux-only; elsewhere :func:`lock_for` gives
    :class:`NoLock` and leases fall back to expiry alone.

Every lock is keyed by a name: the same name is the same lock in every process.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import struct
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from syncd.errors import StateError

# Byte offsets of OFD locks: SQLite locks bytes around 1 GiB (its "pending byte"); these sit
# past 4 EiB, where no database file ever reaches, and a key picks one byte among 2**40.
_OFD_BASE = 1 << 62
_OFD_SPAN = 1 << 40
#: The byte whose lock serialises migrations of one SQLite database (below every key's byte).
MIGRATION_OFFSET = _OFD_BASE - 1
_F_OFD_SETLK: int | None = getattr(fcntl, "F_OFD_SETLK", None)
_F_OFD_SETLKW: int | None = getattr(fcntl, "F_OFD_SETLKW", None)


def lock_key(name: str) -> int:
    """A signed 64-bit number for ``name``, the same in every process."""
    digest = hashlib.blake2b(f"syncd:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class HolderLock(Protocol):
    """A lock that dies with its holder (see the module docstring)."""

    #: Whether holding it proves that nobody else runs (False only for :class:`NoLock`).
    exclusive: bool

    def try_take(self) -> bool:
        """Take the lock if nobody holds it; False when a live process does."""

    def alive(self) -> bool:
        """Whether the lock is still held (a database session can be lost)."""

    def release(self) -> None:
        """Give the lock up; safe to call when it was never taken or is already lost."""


class NoLock:
    """No lock available: holding means nothing, expiry alone protects the lease."""

    exclusive = False

    def try_take(self) -> bool:
        return True

    def alive(self) -> bool:
        return True

    def release(self) -> None:
        pass


class FileLock:
    """An OFD write lock on one byte of ``path`` (Linux), taken without waiting."""

    exclusive = True

    def __init__(self, path: str, name: str) -> None:
        self.path = path
        self.offset = _OFD_BASE + lock_key(name) % _OFD_SPAN
        self._fd: int | None = None

    def try_take(self) -> bool:
        assert _F_OFD_SETLK is not None
        if self._fd is None:
            self._fd = open_for_locking(self.path)
        return ofd_lock(self._fd, self.offset, wait=False)

    def alive(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor of the description drops it
            self._fd = None


class DatabaseLock:
    """A PostgreSQL session-level advisory lock on a connection of its own."""

    exclusive = True

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.key = lock_key(name)
        self._connection: sa.Connection | None = None

    def try_take(self) -> bool:
        if self._connection is None:
            connection = self.engine.connect()
            try:
                # The server notices a holder that vanished without closing its socket (a
                # host that lost power or its network) within about a minute, not two hours.
                connection.exec_driver_sql(
                    "SET tcp_keepalives_idle = 20; SET tcp_keepalives_interval = 5;"
                    " SET tcp_keepalives_count = 4"
                )
                connection.commit()
            except BaseException:
                connection.invalidate()
                connection.close()
                raise
            self._connection = connection
        taken = self._connection.execute(
            sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
        ).scalar_one()
        self._connection.commit()
        return bool(taken)

    def alive(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.exec_driver_sql("SELECT 1")
            self._connection.commit()
        except SQLAlchemyError:
            return False
        return True

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        # Never hand a connection that may still hold the lock back to the pool: a pooled
        # session keeps its advisory locks. Discarding it ends the session, which drops them.
        connection.invalidate()
        connection.close()


def lock_for(engine: Engine, name: str) -> HolderLock:
    """The lock of ``name`` for the state database behind ``engine``."""
    if engine.dialect.name == "postgresql":
        return DatabaseLock(engine, name)
    database = engine.url.database
    if _F_OFD_SETLK is None or not database or database == ":memory:":
        return NoLock()
    return FileLock(database, name)


def open_for_locking(path: str) -> int:
    """A read-write descriptor of an SQLite database file; StateError when it is read-only."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise StateError(
                f"state database {path} is read-only ({exc.strerror}): syncd must be able to"
                " write it and the folder it is in"
            ) from exc
        raise StateError(f"state database {path}: {exc.strerror}") from exc


def ofd_available() -> bool:
    """Whether this platform has open file description locks (Linux)."""
    return _F_OFD_SETLK is not None


def ofd_lock(fd: int, offset: int, *, wait: bool) -> bool:
    """Write-lock one byte at ``offset``; without ``wait``, False when another holds it."""
    command = _F_OFD_SETLKW if wait else _F_OFD_SETLK
    assert command is not None
    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks), padding.
    request = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)
    try:
        fcntl.fcntl(fd, command, request)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True
