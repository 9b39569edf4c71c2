"""Hostile Markdown pages under a real `syncd sync`: each fails alone, named, quickly, bounded.

The attacks of the third adversarial probe: front matter of the wrong type, 120,000 nested
block quotes, 100,000 nested ``<div>`` and a table of 1,000 columns. Each must fail its own
page with a message naming it (exit 3, the other pages published), without a traceback, within
a bounded memory, and a stop during such a run must be honoured within seconds.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.cli.test_cli_sync import TOKEN, make_site, pages, write_config

HOSTILE = {
    "sync-list.md": "---\nsync: [true]\n---\n# Sync list\n",
    "headless-map.md": "---\nheadless: {x: 1}\n---\n# Headless map\n",
    "bad-date.md": "---\ntitle: Dated\ndate: 2020-13-45\n---\n# Bad date\n",
    "quotes.md": ">" * 120_000 + " deep\n",
    "divs.md": "<div>" * 100_000 + "deep\n",
    "columns.md": ("|" + "|".join("a" for _ in range(1_000)) + "|\n") * 1_950,
}


def failures(stderr: str) -> dict[str, str]:
    """The documents the run's JSON log reports failed, with their reasons."""
    found: dict[str, str] = {}
    for line in stderr.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("event") == "document.failed":
            found[str(event["ref"])] = str(event.get("reason") or event.get("error"))
    return found


def peak_rss_mib(config: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `syncd` in a fresh parent that reports its child's peak RSS, as the kernel counted."""
    probe = (
        "import resource, subprocess, sys, json\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps([done.returncode, done.stdout, done.stderr, peak]))\n"
    )
    command = [sys.executable, "-m", "syncd", "--log-format", "json", "--config", str(config)]
    out = subprocess.run(
        [sys.executable, "-c", probe, *command, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    code, stdout, stderr, peak = json.loads(out.stdout)
    return subprocess.CompletedProcess(command, code, stdout, stderr), float(peak)


def test_hostile_pages_fail_alone_named_and_bounded(
    tmp_path: Path, sandbox: SandboxServer, sqlite_url: str
) -> None:
    """Wrong-typed front matter, deep nesting and a huge table fail their pages alone, named,
    without a traceback, in well under 512 MiB; the good pages are published (exit 3)."""
    site = tmp_path / "site"
    make_site(site, 3)
    for name, text in HOSTILE.items():
        (site / name).write_text(text, encoding="utf-8")
    config = write_config(tmp_path, sandbox, sqlite_url)
    done, peak = peak_rss_mib(config, "sync")
    assert done.returncode == 3, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    failed = failures(done.stderr)
    assert set(failed) == set(HOSTILE), failed
    assert "'sync' must be true or false" in failed["sync-list.md"]
    assert "'headless' must be true or false" in failed["headless-map.md"]
    assert "month must be in 1..12" in failed["bad-date.md"]
    for deep in ("quotes.md", "divs.md"):
        assert "levels deep" in failed[deep]
    assert "table cell separators" in failed["columns.md"]
    assert sorted(str(page["title"]) for page in pages(sandbox)) == [
        "Page 0",
        "Page 1",
        "Page 2",
    ]
    assert peak < 300, f"peak RSS {peak:.0f} MiB"


def test_stop_during_hostile_pages_is_honoured_within_seconds(
    tmp_path: Path, sandbox: SandboxServer, sqlite_url: str
) -> None:
    """SIGTERM while a run meets page after page of deep nesting ends it within seconds."""
    site = tmp_path / "site"
    site.mkdir()
    for i in range(40):
        (site / f"deep-{i:02d}.md").write_text(">" * 120_000 + f" {i}\n", encoding="utf-8")
    config = write_config(tmp_path, sandbox, sqlite_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while sandbox.store.requests() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # the run has started once it asks Intercom for its source
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert time.monotonic() - stopped < 15, "the stop was not honoured within seconds"
    assert "Traceback" not in stderr
    assert process.returncode in (3, 130, 143), stderr[-2000:]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"
