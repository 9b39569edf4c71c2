"""Run leases: one run per source at a time, across processes and hosts.

A lease is a row in the state database naming the holder of a source until an expiry time.
Taking it is one conditional UPDATE (the row exists but expired, or is ours) or one INSERT (no
row yet); the database's row locking and primary key make exactly one contender win, on SQLite
and PostgreSQL alike. The holder renews it from a heartbeat thread while it runs, so a long
fetch does not lose it, and a holder that crashed stops renewing and loses it at expiry.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from types import TracebackType
from typing import Self

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from syncd.errors import LeaseBusy
from syncd.models import Lease, utcnow

log = structlog.get_logger(__name__)


def new_holder_id() -> str:
    """A name for this process's claim: readable (host and pid) and unique (random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SourceLease:
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

    def try_acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours; True when we hold it."""
        now = utcnow()
        expires = now + self.ttl
        with self.sessions.begin() as session:
            taken = session.execute(
                sa.update(Lease)
                .where(
                    Lease.source_name == self.source_name,
                    sa.or_(Lease.expires_at < now, Lease.holder == self.holder),
                )
                .values(holder=self.holder, acquired_at=now, expires_at=expires)
            )
            if getattr(taken, "rowcount", 0) == 1:
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
        while True:
            try:
                if self.try_acquire():
                    break
            except OperationalError:
                # SQLite answers "database is locked" when two processes race for the row;
                # that is the same as losing this round.
                log.debug("lease.contended", source=self.source_name)
            if time.monotonic() >= deadline:
                held = self.current_holder()
                who = f"{held[0]} until {held[1]:%Y-%m-%d %H:%M:%S} UTC" if held else "another run"
                raise LeaseBusy(
                    f"source {self.source_name!r} is being synced by {who}; "
                    "try again later (a crashed run's lease expires on its own)"
                )
            time.sleep(self.poll_interval)
        self._stop.clear()
        self._heartbeat = threading.Thread(
            target=self._renew_loop, name=f"lease-{self.source_name}", daemon=True
        )
        self._heartbeat.start()

    def _renew_loop(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)
        while not self._stop.wait(interval):
            try:
                still_ours = self.try_acquire()
            except OperationalError as exc:
                log.warning("lease.renew_failed", source=self.source_name, error=str(exc))
                continue
            if not still_ours:
                log.error("lease.lost", source=self.source_name)
                self.lost.set()
                return

    def release(self) -> None:
        """Stop renewing and give the lease up (only if it is still ours)."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        with self.sessions.begin() as session:
            session.execute(
                sa.delete(Lease).where(
                    Lease.source_name == self.source_name, Lease.holder == self.holder
                )
            )

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
