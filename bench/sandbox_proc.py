"""The sandbox in its own process, with a control channel on stdin for the benchmarks.

It serves the same :class:`~syncd.sandbox.SandboxServer` as ``syncd sandbox`` (so the
sandbox's CPU never mixes with syncd's), prints its URL as the first line of stdout, then
answers one JSON line per command read from stdin:

``stats``
    Request counts by status and by method, and the monotonic times of the first and last
    request overall and of the first and last page upsert.
``windows``
    Requests per rate-limit window (epoch-aligned, as the sandbox counts them).
``pages``
    Every content import source, and every page as (source id, external id, title, url,
    SHA-256 of its HTML, availability flags).
``html EXTERNAL_ID``
    The HTML of the page with that external id (any source), or null.
``reset``
    Forget the request log (pages stay).

It exits when stdin closes.

Usage: python bench/sandbox_proc.py [--rate-limit N] [--latency-ms MS] [--error-rate R]
[--drop-rate R] [--seed S] [--token T]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import sys
import time
from typing import Any

from syncd.sandbox import SandboxServer, SandboxSettings


class TimedLog(list[tuple[str, str, int]]):
    """The sandbox's request log, also noting when each entry arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []  # time.monotonic()
        self.wall: list[float] = []  # time.time(), for rate-limit windows

    def append(self, item: tuple[str, str, int]) -> None:
        """Record the entry and its arrival times."""
        self.times.append(time.monotonic())
        self.wall.append(time.time())
        super().append(item)

    def clear(self) -> None:
        """Forget every entry."""
        self.times.clear()
        self.wall.clear()
        super().clear()


def stats(server: SandboxServer, log: TimedLog) -> dict[str, Any]:
    """Counts and times of the requests logged since the last reset."""
    with server.store.lock:
        entries = list(zip(log.times, log, strict=True))
    by_status = collections.Counter(str(status) for _, (_, _, status) in entries)
    by_method = collections.Counter(method for _, (method, _, _) in entries)
    upserts = [
        t for t, (m, p, s) in entries if m == "POST" and p == "/ai/external_pages" and s == 200
    ]
    return {
        "requests": len(entries),
        "by_status": dict(by_status),
        "by_method": dict(by_method),
        "first": entries[0][0] if entries else None,
        "last": entries[-1][0] if entries else None,
        "upserts_ok": len(upserts),
        "first_upsert": upserts[0] if upserts else None,
        "last_upsert": upserts[-1] if upserts else None,
    }


def windows(server: SandboxServer, log: TimedLog) -> list[dict[str, Any]]:
    """Requests and 429s per epoch-aligned rate-limit window."""
    length = server.settings.window_seconds
    with server.store.lock:
        entries = list(zip(log.wall, log, strict=True))
    counts: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for wall, (_, _, status) in entries:
        window = math.floor(wall / length)
        counts[window]["requests"] += 1
        if status == 429:
            counts[window]["429"] += 1
    return [
        {"start": w * length, "requests": c["requests"], "429": c["429"]}
        for w, c in sorted(counts.items())
    ]


def pages(server: SandboxServer) -> dict[str, Any]:
    """Every source and a digest of every page."""
    store = server.store
    with store.lock:
        sources = [dict(s) for s in store.sources.values()]
        items = [
            {
                "id": p["id"],
                "source_id": p["source_id"],
                "external_id": p["external_id"],
                "title": p["title"],
                "url": p.get("url"),
                "html_sha256": hashlib.sha256(p["html"].encode()).hexdigest(),
                "ai_agent_availability": p["ai_agent_availability"],
                "ai_copilot_availability": p["ai_copilot_availability"],
            }
            for p in store.pages.values()
        ]
    return {"sources": sources, "pages": items}


def _page_of(server: SandboxServer, external_id: str) -> dict[str, Any] | None:
    """The page with ``external_id`` (in any source), or None."""
    with server.store.lock:
        for page in server.store.pages.values():
            if page["external_id"] == external_id:
                return dict(page)
    return None


def main() -> None:
    """Serve until stdin closes, answering commands."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", default="bench")
    parser.add_argument("--rate-limit", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    settings = SandboxSettings(
        token=args.token,
        rate_limit=args.rate_limit,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        seed=args.seed,
        max_per_page=150,
    )
    server = SandboxServer(settings)
    log = TimedLog()
    server.store.request_log = log
    with server:
        print(server.url, flush=True)
        for line in sys.stdin:
            command = line.strip()
            answer: Any
            if command == "stats":
                answer = stats(server, log)
            elif command == "windows":
                answer = windows(server, log)
            elif command == "pages":
                answer = pages(server)
            elif command.startswith("html "):
                page = _page_of(server, command.removeprefix("html "))
                answer = {"html": page["html"] if page else None}
            elif command == "reset":
                with server.store.lock:
                    log.clear()
                answer = {"ok": True}
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
