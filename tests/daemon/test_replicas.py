"""Several `syncd run` replicas on one PostgreSQL share the work, and survive losing one."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncd.sandbox import SandboxServer, SandboxSettings
from syncd.state import database
from tests.daemon.conftest import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
SITE_URL = "https://docs.example.com"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token="t", rate_limit=0)) as server:
        yield server


def setup(root: Path, sandbox: SandboxServer, pg_url: str, *, pages: int, interval: str) -> Path:
    engine, _ = database.open_database(pg_url)  # migrated before the replicas race to it
    engine.dispose()
    site = root / "site"
    site.mkdir()
    for number in range(pages):
        (site / f"page-{number:03}.md").write_text(f"# Page {number}\n\nBody {number}.\n")
    config = {
        "intercom": {"token": "t", "base_url": sandbox.url, "max_concurrency": 2},
        "state": {"url": pg_url, "lease_ttl": "6s", "lease_wait": "2s"},
        "server": {"host": "127.0.0.1", "port": 0},
        "sources": [
            {
                "name": "docs",
                "connector": "markdown",
                "url": SITE_URL,
                "schedule": {"interval": interval},
                "options": {"path": str(site), "base_url": f"{SITE_URL}/"},
            }
        ],
    }
    path = root / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def start_replicas(config: Path, count: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "syncd", "--log-format", "json", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop(replicas: list[subprocess.Popen[bytes]]) -> list[int | None]:
    for replica in replicas:
        if replica.poll() is None:
            replica.send_signal(signal.SIGTERM)
    return [replica.wait(timeout=60) for replica in replicas]


def runs(pg_url: str) -> list[tuple[dt.datetime, str, str]]:
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT started_at, status, holder FROM runs ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    return [(row[0].replace(tzinfo=dt.UTC), row[1], row[2] or "") for row in rows]


def published(sandbox: SandboxServer) -> list[str]:
    sources = [s for s in sandbox.store.list_sources() if s["url"] == SITE_URL]
    assert len(sources) == 1, "duplicate content import sources"
    return sorted(str(p["external_id"]) for p in sandbox.store.pages_of(int(sources[0]["id"])))


def test_three_replicas_sync_each_tick_once(
    tmp_path: Path, sandbox: SandboxServer, pg_url: str
) -> None:
    """Three daemons with one configuration make about one run per tick between them."""
    config = setup(tmp_path, sandbox, pg_url, pages=20, interval="5s")
    replicas = start_replicas(config, 3)
    try:
        # Past every replica's start-up run, count the runs of four whole ticks.
        wait_until(lambda: time.sleep(0.2) or len(runs(pg_url)) >= 1, timeout=90)
        time.sleep(6.0)
        first = dt.datetime.now(dt.UTC)
        time.sleep(20.0)
        last = dt.datetime.now(dt.UTC)
    finally:
        codes = stop(replicas)
    assert codes == [0, 0, 0]
    counted = [r for r in runs(pg_url) if first <= r[0] <= last]
    assert all(status == "ok" for _, status, _ in counted), counted
    # 20 s hold four ticks (five if the window catches both ends): one run each, not three.
    shown = [f"{r[0]:%M:%S.%f} {r[2]}" for r in counted]
    assert 3 <= len(counted) <= 5, shown
    assert published(sandbox) == [f"page-{n:03}.md" for n in range(20)]


def test_killed_replica_work_is_finished_by_another(
    tmp_path: Path, sandbox: SandboxServer, pg_url: str
) -> None:
    """SIGKILL of the replica mid-run: another finishes the source within a lease period + tick."""
    config = setup(tmp_path, sandbox, pg_url, pages=300, interval="8s")
    sandbox.settings.latency_ms = 40  # a run of a few seconds, to be killed in the middle
    replicas = start_replicas(config, 2)
    try:
        wait_until(lambda: sandbox.store.requests(method="POST") >= 30, timeout=90)
        holder = runs(pg_url)[-1][2]
        pid = int(holder.split(":")[1])
        victim = next(r for r in replicas if r.pid == pid)
        os.kill(pid, signal.SIGKILL)
        victim.wait(timeout=30)
        killed = dt.datetime.now(dt.UTC)
        survivor = next(r for r in replicas if r is not victim)

        def finished() -> bool:
            time.sleep(0.2)
            return any(s == "ok" and started > killed for started, s, _ in runs(pg_url))

        # lease_ttl (6 s) + one tick (8 s), with room for a loaded machine's run itself.
        wait_until(finished, timeout=6 + 8 + 40)
        took = (dt.datetime.now(dt.UTC) - killed).total_seconds()
        assert survivor.poll() is None
    finally:
        sandbox.settings.latency_ms = 0
        stop(replicas)
    ok_after = [r for r in runs(pg_url) if r[0] > killed and r[1] == "ok"]
    assert ok_after and str(survivor.pid) in ok_after[0][2]
    assert took < 6 + 8 + 40
    assert published(sandbox) == [f"page-{n:03}.md" for n in range(300)]
