"""What `syncd sync` prints for people: on a real terminal, in a plan, and as JSON."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from syncd.sandbox import SandboxServer
from tests.cli.test_cli_sync import make_site, sandbox, syncd, write_config  # noqa: F401
from tests.terminal import run_on_a_terminal

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def on_a_terminal(config: Path, *args: str) -> tuple[int, str]:
    """Run syncd with stdout and stderr on a pseudo-terminal; its exit code and all it showed."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    environment |= {"TERM": "xterm-256color", "COLUMNS": "120"}
    code, shown = run_on_a_terminal(
        [sys.executable, "-m", "syncd", "--config", str(config), *args], environment
    )
    return code, ANSI.sub("", shown)


def test_on_a_terminal_the_summary_is_shown_once(
    tmp_path: Path,
    sandbox: SandboxServer,  # noqa: F811
) -> None:
    """On a terminal each run's summary is printed once; the log does not repeat it."""
    make_site(tmp_path / "site", 3)
    config = write_config(tmp_path, sandbox, f"sqlite:///{tmp_path / 'state.db'}")
    code, shown = on_a_terminal(config, "sync")
    assert code == 0, shown
    assert shown.count("docs: 3 created") == 1, shown
    assert "created=3" not in shown, shown
    assert "sync.started" not in shown
    assert "sync.finished" not in shown
    # Piped (JSON lines), the events are there for machines.
    piped = syncd(config, "sync")
    assert piped.returncode == 0, piped.stderr
    events = [json.loads(line)["event"] for line in piped.stderr.splitlines()]
    assert "sync.started" in events
    assert "sync.finished" in events


def test_a_planned_delete_names_the_page_once(
    tmp_path: Path,
    sandbox: SandboxServer,  # noqa: F811
) -> None:
    """A dry-run delete line names the document's path once, not twice."""
    make_site(tmp_path / "site", 5)
    config = write_config(tmp_path, sandbox, f"sqlite:///{tmp_path / 'state.db'}")
    assert syncd(config, "sync").returncode == 0
    (tmp_path / "site" / "page-0004.md").unlink()
    plan = syncd(config, "sync", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    deletes = [line for line in plan.stdout.splitlines() if line.lstrip().startswith("delete")]
    assert len(deletes) == 1, plan.stdout
    assert deletes[0].split(":")[0].split() == ["delete", "page-0004.md"]


def test_json_durations_are_rounded_to_milliseconds(
    tmp_path: Path,
    sandbox: SandboxServer,  # noqa: F811
) -> None:
    """`sync --json` and `status --json` give durations in seconds with at most 3 decimals."""
    make_site(tmp_path / "site", 2)
    config = write_config(tmp_path, sandbox, f"sqlite:///{tmp_path / 'state.db'}")
    report = syncd(config, "sync", "--json")
    assert report.returncode == 0, report.stderr
    status = syncd(config, "status", "--json")
    assert status.returncode == 0, status.stderr
    durations = [
        json.loads(report.stdout)["sources"][0]["duration"],
        json.loads(status.stdout)[0]["last_run"]["duration"],
    ]
    for duration in durations:
        assert isinstance(duration, float)
        assert duration == round(duration, 3)
    for text in (report.stdout, status.stdout):
        assert not re.search(r'"duration": \d+\.\d{4,}', text), text
