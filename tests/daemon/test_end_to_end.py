"""The daemon with the real application: a Markdown folder synced into the sandbox.

These tests need the application, the Markdown connector and the sandbox; each skips with the
missing part named when one cannot be imported.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.daemon.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _need(module: str, what: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        pytest.skip(f"{what} ({module}) cannot be imported: {exc}")


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """The Intercom stand-in on loopback, answering every request after 20 ms."""
    module = _need("syncd.sandbox", "the Intercom sandbox")
    with module.SandboxServer(module.SandboxSettings(token="t", latency_ms=20)) as server:
        yield server


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_setup(root: Path, sandbox_url: str, *, pages: int, port: int) -> Path:
    """A Markdown folder of ``pages`` pages and a config syncing it, one request at a time."""
    docs = root / "docs"
    docs.mkdir()
    for number in range(pages):
        (docs / f"page-{number:03}.md").write_text(
            f"---\ntitle: Page {number}\n---\n\n# Page {number}\n\nBody of page {number}.\n",
            encoding="utf-8",
        )
    config = root / "syncd.yaml"
    config.write_text(
        f"""
intercom:
  token: t
  base_url: {sandbox_url}
  max_concurrency: 1
state:
  url: sqlite:///state.db
server:
  host: 127.0.0.1
  port: {port}
sources:
  - name: handbook
    connector: markdown
    url: https://handbook.example.com
    schedule: {{interval: 1h}}
    options: {{path: docs, base_url: "https://handbook.example.com/"}}
""",
        encoding="utf-8",
    )
    return config


def page_posts(sandbox: Any) -> int:
    """How many page writes the sandbox answered."""
    return sum(
        1
        for method, path, _ in list(sandbox.store.request_log)
        if method == "POST" and path.startswith("/ai/external_pages")
    )


def test_daemon_syncs_through_the_app_and_serves_its_state(tmp_path: Path, sandbox: Any) -> None:
    """run_daemon over a real App publishes every page, is ready, and counts them in /metrics."""
    _need("syncd.connectors.markdown.connector", "the Markdown connector")
    app_module = _need("syncd.app", "the application")
    from syncd.config.loading import load_config
    from syncd.daemon.scheduler import run_daemon

    port = free_port()
    config = load_config(write_setup(tmp_path, sandbox.url, pages=5, port=port))
    labels = {"source": "handbook", "outcome": "created"}
    before = REGISTRY.get_sample_value("syncd_documents_total", labels) or 0.0
    app = app_module.App.open(config)
    stop = threading.Event()
    codes: list[int] = []
    daemon = threading.Thread(target=lambda: codes.append(run_daemon(app, stop=stop, jitter=0)))
    daemon.start()
    try:
        wait_until(lambda: len(sandbox.store.pages) == 5, timeout=30)
        wait_until(lambda: REGISTRY.get_sample_value("syncd_documents_total", labels) == before + 5)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200, ready.text
        exposed = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert f'syncd_documents_total{{outcome="created",source="handbook"}} {before + 5}' in (
            exposed
        )
    finally:
        stop.set()
        daemon.join(30)
        app.close()
    assert codes == [0]


@pytest.mark.slow
def test_sigterm_mid_run_exits_zero_and_a_later_sync_completes(
    tmp_path: Path, sandbox: Any
) -> None:
    """SIGTERM mid-run exits 0 promptly; `syncd sync` then leaves every page there exactly once."""
    _need("syncd.connectors.markdown.connector", "the Markdown connector")
    _need("syncd.app", "the application")
    _need("syncd.cli", "the command line")
    pages = 120
    config = write_setup(tmp_path, sandbox.url, pages=pages, port=free_port())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "syncd", "--config", str(config)]
    with (tmp_path / "daemon.log").open("w", encoding="utf-8") as log:
        daemon = subprocess.Popen(
            [*command, "run"], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
        )
        try:
            wait_until(lambda: len(sandbox.store.pages) >= 10, timeout=60)
            daemon.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code = daemon.wait(timeout=30)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    output = (tmp_path / "daemon.log").read_text(encoding="utf-8")
    assert code == 0, output
    assert time.monotonic() - signalled < 10
    held = len(sandbox.store.pages)
    assert held < pages, "the run ended before the signal; nothing was interrupted"

    sync = subprocess.run(
        [*command, "sync"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert sync.returncode == 0, sync.stderr
    published = sandbox.store.list_pages()
    external_ids = [page["external_id"] for page in published]
    assert len(external_ids) == pages
    assert len(set(external_ids)) == pages
    # Each page was sent once: the page in flight at SIGTERM was recorded before the exit.
    assert page_posts(sandbox) == pages


def test_daemon_without_a_token_refuses_to_start(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon with no Intercom token fails at once with a ConfigError, not at every tick."""
    _need("syncd.connectors.markdown.connector", "the Markdown connector")
    app_module = _need("syncd.app", "the application")
    from syncd.config.loading import load_config
    from syncd.daemon.scheduler import run_daemon
    from syncd.errors import ConfigError

    monkeypatch.delenv("SYNCD_INTERCOM__TOKEN", raising=False)
    path = write_setup(tmp_path, sandbox.url, pages=1, port=free_port())
    path.write_text(path.read_text().replace("  token: t\n", ""), encoding="utf-8")
    app = app_module.App.open(load_config(path))
    try:
        with pytest.raises(ConfigError, match=r"intercom\.token"):
            run_daemon(app, stop=threading.Event())
    finally:
        app.close()
    assert sandbox.store.request_log == []
