"""Several `syncd run` replicas on one PostgreSQL: runs per tick, and losing one mid-run.

share
    For 1, 2 and 3 replicas: a 500-page Markdown tree, a 10-second interval, every replica
    started at once; after the start-up runs, the runs made during 60 seconds (six ticks) are
    counted. One replica makes one run per tick; more replicas must not make more.
kill
    Two replicas, 2,000 pages, an Intercom stand-in answering after 10 ms. Once the first run
    has written 200 pages, the replica running it is killed with SIGKILL; measured: the time
    until the other replica has finished the source (a run that started after the kill ended
    ``ok``), against the bound of one lease period plus one tick.

Both check that Intercom holds each page of the tree exactly once.

Needs PostgreSQL (``SYNCD_BENCH_POSTGRES``, default the local server, database ``test``):
each run creates and drops a database of its own.

Usage: python -m bench.replicas [share|kill|both]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.harness import (
    PYTHON,
    ROOT,
    SOURCE_URL,
    TOKEN,
    Sandbox,
    emit,
    markdown_source,
    write_markdown_tree,
)
from syncd.state import database

ADMIN_URL = os.environ.get(
    "SYNCD_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
INTERVAL = 10
LEASE_TTL = 120  # the default


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards; its URL."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"syncd_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine, _ = database.open_database(url)  # migrated before the replicas race to it
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_config(folder: Path, sandbox_url: str, state_url: str, tree: Path) -> Path:
    source = {**markdown_source(tree), "schedule": {"interval": f"{INTERVAL}s"}}
    config = {
        "intercom": {"token": TOKEN, "base_url": sandbox_url, "max_concurrency": 4},
        "state": {"url": state_url},  # default lease: 2 minutes
        "server": {"host": "127.0.0.1", "port": 0},
        "sources": [source],
    }
    path = folder / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def start(config: Path, count: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    command = [PYTHON, "-m", "syncd", "--log-format", "json", "--config", str(config), "run"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return [
        subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=(logs / f"replica-{n}.log").open("wb"),
            cwd=ROOT,
            env=env,
        )
        for n in range(count)
    ]


def stop(replicas: list[subprocess.Popen[bytes]]) -> list[int]:
    for replica in replicas:
        if replica.poll() is None:
            replica.send_signal(signal.SIGTERM)
    return [replica.wait(timeout=120) for replica in replicas]


def runs(engine: sa.Engine) -> list[dict[str, Any]]:
    query = sa.text("SELECT started_at, finished_at, status, holder, created FROM runs ORDER BY id")
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        {
            "started": row[0].replace(tzinfo=dt.UTC),
            "finished": row[1].replace(tzinfo=dt.UTC) if row[1] else None,
            "status": row[2],
            "holder": row[3] or "",
            "created": row[4],
        }
        for row in rows
    ]


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def pages_held(sandbox: Sandbox) -> tuple[int, int]:
    """(pages of our source, distinct external ids among them)."""
    held = sandbox.command("pages")
    ours = {s["id"] for s in held["sources"] if s["url"] == SOURCE_URL}
    pages = [p for p in held["pages"] if p["source_id"] in ours]
    return len(pages), len({p["external_id"] for p in pages})


def share(count: int, folder: Path) -> dict[str, Any]:
    """Runs per tick with ``count`` replicas."""
    window = 6 * INTERVAL
    with fresh_database() as url, Sandbox() as sandbox:
        tree = folder / "site"
        write_markdown_tree(tree, 500)
        config = write_config(folder, sandbox.url, url, tree)
        engine = sa.create_engine(url)
        replicas = start(config, count, folder)
        try:
            wait_for(lambda: any(r["status"] == "ok" for r in runs(engine)), 120)
            time.sleep(INTERVAL)  # past every replica's start-up run
            first = dt.datetime.now(dt.UTC)
            time.sleep(window)
            last = dt.datetime.now(dt.UTC)
        finally:
            codes = stop(replicas)
        counted = [r for r in runs(engine) if first <= r["started"] <= last]
        engine.dispose()
        held, distinct = pages_held(sandbox)
    holders = sorted({r["holder"].split(":")[1] for r in counted})
    return {
        "replicas": count,
        "window_s": window,
        "ticks_in_window": window // INTERVAL,
        "runs_in_window": len(counted),
        "runs_by_status": {s: sum(r["status"] == s for r in counted) for s in ("ok", "partial")},
        "replicas_that_ran": len(holders),
        "exit_codes": codes,
        "pages_held": held,
        "duplicates": held - distinct,
        "ok": codes == [0] * count and held == distinct == 500 and len(counted) <= 7,
    }


def kill(folder: Path) -> dict[str, Any]:
    """Two replicas; SIGKILL the one running the source; time until the other finishes it."""
    with fresh_database() as url, Sandbox(latency_ms=10) as sandbox:
        tree = folder / "site"
        write_markdown_tree(tree, 2000)
        config = write_config(folder, sandbox.url, url, tree)
        engine = sa.create_engine(url)
        replicas = start(config, 2, folder)
        try:
            wait_for(lambda: sandbox.command("stats")["upserts_ok"] >= 200, 300)
            holder = runs(engine)[-1]["holder"]
            victim = next(r for r in replicas if r.pid == int(holder.split(":")[1]))
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed = dt.datetime.now(dt.UTC)
            upserts_at_kill = sandbox.command("stats")["upserts_ok"]

            def finished() -> bool:
                return any(
                    r["status"] == "ok" and r["started"] > killed and r["finished"]
                    for r in runs(engine)
                )

            done = wait_for(finished, LEASE_TTL + INTERVAL + 300)
            took = (dt.datetime.now(dt.UTC) - killed).total_seconds()
            after = [r for r in runs(engine) if r["started"] > killed]
        finally:
            codes = stop(replicas)
            engine.dispose()
        held, distinct = pages_held(sandbox)
    first = after[0] if after else None
    started_after = (first["started"] - killed).total_seconds() if first else None
    run_s = (
        (first["finished"] - first["started"]).total_seconds()
        if first and first["finished"]
        else None
    )
    return {
        "pages": 2000,
        "upserts_before_kill": upserts_at_kill,
        "lease_ttl_s": LEASE_TTL,
        "interval_s": INTERVAL,
        "bound_s": LEASE_TTL + INTERVAL,
        "finished_after_kill_s": round(took, 1),
        "survivor_run_started_after_kill_s": None
        if started_after is None
        else round(started_after, 1),
        "survivor_run_s": None if run_s is None else round(run_s, 1),
        "survivor_exit_code": [c for c in codes if c != -9],
        "pages_held": held,
        "duplicates": held - distinct,
        "ok": done and took < LEASE_TTL + INTERVAL + 300 and held == distinct == 2000,
    }


def main() -> None:
    """Run the chosen measurements and print their results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("which", nargs="?", choices=("share", "kill", "both"), default="both")
    args = parser.parse_args()
    results: dict[str, Any] = {"command": "python -m bench.replicas " + " ".join(sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp:
        if args.which in ("share", "both"):
            for count in (1, 2, 3):
                folder = Path(tmp) / f"share-{count}"
                folder.mkdir()
                results[f"share_{count}"] = share(count, folder)
                print(count, results[f"share_{count}"], file=sys.stderr, flush=True)
        if args.which in ("kill", "both"):
            (Path(tmp) / "kill").mkdir()
            results["kill"] = kill(Path(tmp) / "kill")
    emit("replicas", results)
    sys.exit(0 if all(r.get("ok") for r in results.values() if isinstance(r, dict)) else 1)


if __name__ == "__main__":
    main()
