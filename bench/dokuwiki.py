"""DokuWiki: what a no-op run costs, edit-to-Intercom latency at ``poll: 2s``, and idling.

Starts the sandbox (20 ms per request) and a private DokuWiki (the Debian package, as the
tests use; ``tests/dokuwiki_server.py``) with ``--pages`` pages, then:

no-op run
    ``syncd sync`` once to publish, then again with nothing changed: its CPU and wall time,
    its requests to the wiki (counted in the PHP server's access log) and to Intercom.
latency
    `syncd run` with ``watch: true, poll: 2s`` on an hourly schedule; ``--edits`` edits
    through the wiki's API, one after another; from the edit call's return to the sandbox
    holding the page with the edit's marker (polled every 10 ms). p50, p95 and max.
idle
    The same daemon left alone for ``--idle`` seconds: wiki requests, Intercom requests and
    the daemon's CPU seconds per minute.

Usage: python -m bench.dokuwiki [--pages 50] [--edits 30] [--idle 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.freshness import Daemon, cpu_seconds, has, summary, wait_for
from bench.harness import SOURCE_URL, TOKEN, Sandbox, emit, run_syncd, write_config

POLL = 2.0


def wiki_requests(log: Path) -> int:
    """Requests to the wiki so far, from the PHP built-in server's access log."""
    text = log.read_text(encoding="utf-8", errors="replace")
    return sum(text.count(f"POST /dokuwiki/lib/exe/{end}") for end in ("xmlrpc", "jsonrpc")) + (
        text.count("GET /dokuwiki/doku.php")
    )


def page_text(index: int, marker: str) -> str:
    """A small wiki page carrying ``marker``."""
    return f"====== Page {index} ======\nThe current revision is {marker}.\n  * one\n  * two\n"


def no_op(work: Path, sandbox: Sandbox, source: dict[str, Any], log: Path) -> dict[str, Any]:
    """A first sync, then a sync with nothing changed: what the second one costs."""
    config = write_config(work, sandbox.url, [source])
    first = run_syncd(config)
    assert first.returncode == 0, first.stderr[-2000:]
    sandbox.command("reset")
    before = wiki_requests(log)
    noop = run_syncd(config)
    assert noop.returncode == 0, noop.stderr[-2000:]
    return {
        "listed": noop.report()["listed"],
        "cpu_s": round(noop.cpu, 3),
        "wall_s": round(noop.wall, 3),
        "wiki_requests": wiki_requests(log) - before,
        "intercom_requests": sandbox.command("stats")["requests"],
    }


def main() -> None:
    """Measure and print one JSON result."""
    from tests.dokuwiki_server import BOT_PASSWORD, BOT_USER, DokuWikiServer, missing_reason

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()
    reason = missing_reason()
    if reason is not None:
        raise SystemExit(reason)
    results: dict[str, Any] = {"poll_s": POLL, "pages": args.pages}
    with (
        tempfile.TemporaryDirectory(prefix="syncd-dokuwiki-") as temp,
        Sandbox(token=TOKEN, latency_ms=20) as sandbox,
        DokuWikiServer(Path(temp) / "wiki") as wiki,
    ):
        work = Path(temp)
        log = wiki.root / "server.log"
        for index in range(args.pages):
            wiki.edit(f"bench:page{index}", page_text(index, "r0"))
        source = {
            "name": "ops",
            "connector": "dokuwiki",
            "url": SOURCE_URL + "/dokuwiki",
            "schedule": {"interval": "1h", "watch": True, "poll": f"{POLL}s"},
            "options": {"base_url": wiki.base_url, "username": BOT_USER, "password": BOT_PASSWORD},
        }
        (work / "noop").mkdir()
        results["noop_sync"] = no_op(work / "noop", sandbox, source, log)
        (work / "daemon").mkdir()
        with Daemon(work / "daemon", sandbox.url, [source]) as daemon:
            wait_for(has(sandbox, f"bench:page{args.pages - 1}", "r0"), timeout=300)
            daemon.settle(quiet=POLL + 3.0)
            latencies = []
            for edit in range(1, args.edits + 1):
                index, marker = edit % args.pages, f"k{edit}x"
                wiki.edit(f"bench:page{index}", page_text(index, marker))
                done = time.monotonic()
                latencies.append(wait_for(has(sandbox, f"bench:page{index}", marker)) - done)
            results["latency"] = summary(latencies)
            daemon.settle(quiet=POLL + 3.0)
            sandbox.command("reset")
            wiki_before, cpu_before = wiki_requests(log), cpu_seconds(daemon.pid)
            time.sleep(args.idle)
            per_minute = 60.0 / args.idle
            results["idle"] = {
                "window_s": args.idle,
                "wiki_requests_per_min": round((wiki_requests(log) - wiki_before) * per_minute, 1),
                "intercom_requests_per_min": round(
                    sandbox.command("stats")["requests"] * per_minute, 2
                ),
                "cpu_s_per_min": round((cpu_seconds(daemon.pid) - cpu_before) * per_minute, 4),
            }
    emit("dokuwiki", results)


if __name__ == "__main__":
    main()
