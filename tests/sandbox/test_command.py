"""`syncd sandbox` as a command: it binds before it announces, and a taken port is one line."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

PAGES = "/ai/external_pages"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_port_is_one_clear_line_and_exit_2(taken_port: int) -> None:
    """With its port taken the sandbox announces nothing and says so in one line, exit 2."""
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "sandbox", "--port", str(taken_port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "syncd: error:" in line]
    assert lines == [
        f"syncd: error: --port: cannot listen on 127.0.0.1:{taken_port}: Address already in use;"
        " choose another port with --port (--port 0 picks a free one)"
    ]
    assert "listening on" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_announced_url_answers_at_once() -> None:
    """The "listening on" line comes after the bind: a request right after it is served."""
    process = subprocess.Popen(
        [sys.executable, "-m", "syncd", "--log-level", "warning", "sandbox", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("sandbox listening on http://127.0.0.1:"), line
        url = line.split()[3]
        assert not url.endswith(":0")
        answer = httpx.get(url + PAGES, headers={"Authorization": "Bearer sandbox"}, timeout=10)
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_help_names_the_inspection_endpoints_and_port_0() -> None:
    """`syncd sandbox --help` says how to look inside and how to get a free port."""
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = " ".join(result.stdout.split())
    for wanted in (
        "GET /ai/content_import_sources and /ai/external_pages",
        "Accept header allowing JSON",
        "DELETE /ai/content_import_sources/ID",
        "--port 0 it picks a free port",
        "(0: a free one)",
    ):
        assert wanted in text, wanted
