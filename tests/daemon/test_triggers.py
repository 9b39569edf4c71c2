"""`syncd run` as a real process, watching a real folder and polling a real MediaWiki.

Edits, creations, moves and deletions reach the sandbox between ticks (the schedule is an
hour); a burst of 300 files gives one or two runs; a hook call with a wrong secret is refused
and logged without the secret; an idle daemon sends Intercom nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.connectors.mediawiki_fixtures import running_wiki
from tests.daemon.conftest import wait_until
from tests.daemon.test_end_to_end import free_port
from tests.mediawiki_server import BOT_PASSWORD, BOT_USER, MediaWikiServer

ROOT = Path(__file__).resolve().parents[2]
SECRET = "trigger-test-secret-4242"
WRONG = "not-the-secret-9999-abcd"
HANDBOOK_URL = "https://handbook.example.com"
WIKI_URL = "https://wiki.example.com"
ARRIVAL = 60.0  # generous: the machine running the tests may be loaded

pytestmark = [pytest.mark.mediawiki, pytest.mark.slow]


class Running:
    """The daemon process and what the test needs to reach it."""

    def __init__(self, process: subprocess.Popen[bytes], root: Path, url: str) -> None:
        self.process = process
        self.root = root
        self.log = root / "daemon.log"
        self.url = url

    def events(self, name: str, **match: Any) -> list[dict[str, Any]]:
        """The JSON log records of event ``name`` whose fields include ``match``."""
        found = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == name and all(record.get(k) == v for k, v in match.items()):
                found.append(record)
        return found


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """The Intercom stand-in, answering every request after 20 ms."""
    with SandboxServer(SandboxSettings(token="t", latency_ms=20, rate_limit=0)) as server:
        yield server


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaWikiServer]:
    """A private wiki of eight pages besides the main page."""
    pages = {f"Wiki page {n}": f"Text of wiki page {n}." for n in range(8)}
    with running_wiki(tmp_path_factory.mktemp("trigger-wiki"), pages) as server:
        yield server


@pytest.fixture(scope="module")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, sandbox: SandboxServer, wiki: MediaWikiServer
) -> Iterator[Running]:
    """`syncd run` over a watched folder of ten pages and the polled wiki, fully synced."""
    root = tmp_path_factory.mktemp("trigger-daemon")
    docs = root / "docs"
    docs.mkdir()
    for number in range(10):
        (docs / f"page-{number:03}.md").write_text(
            f"# Page {number}\n\nBody of page {number}.\n", encoding="utf-8"
        )
    port = free_port()
    config = root / "syncd.yaml"
    config.write_text(
        f"""
intercom: {{token: t, base_url: "{sandbox.url}", max_concurrency: 4}}
state: {{url: "sqlite:///state.db"}}
server: {{host: 127.0.0.1, port: {port}, hook_secret: "${{HOOK_SECRET}}"}}
sources:
  - name: handbook
    connector: markdown
    url: {HANDBOOK_URL}
    schedule: {{interval: 1h, watch: true}}
    options: {{path: docs}}
  - name: support-wiki
    connector: mediawiki
    url: {WIKI_URL}
    schedule: {{interval: 1h, watch: true, poll: 1s}}
    options:
      api_url: {wiki.api_url}
      username: {BOT_USER}
      password: "${{WIKI_BOT_PASSWORD}}"
""",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOOK_SECRET": SECRET,
        "WIKI_BOT_PASSWORD": BOT_PASSWORD,
    }
    log = root / "daemon.log"
    command = [sys.executable, "-m", "syncd", "--config", str(config), "--log-format", "json"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "run"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root
        )
    running = Running(process, root, f"http://127.0.0.1:{port}")
    try:
        wiki_pages = len(wiki.page_ids(redirects=False))
        wait_until(lambda: len(pages(sandbox, HANDBOOK_URL)) == 10, timeout=ARRIVAL)
        wait_until(lambda: len(pages(sandbox, WIKI_URL)) == wiki_pages, timeout=ARRIVAL)
        wait_until(lambda: len(running.events("trigger.watching")) == 1, timeout=ARRIVAL)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pages(sandbox: SandboxServer, url: str) -> dict[str, dict[str, Any]]:
    """external id -> page of the Content Import Source with ``url``."""
    ids = {s["id"] for s in sandbox.store.list_sources() if s["url"] == url}
    return {p["external_id"]: p for p in sandbox.store.list_pages() if p["source_id"] in ids}


def html_of(sandbox: SandboxServer, url: str, external_id: str) -> str:
    """The HTML of one page, or "" while it is not there."""
    page = pages(sandbox, url).get(external_id)
    return str(page["html"]) if page else ""


def test_folder_edits_creations_moves_and_deletions_arrive(
    daemon: Running, sandbox: SandboxServer
) -> None:
    """Each kind of file change reaches Intercom through an incremental run, not the tick."""
    docs = daemon.root / "docs"
    (docs / "page-001.md").write_text("# Page 1\n\nEdited body.\n", encoding="utf-8")
    wait_until(lambda: "Edited body" in html_of(sandbox, HANDBOOK_URL, "page-001.md"), ARRIVAL)
    (docs / "fresh.md").write_text("# Fresh\n\nA new page.\n", encoding="utf-8")
    wait_until(lambda: "fresh.md" in pages(sandbox, HANDBOOK_URL), ARRIVAL)
    (docs / "page-002.md").rename(docs / "page-two.md")
    wait_until(
        lambda: (
            set(pages(sandbox, HANDBOOK_URL)) >= {"page-two.md"}
            and "page-002.md" not in pages(sandbox, HANDBOOK_URL)
        ),
        ARRIVAL,
    )
    (docs / "page-003.md").unlink()
    wait_until(lambda: "page-003.md" not in pages(sandbox, HANDBOOK_URL), ARRIVAL)
    incremental = daemon.events("sync.started", source="handbook", incremental=True)
    assert len(incremental) >= 4
    assert len(daemon.events("sync.started", source="handbook", incremental=False)) == 1


def test_a_burst_of_300_files_gives_one_or_two_runs(
    daemon: Running, sandbox: SandboxServer
) -> None:
    """300 files written at once (a git pull) arrive in one or two runs."""
    docs = daemon.root / "docs"
    wait_until(lambda: not _busy(daemon, "handbook"), ARRIVAL)
    before = len(daemon.events("daemon.run_started", source="handbook"))
    held = len(pages(sandbox, HANDBOOK_URL))
    for number in range(300):
        (docs / f"burst-{number:03}.md").write_text(f"# Burst {number}\n", encoding="utf-8")
    wait_until(lambda: len(pages(sandbox, HANDBOOK_URL)) == held + 300, ARRIVAL)
    wait_until(lambda: not _busy(daemon, "handbook"), ARRIVAL)
    runs = len(daemon.events("daemon.run_started", source="handbook")) - before
    assert 1 <= runs <= 2


def _busy(daemon: Running, source: str) -> bool:
    started = len(daemon.events("daemon.run_started", source=source))
    ended = len(daemon.events("daemon.run_finished", source=source)) + len(
        daemon.events("daemon.run_failed", source=source)
    )
    return started > ended


def test_wiki_edits_creations_moves_and_deletions_arrive(
    daemon: Running, sandbox: SandboxServer, wiki: MediaWikiServer
) -> None:
    """The recent-changes poll brings each kind of wiki change to Intercom."""
    ids = wiki.page_ids()
    edited, moved, deleted = (str(ids[f"Wiki page {n}"]) for n in (1, 2, 3))
    wiki.edit("Wiki page 1", "Edited on the wiki.")
    wait_until(lambda: "Edited on the wiki" in html_of(sandbox, WIKI_URL, edited), ARRIVAL)
    wiki.edit("Wiki page new", "Created on the wiki.")
    created = str(wiki.page_ids()["Wiki page new"])
    wait_until(lambda: created in pages(sandbox, WIKI_URL), ARRIVAL)
    wiki.move("Wiki page 2", "Wiki page two")
    wait_until(
        lambda: pages(sandbox, WIKI_URL).get(moved, {}).get("title") == "Wiki page two", ARRIVAL
    )
    wiki.delete("Wiki page 3")
    wait_until(lambda: deleted not in pages(sandbox, WIKI_URL), ARRIVAL)
    assert len(daemon.events("sync.started", source="support-wiki", incremental=False)) == 1


def test_a_wrong_hook_secret_is_refused_and_never_logged(daemon: Running) -> None:
    """401 for a wrong secret, a hooks.refused line, and neither secret anywhere in the log."""
    refused = httpx.post(
        f"{daemon.url}/hooks/handbook", headers={"Authorization": f"Bearer {WRONG}"}
    )
    assert refused.status_code == 401
    wait_until(lambda: len(daemon.events("hooks.refused", source="handbook")) == 1, ARRIVAL)
    accepted = httpx.post(
        f"{daemon.url}/hooks/handbook", headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert accepted.status_code == 202
    wait_until(lambda: len(daemon.events("hooks.accepted", source="handbook")) == 1, ARRIVAL)
    text = daemon.log.read_text(encoding="utf-8")
    assert WRONG not in text
    assert SECRET not in text
    assert BOT_PASSWORD not in text


def test_an_idle_daemon_sends_intercom_nothing(daemon: Running, sandbox: SandboxServer) -> None:
    """With nothing changing, a few seconds of watching and polling make no Intercom request."""
    wait_until(lambda: not _busy(daemon, "handbook") and not _busy(daemon, "support-wiki"))
    before = len(sandbox.store.request_log)
    polls = len(daemon.events("daemon.triggered"))
    time.sleep(3)  # a window to notice requests in; nothing here measures time
    assert daemon.process.poll() is None
    assert len(sandbox.store.request_log) == before
    assert len(daemon.events("daemon.triggered")) == polls


def test_status_shows_the_freshness_of_each_source(daemon: Running) -> None:
    """`syncd status` shows the last change-to-Intercom time and its p95 per source."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "syncd", "--config", str(daemon.root / "syncd.yaml")]
    shown = subprocess.run(
        [*command, "status", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=daemon.root,
        timeout=60,
    )
    by_name = {source["name"]: source for source in json.loads(shown.stdout)}
    for name in ("handbook", "support-wiki"):
        fresh = by_name[name]["freshness"]
        assert fresh["samples"] >= 1
        assert 0 <= fresh["last"] < ARRIVAL
        assert 0 <= fresh["p95"] < ARRIVAL
    text = subprocess.run(
        [*command, "status"], check=True, capture_output=True, text=True, env=env, timeout=60
    ).stdout
    assert "freshness (change to Intercom): last" in text


def test_sigterm_stops_the_watching_daemon_cleanly(daemon: Running) -> None:
    """SIGTERM ends the daemon with exit 0, its watch and poll threads included."""
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=30) == 0
