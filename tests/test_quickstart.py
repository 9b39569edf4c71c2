"""The README's first command, `bash scripts/quickstart.sh`, run as a new user runs it."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a fresh clone does not hold: build and test leftovers.
LEFTOVERS = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.db", "*.db-*", ".*_cache", ".hypothesis", "dist", "build"
)


class _NotOurs(http.server.BaseHTTPRequestHandler):
    """Another program on the port: it answers every request 404, as a web server would."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_error(404)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def taken_port() -> Iterator[tuple[int, list[str]]]:
    """A port held by an unrelated HTTP server, and the paths it was asked for."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotOurs)
    _NotOurs.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], _NotOurs.requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_quickstart_runs_beside_a_taken_port(
    tmp_path: Path, taken_port: tuple[int, list[str]]
) -> None:
    """The quickstart refuses a taken port in one clear message, and by default takes a free one.

    It installs syncd into a fresh virtualenv from the package index, as on a new machine.
    """
    port, asked = taken_port
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, symlinks=True, ignore=LEFTOVERS)
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("SYNCD_")
    }
    # A real token in the operator's shell must not be sent to the sandbox.
    environment["INTERCOM_ACCESS_TOKEN"] = "a-real-token-from-the-shell"

    def quickstart(**variables: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "scripts/quickstart.sh"],
            cwd=clone,
            env=environment | variables,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    busy = quickstart(SYNCD_SANDBOX_PORT=str(port))
    assert busy.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in busy.stderr
    assert "SYNCD_SANDBOX_PORT" in busy.stderr
    assert "Traceback" not in busy.stderr
    assert "first run" not in busy.stdout
    assert asked == []  # nothing was sent to the program that held the port

    free = quickstart()
    assert free.returncode == 0, free.stdout + free.stderr
    assert "SYNCD_SANDBOX_PORT=PORT chooses the port" in free.stdout
    status = free.stdout.split("== status")[1]
    assert "handbook" in status, free.stdout
    assert "never run" not in status, free.stdout
    assert asked == []
    assert not list(clone.glob("*.db")), "the quickstart's state belongs in its temporary folder"
