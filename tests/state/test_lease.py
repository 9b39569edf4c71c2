"""Run leases on SQLite and PostgreSQL: one live holder at a time, a dead one taken over at once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from syncd.errors import LeaseBusy
from syncd.state import database
from syncd.state.lease import SourceLease

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
    """While one run holds a source, another waits, then fails naming the holder's host:pid."""
    with lease(sessions) as first:
        with pytest.raises(LeaseBusy, match="'docs' is being synced by") as info:
            lease(sessions).acquire()
        host, pid, _ = first.holder.split(":")
        assert f"by {host}:{pid};" in str(info.value)
    with lease(sessions):  # released: free again
        pass


# A holder in a process of its own: takes the lease, says so, then waits to be killed.
HOLDER = """
import datetime as dt, sys, time
from syncd.state import database
from syncd.state.lease import SourceLease
_, sessions = database.open_database(sys.argv[1])
ttl = dt.timedelta(seconds=float(sys.argv[2]))
lease = SourceLease(sessions, "docs", ttl=ttl, wait=dt.timedelta(seconds=5))
lease.acquire()
print("held", flush=True)
time.sleep(600)
"""


def start_holder(state_url: str, ttl: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, state_url, str(ttl)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_killed_holder_is_taken_over_at_once(
    state_url: str, sessions: sessionmaker[Session]
) -> None:
    """A run killed with SIGKILL leaves a live-looking row, yet the next run takes over at once."""
    holder = start_holder(state_url, ttl=120)
    try:
        with pytest.raises(LeaseBusy):
            lease(sessions).acquire()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        # The row still says "held for two minutes"; the lock died with the process.
        assert SourceLease(sessions, "docs", ttl=SHORT, wait=SHORT).current_holder() is not None
        successor = SourceLease(
            sessions, "docs", ttl=dt.timedelta(minutes=2), wait=dt.timedelta(seconds=10)
        )
        started = time.monotonic()
        with capture_logs() as logs:
            successor.acquire()
        try:
            assert time.monotonic() - started < 5
            taken = [e for e in logs if e["event"] == "lease.taken_over"]
            assert len(taken) == 1 and taken[0]["previous"].split(":")[1] == str(holder.pid)
            held = successor.current_holder()
            assert held is not None and held[0] == successor.holder
        finally:
            successor.release()
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_frozen_holder_is_never_overtaken(state_url: str, sessions: sessionmaker[Session]) -> None:
    """A holder that is alive but not renewing (stopped with SIGSTOP) keeps its source."""
    holder = start_holder(state_url, ttl=0.2)
    try:
        os.kill(holder.pid, signal.SIGSTOP)
        time.sleep(1.0)  # its lease row has long expired
        with pytest.raises(LeaseBusy):
            SourceLease(
                sessions, "docs", ttl=dt.timedelta(minutes=1), wait=dt.timedelta(seconds=1)
            ).acquire()
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        holder.kill()
        holder.wait(timeout=30)


def test_heartbeat_keeps_a_long_run_alive(sessions: sessionmaker[Session]) -> None:
    """A holder renews its lease while it runs, so a run longer than the ttl keeps it."""
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
