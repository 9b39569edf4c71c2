"""The status page with a large state database: how long ``/status`` and ``/status.json`` take.

Fills a SQLite state database (migrated by syncd) with ``--sources`` sources of
``--documents`` documents each, ``--failing`` of them failing and a tenth excluded, and 50
runs per source; then serves the daemon's routes (the real HTTP server, on loopback) and
times ``--requests`` calls of each route one after another. Reported: p50 and max per route,
and the size of the answers.

Usage: python -m bench.status_page [--sources 4] [--documents 25000] [--failing 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.harness import emit
from syncd.config.loading import load_config
from syncd.daemon.server import HttpServer
from syncd.daemon.statuspage import StatusPage
from syncd.state.database import open_database
from syncd.state.models import DocumentState, Run, Source
from syncd.status import collect


def _fill(url: str, sources: int, documents: int, failing: int) -> None:
    engine, _ = open_database(url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        for index in range(sources):
            source_id = connection.execute(
                sa.insert(Source).values(name=f"source-{index}", created_at=now)
            ).inserted_primary_key[0]
            rows = [
                {
                    "source_id": source_id,
                    "ref_id": f"docs/page-{n}.md",
                    "title": f"Page {n} <b>of</b> source {index}",
                    "version": "v1",
                    "intercom_page_id": None if n % 10 == 0 or n < failing else str(n),
                    "excluded": n % 10 == 0,
                    "last_error": "page too large: 2.1 MB" if n < failing else None,
                    "last_error_at": now if n < failing else None,
                    "failures": 1 if n < failing else 0,
                }
                for n in range(documents)
            ]
            connection.execute(sa.insert(DocumentState), rows)
            runs = [
                {
                    "source_id": source_id,
                    "started_at": now,
                    "finished_at": now,
                    "duration": 1.5,
                    "status": "partial" if n % 3 else "failed",
                    "listed": documents,
                    "error": None if n % 3 else "cannot read the source",
                }
                for n in range(50)
            ]
            connection.execute(sa.insert(Run), runs)
    engine.dispose()


def _time(url: str, requests: int) -> dict[str, Any]:
    took, size = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        answer = httpx.get(url, timeout=60)
        took.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text[:200]
        size = len(answer.content)
    return {
        "p50_s": round(statistics.median(took), 4),
        "max_s": round(max(took), 4),
        "bytes": size,
    }


def main() -> None:
    """Fill, serve, time; one JSON result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--documents", type=int, default=25_000)
    parser.add_argument("--failing", type=int, default=500)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'state.db'}"
        _fill(url, args.sources, args.documents, args.failing)
        sources = "".join(
            f"  - {{name: source-{n}, connector: markdown, url: 'https://d.example.com',"
            f" options: {{path: {root}}}}}\n"
            for n in range(args.sources)
        )
        (root / "syncd.yaml").write_text(f"state: {{url: '{url}'}}\nsources:\n{sources}")
        config = load_config(root / "syncd.yaml")
        _, sessions = open_database(url)
        page = StatusPage(lambda next_runs: collect(config, sessions, next_runs), dict)
        server = HttpServer(lambda: None, host="127.0.0.1", port=0, status=page)
        server.start()
        try:
            result = {
                "sources": args.sources,
                "documents_per_source": args.documents,
                "failing_per_source": args.failing,
                "html": _time(f"{server.url}/status", args.requests),
                "json": _time(f"{server.url}/status.json", args.requests),
            }
        finally:
            server.stop()
    emit("status_page", result)


if __name__ == "__main__":
    main()
