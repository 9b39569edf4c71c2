"""`syncd run` as a real process keeping Intercom in step with a live Confluence site.

The stand-in serves Data Center (a PAT, the site's time zone for CQL); the schedule's full
runs are an hour apart, so what arrives between them came through the CQL poll (every 5 s)
or a signed webhook naming a page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.confluence_server import TOKEN, StandIn
from tests.connectors.test_confluence_live import EXPORT
from tests.daemon.conftest import wait_until
from tests.daemon.test_end_to_end import free_port
from tests.daemon.test_triggers import Running, html_of, pages

ROOT = Path(__file__).resolve().parents[2]
SECRET = "confluence-hook-secret-0042"
URL = "https://wiki.example.com/confluence"
ARRIVAL = 60.0  # generous: the machine running the tests may be loaded

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token="t", rate_limit=0)) as server:
        yield server


@pytest.fixture(scope="module")
def site(shared_fixtures: Path) -> Iterator[StandIn]:
    with StandIn("datacenter", time_zone="America/New_York") as stand_in:
        stand_in.seed(shared_fixtures / EXPORT)
        yield stand_in


@pytest.fixture(scope="module")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, sandbox: SandboxServer, site: StandIn
) -> Iterator[Running]:
    """`syncd run` over the stand-in's space, fully synced once."""
    root = tmp_path_factory.mktemp("confluence-daemon")
    port = free_port()
    config = root / "syncd.yaml"
    config.write_text(
        f"""
intercom: {{token: t, base_url: "{sandbox.url}", max_concurrency: 4}}
state: {{url: "sqlite:///state.db"}}
server: {{host: 127.0.0.1, port: {port}, hook_secret: "${{HOOK_SECRET}}"}}
sources:
  - name: wiki
    connector: confluence
    url: {URL}
    schedule: {{interval: 1h, watch: true, poll: 5s}}
    options:
      site: {site.site}
      deployment: datacenter
      spaces: [ds]
      token: "${{CONFLUENCE_TOKEN}}"
""",
        encoding="utf-8",
    )
    env = {**os.environ, "HOOK_SECRET": SECRET, "CONFLUENCE_TOKEN": TOKEN}
    log = root / "daemon.log"
    command = [sys.executable, "-m", "syncd", "--config", str(config), "--log-format", "json"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "run"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root
        )
    running = Running(process, root, f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: len(pages(sandbox, URL)) == len(site.pages), timeout=ARRIVAL)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        assert TOKEN not in log.read_text(encoding="utf-8")


def test_an_edit_arrives_through_the_cql_poll(
    daemon: Running, site: StandIn, sandbox: SandboxServer
) -> None:
    """No webhook: the poll's lastmodified window (in the site's zone) finds the edit."""
    started = time.monotonic()
    site.edit("196615", "<p>Edited on the live site.</p>")
    wait_until(lambda: "Edited on the live site" in html_of(sandbox, URL, "196615"), ARRIVAL)
    assert time.monotonic() - started < ARRIVAL
    created = site.add_page("ds", "Created live", "<p>Brand new.</p>", parent="196614")
    wait_until(lambda: created.id in pages(sandbox, URL), ARRIVAL)
    assert daemon.events("daemon.triggered", source="wiki", reason="poll")


def _signed(body: dict[str, object], delivery: str) -> dict[str, str]:
    raw = json.dumps(body).encode()
    digest = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature": f"sha256={digest}", "X-Atlassian-Webhook-Identifier": delivery}


def test_a_webhook_removes_a_trashed_page(
    daemon: Running, site: StandIn, sandbox: SandboxServer
) -> None:
    """page_trashed names the page; the run looks it up, finds it gone, and removes it."""
    assert "196611" in pages(sandbox, URL)
    site.pages["196611"].status = "trashed"
    body = {"timestamp": 1768246501113, "event": "page_trashed", "page": {"id": 196611}}
    answer = httpx.post(
        f"{daemon.url}/hooks/wiki", content=json.dumps(body), headers=_signed(body, "t-1")
    )
    assert answer.status_code == 202, answer.text
    wait_until(lambda: "196611" not in pages(sandbox, URL), ARRIVAL)
    assert daemon.events("hooks.accepted", source="wiki", kind="page_trashed")


def test_an_idle_daemon_sends_intercom_nothing(daemon: Running, sandbox: SandboxServer) -> None:
    time.sleep(6)  # let runs in flight end
    before = sandbox.store.requests()
    time.sleep(12)  # more than two polls
    assert sandbox.store.requests() == before
