"""State database faults end a run at once with exit 5, one clear line and the run summary."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncd.sandbox import SandboxServer
from tests.cli.test_cli_sync import make_site, sandbox, syncd, write_config

__all__ = ["sandbox"]  # the fixture, imported for the tests below


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def tcp_proxy(target_port: int) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A socat proxy to ``target_port`` in a process group of its own (stop it to cut links)."""
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (apt-get install socat)")
    port = free_port()
    proxy = subprocess.Popen(
        [
            "socat",
            f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
            f"TCP:127.0.0.1:{target_port}",
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.05)
    try:
        yield port, proxy
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proxy.pid, signal.SIGKILL)
        proxy.wait(timeout=30)


def test_read_only_sqlite_is_exit_5_at_once(tmp_path: Path, sandbox: SandboxServer) -> None:
    """A state file syncd may not write fails the run in seconds with exit 5, not "busy"."""
    make_site(tmp_path / "site", 3)
    database = tmp_path / "state.db"
    config = write_config(tmp_path, sandbox, f"sqlite:///{database}")
    assert syncd(config, "sync").returncode == 0
    (tmp_path / "site" / "page-0000.md").write_text("# Page 0\n\nedited\n", encoding="utf-8")
    database.chmod(0o444)
    command = [sys.executable, "-m", "syncd", "--config", str(config), "sync"]
    if os.geteuid() == 0:  # root writes read-only files: drop the capabilities that allow it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
        command = ["setpriv", "--bounding-set=-dac_override,-fowner", *command]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 5, result.stderr
    assert time.monotonic() - started < 15
    assert "read-only" in result.stdout and "being synced" not in result.stdout
    assert result.stdout.startswith("docs: 0 created")  # the summary is still printed
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
def test_postgresql_lost_mid_run_is_exit_5_with_summary(
    tmp_path: Path, sandbox: SandboxServer, pg_url: str
) -> None:
    """Cutting the database link mid-run ends the run in seconds: exit 5, summary, no traceback."""
    make_site(tmp_path / "site", 400)
    direct = sa.make_url(pg_url)
    with tcp_proxy(direct.port or 5432) as (port, proxy):
        config = write_config(tmp_path, sandbox, direct.set(port=port).render_as_string(False))
        sandbox.settings.latency_ms = 30
        command = [sys.executable, "-m", "syncd", "--log-format", "json", "--config", str(config)]
        run = subprocess.Popen(
            [*command, "sync"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while sandbox.store.requests(method="POST") < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before the database was cut"
        os.killpg(proxy.pid, signal.SIGKILL)
        cut = time.monotonic()
        out, err = run.communicate(timeout=120)
        sandbox.settings.latency_ms = 0
    assert run.returncode == 5, err
    assert time.monotonic() - cut < 20
    assert out.startswith("docs: ") and "state database" in out
    assert "Traceback" not in err


def test_corrupt_sqlite_is_exit_5_in_one_line(tmp_path: Path, sandbox: SandboxServer) -> None:
    """A state file that is not a database fails at once with exit 5 and SQLite's reason."""
    make_site(tmp_path / "site", 2)
    database = tmp_path / "state.db"
    database.write_bytes(b"this is not an SQLite database, just some bytes" * 100)
    config = write_config(tmp_path, sandbox, f"sqlite:///{database}")
    started = time.monotonic()
    result = syncd(config, "sync")
    assert result.returncode == 5, result.stderr
    assert time.monotonic() - started < 30
    errors = [line for line in result.stderr.splitlines() if line.startswith("syncd: error:")]
    assert len(errors) == 1 and "file is not a database" in errors[0]
    assert "Traceback" not in result.stderr
