"""`server.internal_port`: the hooks alone on `server.port`, probes and metrics elsewhere.

A real `syncd run`; strangers who reach `server.port` learn no source name from it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncd.config.loading import load_config
from syncd.daemon.healthcheck import check
from syncd.errors import ConfigError
from syncd.sandbox import SandboxServer, SandboxSettings
from tests.daemon.conftest import wait_until

SECRET = "hook-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write(root: Path, sandbox_url: str, server: dict[str, object]) -> Path:
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "index.md").write_text("# Home\n\nText.\n", encoding="utf-8")
    config = {
        "intercom": {"token": "t", "base_url": sandbox_url},
        "state": {"url": f"sqlite:///{root / 'state.db'}"},
        "server": {"host": "127.0.0.1", "hook_secret": SECRET, **server},
        "sources": [
            {
                "name": "secret-project-handbook",
                "connector": "markdown",
                "url": "https://handbook.example.com",
                "schedule": {"interval": "1h"},
                "options": {"path": str(root / "docs")},
            }
        ],
    }
    path = root / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token="t", rate_limit=0)) as server:
        yield server


def test_internal_routes_move_to_their_own_listener(tmp_path: Path, sandbox: SandboxServer) -> None:
    public, internal = _free_port(), _free_port()
    config = _write(tmp_path, sandbox.url, {"port": public, "internal_port": internal})
    log = tmp_path / "daemon.log"
    with log.open("w", encoding="utf-8") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "syncd", "--log-format", "json", "--config", str(config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    inside, outside = f"http://127.0.0.1:{internal}", f"http://127.0.0.1:{public}"
    try:

        def up() -> bool:
            assert daemon.poll() is None, log.read_text(encoding="utf-8")
            try:
                return httpx.get(f"{inside}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=60)
        wait_until(lambda: len(sandbox.store.list_pages()) == 1, timeout=60)
        # The exposed port: the hooks, and nothing that names a source.
        for path in ("/metrics", "/healthz", "/readyz", "/", "/status.json"):
            answer = httpx.get(f"{outside}{path}")
            assert answer.status_code == 404, path
            assert "secret-project" not in answer.text
        hook = httpx.post(
            f"{outside}/hooks/secret-project-handbook",
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        assert hook.status_code == 202, hook.text
        assert httpx.post(f"{outside}/hooks/secret-project-handbook").status_code == 401
        # The internal listener: probes and metrics, no hooks.
        assert httpx.get(f"{inside}/readyz").status_code == 200
        assert "secret-project-handbook" in httpx.get(f"{inside}/metrics").text
        # The status page and its run-now form live inside too.
        page = httpx.get(f"{inside}/status")
        assert page.status_code == 200 and "secret-project-handbook" in page.text
        assert httpx.get(f"{inside}/status.json").json()[0]["name"] == "secret-project-handbook"
        assert httpx.post(f"{outside}/status/run/secret-project-handbook").status_code == 404
        moved = httpx.post(
            f"{inside}/hooks/secret-project-handbook",
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        assert moved.status_code == 404
        # The container's HEALTHCHECK follows the key.
        assert check(str(config)) is None
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    assert daemon.returncode == 0, log.read_text(encoding="utf-8")


def test_by_default_every_route_stays_on_the_one_port(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Without internal_port nothing moves: probes, metrics and hooks share server.port."""
    port = _free_port()
    config = _write(tmp_path, sandbox.url, {"port": port})
    daemon = subprocess.Popen(
        [sys.executable, "-m", "syncd", "--log-format", "json", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=60)
        assert httpx.get(f"{url}/metrics").status_code == 200
        hook = httpx.post(
            f"{url}/hooks/secret-project-handbook", headers={"Authorization": f"Bearer {SECRET}"}
        )
        assert hook.status_code == 202
        assert check(str(config)) is None
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)


def test_the_internal_port_cannot_be_the_public_one(tmp_path: Path) -> None:
    config = _write(tmp_path, "http://127.0.0.1:9", {"port": 9100, "internal_port": 9100})
    with pytest.raises(ConfigError, match="port of its own"):
        load_config(config)
