"""What the command line loads before it works, checked on real processes.

Start-up is most of the time of a `syncd sync` that finds nothing to do. These tests keep
packages that such a run does not need from being imported again (rich and pygments draw on
terminals, Alembic migrates, prometheus_client serves the daemon's /metrics, httpx sends
requests, pydantic-settings reads overrides from the environment), by the modules a child
process imported, not by timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.cli.test_cli_sync import TOKEN, make_site, syncd, write_config

# pydantic_settings reads SYNCD_<SECTION> overrides, and the child is given none.
# httpx is needed: even a no-op run confirms that its Content Import Source still exists in
# Intercom (one request), so a source deleted there is found and repaired in the next run.
UNNEEDED = {"rich", "pygments", "alembic", "prometheus_client", "pydantic_settings"}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


# Runs the command line as `python -m syncd` does, and writes the modules it imported on exit.
CHILD = """
import atexit, json, sys
from syncd.cli import main

def dump():
    with open(sys.argv[1], "w") as out:
        json.dump(sorted(sys.modules), out)

atexit.register(dump)
main(sys.argv[2:])
"""


def test_a_no_op_sync_with_json_logs_loads_no_display_or_migration_code(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """A second sync of an unchanged folder imports no display, migration or metrics code."""
    make_site(tmp_path / "site", 3)
    config = write_config(tmp_path, sandbox, f"sqlite:///{tmp_path / 'state.db'}")
    assert syncd(config, "sync").returncode == 0
    dump = tmp_path / "modules.json"
    arguments = ["--log-format", "json", "--config", str(config), "sync", "--json"]
    environment = {
        name: value for name, value in os.environ.items() if not name.upper().startswith("SYNCD_")
    }
    no_op = subprocess.run(
        [sys.executable, "-c", CHILD, str(dump), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert no_op.returncode == 0, no_op.stderr
    report = json.loads(no_op.stdout)["sources"][0]
    assert (report["listed"], report["created"], report["updated"]) == (3, 0, 0)
    packages = {name.split(".", 1)[0] for name in json.loads(dump.read_text(encoding="utf-8"))}
    assert {"syncd", "sqlalchemy"} <= packages
    assert "connectors" not in packages  # shipped inside syncd, never as a top-level name
    assert not packages & UNNEEDED


def run_python(program: str) -> subprocess.CompletedProcess[str]:
    """Run ``program`` in a fresh interpreter; its output, once it exited 0."""
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )


def test_console_logs_keep_rich_tracebacks() -> None:
    """With console output chosen, an exception is still drawn by rich."""
    program = (
        "from syncd import log\n"
        "log.configure('info', 'console')\n"
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError:\n"
        "    log.get_logger('test').exception('boom')\n"
    )
    child = run_python(program)
    assert "boom" in child.stderr
    assert "Traceback (most recent call last)" in child.stderr
    assert "╭" in child.stderr  # rich's frame, not the plain formatter


def test_log_lines_go_above_a_live_progress_display() -> None:
    """While progress bars are drawn, log lines go through the display, not over it."""
    program = (
        "import sys\n"
        "from rich.console import Console\n"
        "from syncd import log\n"
        "from syncd.sync.progress import RichProgress\n"
        "log.configure('info', 'json')\n"
        "progress = RichProgress(Console(file=sys.stdout, force_terminal=True, width=80))\n"
        "progress.start('docs', 2)\n"
        "log.get_logger('test').info('during.display')\n"
        "progress.finish('docs')\n"
        "log.get_logger('test').info('after.display')\n"
    )
    child = run_python(program)
    # The display owns the terminal (stdout here): a line logged while it runs is printed by
    # it, above the bars; once it stopped, logging writes to stderr again.
    assert "during.display" in child.stdout
    assert "during.display" not in child.stderr
    assert "after.display" in child.stderr
