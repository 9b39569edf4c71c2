"""Run leases on SQLite and PostgreSQL: one holder at a time, expiry after a crash."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from syncd import database
from syncd.errors import LeaseBusy
from syncd.lease import SourceLease

SHORT = dt.timedelta(milliseconds=300)


@pytest.fixture
def sessions(state_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = database.open_database(state_url)
    yield factory
    engine.dispose()


def lease(
    sessions: sessionmaker[Session], ttl: dt.timedelta = dt.timedelta(minutes=5)
) -> SourceLease:
    return SourceLease(sessions, "docs", ttl=ttl, wait=SHORT, poll_interval=0.05)


def test_second_holder_is_refused_with_a_clear_message(sessions: sessionmaker[Session]) -> None:
    """While one run holds a source, another waits, then fails naming the holder."""
    with lease(sessions) as first:
        with pytest.raises(LeaseBusy, match="'docs' is being synced by") as info:
            lease(sessions).acquire()
        assert first.holder in str(info.value)
    with lease(sessions):  # released: free again
        pass


def test_crashed_holder_lease_expires(sessions: sessionmaker[Session]) -> None:
    """A holder that stops renewing (a crash) loses the lease at expiry."""
    crashed = lease(sessions, ttl=dt.timedelta(milliseconds=200))
    assert crashed.try_acquire()  # taken without a heartbeat, as if the process died
    successor = SourceLease(
        sessions,
        "docs",
        ttl=dt.timedelta(minutes=1),
        wait=dt.timedelta(seconds=5),
        poll_interval=0.05,
    )
    successor.acquire()
    successor.release()


def test_heartbeat_keeps_a_long_run_alive(sessions: sessionmaker[Session]) -> None:
    """A holder renews its lease while it runs, so a run longer than the ttl keeps it."""
    import time

    with lease(sessions, ttl=dt.timedelta(milliseconds=300)) as holder:
        time.sleep(1.0)
        assert not holder.lost.is_set()
        with pytest.raises(LeaseBusy):
            lease(sessions).acquire()


def test_racing_contenders_get_one_winner(sessions: sessionmaker[Session]) -> None:
    """Of many threads taking the same lease at once, exactly one wins."""
    contenders = [lease(sessions) for _ in range(6)]
    results: list[bool] = []
    barrier = threading.Barrier(len(contenders))

    def take(contender: SourceLease) -> None:
        barrier.wait()
        try:
            results.append(contender.try_acquire())
        except Exception:
            results.append(False)

    threads = [threading.Thread(target=take, args=(c,)) for c in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
