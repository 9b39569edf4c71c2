"""Strangers at the hook endpoint of a real `syncd run`: bad headers, dropped and slow calls."""

from __future__ import annotations

import json
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.daemon.conftest import wait_until

SECRET = "hook-secret-0123456789"
SYNCD = (sys.executable, "-m", "syncd", "--log-format", "json")
FILE_LIMIT = 256  # descriptors the daemon may open: the probe's point is to run out of them


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Daemon:
    """A `syncd run` subprocess with one Markdown source and the hook endpoint."""

    def __init__(self, root: Path, sandbox_url: str) -> None:
        (root / "docs").mkdir()
        (root / "docs" / "index.md").write_text("# Home\n\nText.\n", encoding="utf-8")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "intercom": {"token": "t", "base_url": sandbox_url},
            "state": {"url": f"sqlite:///{root / 'state.db'}"},
            "server": {"host": "127.0.0.1", "port": self.port, "hook_secret": SECRET},
            "sources": [
                {
                    "name": "handbook",
                    "connector": "markdown",
                    "url": "https://handbook.example.com",
                    "schedule": {"interval": "1h"},
                    "options": {"path": str(root / "docs")},
                }
            ],
        }
        (root / "syncd.yaml").write_text(json.dumps(config), encoding="utf-8")
        self.log = root / "daemon.log"
        with self.log.open("w", encoding="utf-8") as out:
            self.process = subprocess.Popen(
                [*SYNCD, "--config", str(root / "syncd.yaml"), "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_limit_files,  # noqa: PLW1509 - sets an rlimit, nothing else
            )
        wait_until(self._healthy, timeout=60)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            assert self.process.poll() is None, self.log.read_text(encoding="utf-8")
            return False

    def stop(self) -> str:
        """SIGTERM, wait, and return the log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log.read_text(encoding="utf-8")


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    with SandboxServer(SandboxSettings(token="t", rate_limit=0)) as sandbox:
        started = Daemon(tmp_path, sandbox.url)
        try:
            yield started
        finally:
            started.stop()


def _errors(log: str) -> list[str]:
    """Lines of the daemon's log at ERROR level or holding a traceback."""
    return [
        line
        for line in log.splitlines()
        if "Traceback" in line or '"level": "error"' in line or '"level": "critical"' in line
    ]


def test_a_malformed_webhook_timestamp_is_401_not_500(daemon: Daemon) -> None:
    """5,000 digits (over int()'s limit), or a digit int() cannot read: refused, no traceback."""
    # HTTP header values are bytes; the server reads them as Latin-1 (b"\xb2" is "²").
    for stamp in (b"9" * 5000, "²".encode("latin-1"), b"-5", b"1e9", b""):
        _post_stamp(daemon, stamp)
    assert _errors(daemon.stop()) == []


def _post_stamp(daemon: Daemon, stamp: bytes) -> None:
    response = httpx.post(
        f"{daemon.url}/hooks/handbook",
        content=b"{}",
        headers={
            "webhook-id": "msg_1",
            "webhook-timestamp": stamp,
            "webhook-signature": "v1,bm90LXRoaXMtb25l",
        },
    )
    assert response.status_code == 401, (stamp[:10], response.text)


def test_a_caller_leaving_mid_body_is_logged_quietly(daemon: Daemon) -> None:
    """A hook call whose sender disconnects halfway through the body: no error, no traceback."""
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", daemon.port)) as conn:
            conn.sendall(
                b"POST /hooks/handbook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                + f"Authorization: Bearer {SECRET}\r\n\r\n".encode()
                + b'{"half": '
            )
            time.sleep(0.2)
    assert httpx.get(f"{daemon.url}/healthz").status_code == 200
    time.sleep(0.5)  # the server notices the last disconnect
    log = daemon.stop()
    assert _errors(log) == [], log
    assert "hooks.disconnected" in log


def test_300_slowloris_connections_leave_healthz_answering(daemon: Daemon) -> None:
    """300 connections sending a request head byte by byte, with the daemon allowed only
    256 descriptors: /healthz still answers within 2 s, and the server closes the slow ones."""
    held: list[socket.socket] = []
    try:
        for _ in range(300):
            conn = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
            conn.sendall(b"POST /hooks/handbook HTTP/1.1\r\nHost: x\r\n")
            held.append(conn)
        for conn in held:
            conn.setblocking(False)
        started = time.monotonic()
        response = httpx.get(f"{daemon.url}/healthz", timeout=2)
        assert response.status_code == 200
        assert time.monotonic() - started < 2
        # Trickle on: every held connection sends one more header byte now and then. Within
        # the head deadline (10 s) the server has closed each one.
        deadline = time.monotonic() + 30
        open_ones = list(held)
        while open_ones and time.monotonic() < deadline:
            still = []
            for conn in open_ones:
                try:
                    if conn.recv(1024) == b"":
                        continue  # closed by the server
                except BlockingIOError:
                    pass
                except OSError:
                    continue
                try:
                    conn.send(b"X")
                except BlockingIOError:
                    pass
                except OSError:
                    continue
                still.append(conn)
            open_ones = still
            time.sleep(0.5)
        assert open_ones == [], f"{len(open_ones)} slow connections still held"
        assert httpx.get(f"{daemon.url}/healthz", timeout=2).status_code == 200
    finally:
        for conn in held:
            conn.close()
    assert _errors(daemon.stop()) == []


def test_the_daemon_keeps_serving_a_hook_after_the_abuse(daemon: Daemon) -> None:
    """A proper call still gets its run: the guards stop strangers, not callers."""
    response = httpx.post(
        f"{daemon.url}/hooks/handbook", headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert response.status_code == 202, response.text
