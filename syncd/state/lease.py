"""Run leases: one run per source at a time, across processes and hosts.

A lease has two parts:

holder lock
    A lock the database or the kernel drops when its holder dies (see :mod:`syncd.state.locks`):
    a PostgreSQL advisory lock of the holder's own session, or a file lock on the SQLite
    database. Whoever takes it is the only live run of the source, so a run killed with
    ``kill -9`` (or by the OOM killer, or with its container) is taken over at once, and a live
    holder, on this host or another, never is.
lease row
    A row in the state database naming the holder and an expiry time, renewed from a heartbeat
    thread while the run goes on. It names the holder in "being synced by" messages and, where
    no holder lock exists (SQLite on a platform without OFD locks), it is the whole lease: a
    holder that stops renewing loses it at expiry. Taking it is one conditional UPDATE or one
    INSERT, so exactly one contender wins on SQLite and PostgreSQL alike.

A holder whose lock is lost (its database session ended) or whose row was taken stops at once:
:attr:`SourceLease.lost` is set and the run ends after the document in hand.

Faults of the database itself are not contention: only a lock held by another live run, or
SQLite's "database is locked", is "busy"; a read-only, full, corrupt or unreachable database
raises :class:`~syncd.errors.StateError` at once.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from syncd.errors import LeaseBusy, StateError
from syncd.runtime.resources import Running
from syncd.state import database, locks
from syncd.state.models import Lease, utcnow

log = structlog.get_logger(__name__)

# How often the heartbeat checks that the holder lock is still held: losing the database
# session must stop the run within a second or two, not at the next renewal.
_CHECK_INTERVAL = 1.0


def new_holder_id() -> str:
    """A name for this process's claim: readable (host and pid) and unique (random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SourceLease(Running):
    """The lease of one source, held for the duration of a ``with`` block."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        source_name: str,
        *,
        ttl: dt.timedelta,
        wait: dt.timedelta,
        holder: str | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        self.sessions = sessions
        self.source_name = source_name
        self.ttl = ttl
        self.wait = wait
        self.holder = holder or new_holder_id()
        self.poll_interval = poll_interval
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        bind = sessions.kw["bind"]
        assert isinstance(bind, sa.Engine), bind
        self._lock = locks.lock_for(bind, f"lease:{source_name}")

    def try_acquire(self) -> bool:
        """Take the lease if it is free (or its holder is gone) or ours; True when held.

        Raises StateError when the database cannot be written.
        """
        try:
            if not self._lock.try_take():
                return False
            return self._take_row(force=self._lock.exclusive)
        except SQLAlchemyError as exc:
            if database.is_busy(exc):
                return False
            raise StateError(f"state database: {database.describe(exc)}") from exc

    def _take_row(self, *, force: bool) -> bool:
        """Write our claim; ``force``: the holder lock proves any other claim is dead."""
        now = utcnow()
        expires = now + self.ttl
        free = sa.or_(Lease.expires_at < now, Lease.holder == self.holder)
        with self.sessions.begin() as session:
            row = session.get(Lease, self.source_name) if force else None
            # Read now: the UPDATE below refreshes the row object in the session.
            previous = (row.holder, row.expires_at) if row is not None else None
            taken = session.execute(
                sa.update(Lease)
                .where(Lease.source_name == self.source_name, sa.true() if force else free)
                .values(holder=self.holder, acquired_at=now, expires_at=expires)
            )
            if getattr(taken, "rowcount", 0) == 1:
                if previous is not None and previous[0] != self.holder and previous[1] >= now:
                    log.info(
                        "lease.taken_over",
                        source=self.source_name,
                        previous=previous[0],
                        reason="its process ended",
                    )
                return True
        try:
            with self.sessions.begin() as session:
                session.add(
                    Lease(
                        source_name=self.source_name,
                        holder=self.holder,
                        acquired_at=now,
                        expires_at=expires,
                    )
                )
        except IntegrityError:
            return False
        return True

    def current_holder(self) -> tuple[str, dt.datetime] | None:
        """Who holds the lease and until when, if anyone does."""
        with self.sessions() as session:
            row = session.get(Lease, self.source_name)
            return (row.holder, row.expires_at) if row else None

    def acquire(self) -> None:
        """Take the lease, waiting up to ``wait``; LeaseBusy names the holder otherwise."""
        deadline = time.monotonic() + self.wait.total_seconds()
        try:
            while not (held := self.try_acquire()) and time.monotonic() < deadline:
                log.debug("lease.contended", source=self.source_name)
                time.sleep(self.poll_interval)
        except BaseException:
            self._lock.release()
            raise
        if not held:
            self._lock.release()
            raise LeaseBusy(self._busy_message())
        self._stop.clear()
        self._heartbeat = threading.Thread(
            target=self._renew_loop, name=f"lease-{self.source_name}", daemon=True
        )
        self._heartbeat.start()

    def _busy_message(self) -> str:
        try:
            held = self.current_holder()
        except SQLAlchemyError:
            held = None
        who = "another run"
        if held is not None:
            host, _, rest = held[0].partition(":")
            who = f"{host}:{rest.partition(':')[0]}" if rest else held[0]
        return f"source {self.source_name!r} is being synced by {who}; try again later" + (
            "" if self._lock.exclusive else " (a crashed run's lease expires on its own)"
        )

    def _renew_loop(self) -> None:
        renew_every = max(self.ttl.total_seconds() / 3, 0.05)
        renewed = time.monotonic()
        while not self._stop.wait(min(renew_every, _CHECK_INTERVAL)):
            if not self._lock.alive():
                log.error("lease.lost", source=self.source_name, reason="database session lost")
                self.lost.set()
                return
            if time.monotonic() - renewed < renew_every:
                continue
            try:
                still_ours = self._take_row(force=False)
            except SQLAlchemyError as exc:
                log.warning(
                    "lease.renew_failed", source=self.source_name, error=database.describe(exc)
                )
                continue
            if not still_ours:
                log.error("lease.lost", source=self.source_name, reason="taken by another run")
                self.lost.set()
                return
            renewed = time.monotonic()

    def release(self) -> None:
        """Stop renewing and give the lease up (only if it is still ours).

        Never raises: a database lost mid-run has already dropped the holder lock, and the
        row expires on its own; the error that ended the run is the one worth reporting.
        """
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        try:
            with self.sessions.begin() as session:
                session.execute(
                    sa.delete(Lease).where(
                        Lease.source_name == self.source_name, Lease.holder == self.holder
                    )
                )
        except SQLAlchemyError as exc:
            log.warning(
                "lease.release_failed", source=self.source_name, error=database.describe(exc)
            )
        finally:
            self._lock.release()

    # `with lease:` holds it for the block (the Running protocol).
    def start(self) -> None:
        """Acquire the lease (see :meth:`acquire`)."""
        self.acquire()

    def stop(self) -> None:
        """Release the lease (see :meth:`release`)."""
        self.release()
