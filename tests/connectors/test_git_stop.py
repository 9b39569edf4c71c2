"""SIGTERM while git fetches from a slow remote: `syncd sync` and `syncd run` end within
seconds and leave no git process behind. Real git, a real slow server, real signals."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.gitrepos import Upstream, http_server

TOKEN = "intercom-token"
GIT_TOKEN = "git-token-stop-0a1b2c"
SYNCD = (sys.executable, "-m", "syncd", "--log-format", "json")
DELAY = 90.0  # seconds the remote waits before each answer: far longer than a stop may take


@pytest.fixture
def slow_remote(tmp_path: Path) -> Iterator[str]:
    """The URL of a repository whose server answers each request after DELAY seconds."""
    upstream = Upstream(tmp_path)
    upstream.write({"docs/index.md": "# Home\n\nText.\n"})
    upstream.push("first")
    with http_server(upstream.bare.parent, "x-access-token", GIT_TOKEN, delay=DELAY) as base:
        yield f"{base}/docs.git"


def _git_processes(url: str) -> list[int]:
    """Ids of live processes whose command line names ``url`` (git and its helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if url.encode() in cmdline and b"githttp" not in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


def _wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _config(tmp_path: Path, sandbox_url: str, url: str, port: int | None = None) -> Path:
    body: dict[str, object] = {
        "intercom": {"token": TOKEN, "base_url": sandbox_url},
        "state": {"url": f"sqlite:///{tmp_path / 'state.db'}", "cache_dir": str(tmp_path / "c")},
        "sources": [
            {
                "name": "docs",
                "connector": "markdown",
                "url": "https://docs.example.com",
                "schedule": {"interval": "1h"},
                "options": {"git": {"url": url, "ref": "main", "token": GIT_TOKEN}},
            }
        ],
    }
    if port is not None:
        body["server"] = {"host": "127.0.0.1", "port": port}
    config = tmp_path / "syncd.yaml"
    config.write_text(json.dumps(body), encoding="utf-8")
    return config


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


def _stop(process: subprocess.Popen[str], url: str) -> float:
    """SIGTERM once git is fetching; seconds until ``process`` exits."""
    _wait_for(lambda: _git_processes(url) or process.poll() is not None, timeout=60)
    assert process.poll() is None, process.communicate()
    time.sleep(0.5)  # well into the fetch
    process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    try:
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return time.monotonic() - signalled


def test_sigterm_during_a_slow_fetch_ends_syncd_sync_within_seconds(
    tmp_path: Path, sandbox: SandboxServer, slow_remote: str
) -> None:
    """The fetch is killed with its helpers, the run reports itself stopped, nothing deleted."""
    config = _config(tmp_path, sandbox.url, slow_remote)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncd",
            "--log-format",
            "json",
            "--config",
            str(config),
            "sync",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    took = _stop(process, slow_remote)
    out, err = process.communicate()
    assert took < 10, (took, err)
    assert process.returncode != 0
    assert "Traceback" not in err
    _wait_for(lambda: not _git_processes(slow_remote), timeout=5)
    report = json.loads(out)["sources"][0]
    assert report["deleted"] == 0


def test_sigterm_during_a_slow_fetch_leaves_no_git_behind_syncd_run(
    tmp_path: Path, sandbox: SandboxServer, slow_remote: str
) -> None:
    """The daemon stops within seconds (not after its 30 s grace) and kills git's group."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _config(tmp_path, sandbox.url, slow_remote, port=port)
    log = tmp_path / "daemon.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [*SYNCD, "--config", str(config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        took = _stop(process, slow_remote)
    text = log.read_text(encoding="utf-8")
    assert took < 10, (took, text)
    assert process.returncode == 0, text
    assert "Traceback" not in text
    _wait_for(lambda: not _git_processes(slow_remote), timeout=5)
