"""`syncd run` as a real process polling a real private DokuWiki every 2 seconds.

Edits, creations and deletions on the wiki reach the sandbox between ticks (the schedule is an
hour) through incremental runs; an idle daemon sends Intercom nothing; the wiki password never
reaches the log or the state database.
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

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.connectors.dokuwiki_fixtures import running_wiki
from tests.daemon.conftest import wait_until
from tests.dokuwiki_server import BOT_PASSWORD, BOT_USER, DokuWikiServer

ROOT = Path(__file__).resolve().parents[2]
WIKI_URL = "https://ops.example.com"
ARRIVAL = 60.0  # generous: the machine running the tests may be loaded

pytestmark = [pytest.mark.dokuwiki, pytest.mark.slow]


class Running:
    """The daemon process, its folder and its JSON log."""

    def __init__(self, process: subprocess.Popen[bytes], root: Path) -> None:
        self.process = process
        self.root = root
        self.log = root / "daemon.log"

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

    def busy(self) -> bool:
        """Whether a run of the wiki source has started and not ended."""
        started = len(self.events("daemon.run_started", source="ops"))
        ended = len(self.events("daemon.run_finished", source="ops")) + len(
            self.events("daemon.run_failed", source="ops")
        )
        return started > ended


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """The Intercom stand-in, answering every request after 20 ms."""
    with SandboxServer(SandboxSettings(token="t", latency_ms=20, rate_limit=0)) as server:
        yield server


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DokuWikiServer]:
    """A private wiki of six pages."""
    pages = {f"ops:page{n}": f"====== Page {n} ======\nText of page {n}." for n in range(6)}
    with running_wiki(tmp_path_factory.mktemp("run-wiki"), pages) as server:
        yield server


@pytest.fixture(scope="module")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, sandbox: SandboxServer, wiki: DokuWikiServer
) -> Iterator[Running]:
    """`syncd run` over the polled wiki, fully synced."""
    root = tmp_path_factory.mktemp("dokuwiki-daemon")
    config = root / "syncd.yaml"
    config.write_text(
        f"""
intercom: {{token: t, base_url: "{sandbox.url}", max_concurrency: 4}}
state: {{url: "sqlite:///state.db"}}
server: {{host: 127.0.0.1, port: 0}}
sources:
  - name: ops
    connector: dokuwiki
    url: {WIKI_URL}
    schedule: {{interval: 1h, watch: true, poll: 2s}}
    max_delete_fraction: 0.5
    options:
      base_url: {wiki.base_url}
      username: {BOT_USER}
      password: "${{DOKUWIKI_PASSWORD}}"
""",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DOKUWIKI_PASSWORD": BOT_PASSWORD}
    command = [sys.executable, "-m", "syncd", "--config", str(config), "--log-format", "json"]
    with (root / "daemon.log").open("wb") as out:
        process = subprocess.Popen(
            [*command, "run"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root
        )
    running = Running(process, root)
    try:
        wait_until(lambda: len(pages(sandbox)) == len(wiki.pages()), timeout=ARRIVAL)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pages(sandbox: SandboxServer) -> dict[str, dict[str, Any]]:
    """external id -> page of the wiki's Content Import Source."""
    ids = {s["id"] for s in sandbox.store.list_sources() if s["url"] == WIKI_URL}
    return {p["external_id"]: p for p in sandbox.store.list_pages() if p["source_id"] in ids}


def html_of(sandbox: SandboxServer, page: str) -> str:
    """The HTML of one page, or "" while it is not there."""
    found = pages(sandbox).get(page)
    return str(found["html"]) if found else ""


def test_wiki_edits_creations_and_deletions_arrive(
    daemon: Running, sandbox: SandboxServer, wiki: DokuWikiServer
) -> None:
    """The recent-changes poll brings each kind of wiki change to Intercom, not the tick."""
    wiki.edit_later("ops:page1", "====== Page 1 ======\nEdited on the wiki.")
    wait_until(lambda: "Edited on the wiki" in html_of(sandbox, "ops:page1"), ARRIVAL)
    wiki.edit("ops:fresh", "====== Fresh ======\nCreated on the wiki.")
    wait_until(lambda: pages(sandbox).get("ops:fresh", {}).get("title") == "Fresh", ARRIVAL)
    wiki.delete("ops:page3")
    wait_until(lambda: "ops:page3" not in pages(sandbox), ARRIVAL)
    assert len(daemon.events("sync.started", source="ops", incremental=True)) >= 3
    assert len(daemon.events("sync.started", source="ops", incremental=False)) == 1


def test_an_idle_daemon_sends_intercom_nothing(daemon: Running, sandbox: SandboxServer) -> None:
    """With nothing changing, polls go on and make no Intercom request."""
    wait_until(lambda: not daemon.busy(), ARRIVAL)
    time.sleep(2.5)  # let a poll that saw the last change finish its run
    wait_until(lambda: not daemon.busy(), ARRIVAL)
    before = len(sandbox.store.request_log)
    time.sleep(5)  # a window of two polls to notice requests in; nothing here measures time
    assert daemon.process.poll() is None
    assert len(sandbox.store.request_log) == before


def test_the_password_is_in_neither_the_log_nor_the_state(daemon: Running) -> None:
    """The log and the state database never hold the wiki password."""
    assert daemon.events("dokuwiki.login", user=BOT_USER)
    assert BOT_PASSWORD not in daemon.log.read_text(encoding="utf-8")
    for state_file in daemon.root.glob("state.db*"):
        assert BOT_PASSWORD.encode() not in state_file.read_bytes()
