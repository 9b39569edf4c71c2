"""A bad configuration leaves no state file behind; a state database failing mid-run leaves a
summary that counts what Intercom was sent. Real processes, real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.cli.test_cli_sync import TOKEN, make_site, pages, write_config


def _syncd_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`syncd ARGS` run in ``folder`` with no SYNCD_* setting from this environment."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SYNCD_")}
    return subprocess.run(
        [sys.executable, "-m", "syncd", "--log-format", "json", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        ("", ("sync",), "intercom.token"),
        ("", ("run",), "intercom.token"),
        ('intercom: {token: "${NOT_SET_ANYWHERE}"}\n', ("sync",), "NOT_SET_ANYWHERE"),
        (
            "intercom: {token: abc}\nsources: []\n",
            ("sync", "--source", "nosuch"),
            "nosuch",
        ),
        (
            "intercom: {token: abc}\nserver: {hook_secret: short}\n",
            ("run",),
            "server.hook_secret",
        ),
    ],
)
def test_a_configuration_error_creates_no_state_database(
    tmp_path: Path, text: str, args: tuple[str, ...], expected: str
) -> None:
    """Exit 2 with the key named, and no syncd.db (nor cache folder) left in the folder."""
    (tmp_path / "syncd.yaml").write_text(text, encoding="utf-8")
    result = _syncd_in(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syncd.yaml"]


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxServer]:
    """Intercom answering each request after 40 ms: a run of 150 pages takes a while."""
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0, latency_ms=40)) as server:
        yield server


@pytest.mark.postgres
def test_a_state_database_failing_mid_run_leaves_a_summary_of_what_was_sent(
    tmp_path: Path, slow_sandbox: SandboxServer, pg_url: str
) -> None:
    """Writes to PostgreSQL start failing mid-run (and its connections are cut): the run
    stops with exit 5, and `created` equals the pages Intercom holds."""
    make_site(tmp_path / "site", 150)
    config = write_config(tmp_path, slow_sandbox, pg_url)
    command = [sys.executable, "-m", "syncd", "--log-format", "json", "--config", str(config)]
    process = subprocess.Popen(
        [*command, "sync", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + 60
        while len(pages(slow_sandbox)) < 30:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.02)
        with admin.connect() as connection:
            # Every later write of a document's record fails, and the connections in use
            # are cut under the run.
            connection.execute(
                sa.text("ALTER TABLE documents ADD CONSTRAINT refuse CHECK (false) NOT VALID")
            )
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        admin.dispose()
    assert process.returncode == 5, err
    report = json.loads(out)["sources"][0]
    assert "state database" in report["error"]
    held = len(pages(slow_sandbox))
    assert held < 150, "the run should have stopped at the failure"
    assert report["created"] == held, (report, held)
