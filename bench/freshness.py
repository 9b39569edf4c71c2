"""Freshness: edit-to-Intercom latency of `syncd run`'s change triggers, and what idling costs.

Starts the sandbox (``--latency-ms``, 20 by default) and a private MediaWiki (the Debian
packages, as the tests use; ``--no-wiki`` skips it), then `syncd run` as a child process over
three sources whose schedules are an hour apart, so that only triggers can bring edits in:

``watched``
    A Markdown folder with ``watch: true``: each edit rewrites one file.
``wiki``
    The wiki with ``watch: true, poll: --poll`` seconds: each edit is an ``action=edit``.
``hooked``
    A Markdown folder without ``watch``: each edit rewrites one file, then calls
    ``POST /hooks/hooked`` with the Bearer secret (what a CI job does after a push).

Latency of one edit: from the moment the edit is done at the source (the file written, the
wiki's edit call returned) to the moment the sandbox holds the page with the edit's marker,
polled every 10 ms through the sandbox process's ``html`` command. ``--edits`` edits per
source, one after another; p50, p95 and max are reported.

Idle cost: with nothing changing, for ``--idle`` seconds each, the Intercom requests and the
CPU seconds (user + system, from ``/proc/<pid>/stat``) of three fresh daemons: one over an
unwatched folder (the baseline: the daemon's own threads), one over the watched folder, and
one polling the wiki every 5 s (the wiki's requests are counted in its access log).

Usage: python -m bench.freshness [--edits 50] [--idle 30] [--poll 1] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.harness import PYTHON, ROOT, TOKEN, Sandbox, emit

SECRET = "bench-hook-secret-0123456789"
PAGES = 20
WIKI_PAGES = 5
IDLE_POLL = 5.0  # seconds between the idle wiki daemon's polls


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def page_text(index: int, marker: str) -> str:
    """A small Markdown page carrying ``marker``."""
    return f"# Page {index}\n\nThe current revision is {marker}.\n\n- one\n- two\n"


def write_folder(folder: Path, prefix: str) -> None:
    """PAGES pages in a new folder, named ``<prefix>-NN.md`` (external ids unique overall)."""
    folder.mkdir()
    for index in range(PAGES):
        (folder / f"{prefix}-{index:02}.md").write_text(page_text(index, "r0"), encoding="utf-8")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Daemon:
    """`syncd run` over a configuration, as a child process."""

    def __init__(self, folder: Path, sandbox_url: str, sources: list[dict[str, Any]]) -> None:
        self.port = free_port()
        self.config = folder / f"syncd-{self.port}.yaml"
        config = {
            "intercom": {"token": TOKEN, "base_url": sandbox_url, "max_concurrency": 4},
            "state": {"url": f"sqlite:///{folder / f'state-{self.port}.db'}"},
            "server": {"host": "127.0.0.1", "port": self.port, "hook_secret": SECRET},
            "sources": sources,
        }
        self.config.write_text(json.dumps(config), encoding="utf-8")
        self.sources = len(sources)
        self.log = folder / f"daemon-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Daemon:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "syncd",
                    "--log-format",
                    "json",
                    "--config",
                    str(self.config),
                    "run",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def pid(self) -> int:
        """The daemon's process id."""
        assert self.process is not None
        return self.process.pid

    def events(self, name: str) -> int:
        """How many log records of event ``name`` the daemon wrote so far."""
        count = 0
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                count += json.loads(line).get("event") == name
        return count

    def settle(self, timeout: float = 120.0, quiet: float = 2.0) -> None:
        """Wait until the first runs ended, then every run started, and none for ``quiet`` s."""
        deadline = time.monotonic() + timeout
        wait_for(lambda: self.events("daemon.run_finished") >= self.sources, timeout=timeout)
        quiet_since = time.monotonic()
        last = -1
        while time.monotonic() < deadline:
            started = self.events("daemon.run_started")
            ended = self.events("daemon.run_finished") + self.events("daemon.run_failed")
            if started != last or started != ended:
                last, quiet_since = started, time.monotonic()
            elif time.monotonic() - quiet_since > quiet:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the daemon did not settle; see {self.log}")


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, step: float = 0.01) -> float:
    """Poll until ``predicate`` holds; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not met within {timeout} s")
        time.sleep(step)
    return time.monotonic()


def has(sandbox: Sandbox, external_id: str, marker: str) -> Callable[[], bool]:
    """Whether the sandbox's page ``external_id`` carries ``marker``."""

    def check() -> bool:
        html = sandbox.command(f"html {external_id}")["html"]
        return bool(html) and marker in html

    return check


def summary(latencies: list[float]) -> dict[str, Any]:
    """p50, p95 (nearest rank) and max, in seconds."""
    ordered = sorted(latencies)
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return {
        "edits": len(ordered),
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(p95, 3),
        "max_s": round(ordered[-1], 3),
    }


@contextlib.contextmanager
def wiki_server(folder: Path, enabled: bool) -> Iterator[Any]:
    """The test suite's private MediaWiki with WIKI_PAGES pages, or None."""
    if not enabled:
        yield None
        return
    from tests.mediawiki_server import MediaWikiServer, missing_reason

    reason = missing_reason()
    if reason is not None:
        print(f"skipping the wiki: {reason}")
        yield None
        return
    with MediaWikiServer(folder) as wiki:
        for index in range(WIKI_PAGES):
            wiki.edit(f"Bench page {index}", f"The current revision is r0 of page {index}.")
        yield wiki


def wiki_source(wiki: Any, poll: float, *, name: str = "wiki") -> dict[str, Any]:
    """A watched MediaWiki source polled every ``poll`` seconds."""
    from tests.mediawiki_server import BOT_PASSWORD, BOT_USER

    return {
        "name": name,
        "connector": "mediawiki",
        "url": "https://wiki.example.com",
        "schedule": {"interval": "1h", "watch": True, "poll": f"{poll}s"},
        "options": {"api_url": wiki.api_url, "username": BOT_USER, "password": BOT_PASSWORD},
    }


def folder_source(name: str, path: Path, *, watch: bool) -> dict[str, Any]:
    """A Markdown folder source on an hourly schedule."""
    return {
        "name": name,
        "connector": "markdown",
        "url": f"https://{name}.example.com",
        "schedule": {"interval": "1h", "watch": watch},
        "options": {"path": str(path)},
    }


def measure_latency(
    args: argparse.Namespace, work: Path, sandbox: Sandbox, wiki: Any
) -> dict[str, Any]:
    """Edits of each kind, one after another; latency per kind."""
    write_folder(work / "watched", "page")
    write_folder(work / "hooked", "hook")
    sources = [
        folder_source("watched", work / "watched", watch=True),
        folder_source("hooked", work / "hooked", watch=False),
    ]
    if wiki is not None:
        sources.append(wiki_source(wiki, args.poll))
    results: dict[str, Any] = {}
    with Daemon(work, sandbox.url, sources) as daemon:
        wait_for(has(sandbox, f"page-{PAGES - 1:02}.md", "r0"), timeout=120)
        daemon.settle()
        latencies = []
        for edit in range(1, args.edits + 1):
            index, marker = edit % PAGES, f"w{edit}x"
            (work / "watched" / f"page-{index:02}.md").write_text(
                page_text(index, marker), encoding="utf-8"
            )
            done = time.monotonic()
            latencies.append(wait_for(has(sandbox, f"page-{index:02}.md", marker)) - done)
        results["markdown_watch"] = summary(latencies)
        if wiki is not None:
            ids = wiki.page_ids()
            latencies = []
            for edit in range(1, args.edits + 1):
                index, marker = edit % WIKI_PAGES, f"k{edit}x"
                wiki.edit(f"Bench page {index}", f"The current revision is {marker}.")
                done = time.monotonic()
                page_id = str(ids[f"Bench page {index}"])
                latencies.append(wait_for(has(sandbox, page_id, marker)) - done)
            results["wiki_poll"] = {**summary(latencies), "poll_s": args.poll}
        latencies = []
        hook = f"http://127.0.0.1:{daemon.port}/hooks/hooked"
        with httpx.Client(headers={"Authorization": f"Bearer {SECRET}"}) as client:
            for edit in range(1, args.edits + 1):
                index, marker = edit % PAGES, f"h{edit}x"
                (work / "hooked" / f"hook-{index:02}.md").write_text(
                    page_text(index, marker), encoding="utf-8"
                )
                done = time.monotonic()
                client.post(hook).raise_for_status()
                latencies.append(wait_for(has(sandbox, f"hook-{index:02}.md", marker)) - done)
        results["hook"] = summary(latencies)
        daemon.settle()
        results["runs"] = daemon.events("daemon.run_started")
    return results


def idle_cost(
    daemon: Daemon, sandbox: Sandbox, seconds: float, wiki_log: Path | None
) -> dict[str, Any]:
    """Intercom requests and CPU seconds per minute of a settled daemon left alone.

    Settled means quiet for longer than a wiki poll: the feed's first answer names what changed
    in the minutes before the start (the wiki's own pages here), which a run then looks up.
    """
    daemon.settle(quiet=IDLE_POLL + 3.0)
    sandbox.command("reset")
    wiki_before = _api_calls(wiki_log)
    cpu_before = cpu_seconds(daemon.pid)
    time.sleep(seconds)
    cpu = cpu_seconds(daemon.pid) - cpu_before
    per_minute = 60.0 / seconds
    result = {
        "window_s": seconds,
        "intercom_requests_per_min": round(sandbox.command("stats")["requests"] * per_minute, 2),
        "cpu_s_per_min": round(cpu * per_minute, 4),
    }
    if wiki_log is not None:
        result["wiki_requests_per_min"] = round(
            (_api_calls(wiki_log) - wiki_before) * per_minute, 1
        )
    return result


def _api_calls(log: Path | None) -> int:
    """Requests to api.php in the wiki's access log so far (PHP's built-in server logs each)."""
    if log is None or not log.exists():
        return 0
    return log.read_text(encoding="utf-8", errors="replace").count("/api.php")


def measure_idle(
    args: argparse.Namespace, work: Path, sandbox: Sandbox, wiki: Any
) -> dict[str, Any]:
    """The three idle daemons of the module docstring, one after another."""
    results: dict[str, Any] = {}
    cases = [
        ("unwatched_folder", [folder_source("quiet", work / "watched", watch=False)]),
        ("watched_folder", [folder_source("quiet", work / "watched", watch=True)]),
    ]
    if wiki is not None:
        cases.append(("wiki_poll_5s", [wiki_source(wiki, IDLE_POLL, name="quietwiki")]))
    for name, sources in cases:
        idle = work / f"idle-{name}"
        idle.mkdir()
        with Daemon(idle, sandbox.url, sources) as daemon:
            log = wiki.root / "server.log" if name.startswith("wiki") else None
            results[name] = idle_cost(daemon, sandbox, args.idle, log)
    return results


def main() -> None:
    """Measure and print one JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--no-wiki", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="syncd-freshness-") as temp,
        Sandbox(token=TOKEN, latency_ms=args.latency_ms) as sandbox,
    ):
        work = Path(temp)
        (work / "wiki").mkdir()
        with wiki_server(work / "wiki", not args.no_wiki) as wiki:
            latency = measure_latency(args, work, sandbox, wiki)
            idle = measure_idle(args, work, sandbox, wiki)
    emit(
        "freshness",
        {"latency_ms_sandbox": args.latency_ms, "latency": latency, "idle": idle},
    )


if __name__ == "__main__":
    main()
