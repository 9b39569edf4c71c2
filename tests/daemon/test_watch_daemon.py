"""`syncd run` watching a real folder that is replaced, or emptied file by file.

A watched folder removed and made again, or moved away and copied back, keeps being watched at
its path (edits to the moved-away copy ask for nothing); files deleted one by one, each in a
run of its own, meet the same safety stop as deleting them at once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.daemon.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
URL = "https://handbook.example.com"
ARRIVAL = 60.0  # generous: the machine running the tests may be loaded

pytestmark = pytest.mark.slow


class Daemon:
    """A `syncd run` process over ``root/docs`` and its JSON log."""

    def __init__(self, root: Path, sandbox: SandboxServer) -> None:
        self.root = root
        self.docs = root / "docs"
        self.sandbox = sandbox
        self.config = root / "syncd.yaml"
        self.config.write_text(
            f"""
intercom: {{token: t, base_url: "{sandbox.url}", max_concurrency: 4}}
state: {{url: "sqlite:///state.db", lease_wait: 60s}}
sources:
  - name: handbook
    connector: markdown
    url: {URL}
    schedule: {{interval: 1h, watch: true}}
    options: {{path: docs}}
""",
            encoding="utf-8",
        )
        self.log = root / "daemon.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "syncd", "--config", str(self.config)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, "--log-format", "json", "run"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                cwd=self.root,
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == name:
                found.append(record)
        return found

    def pages(self) -> dict[str, str]:
        """External id -> HTML of the handbook's pages in the sandbox."""
        store = self.sandbox.store
        ids = [int(s["id"]) for s in store.list_sources() if s["url"] == URL]
        return {
            str(page["external_id"]): str(page["html"]) for i in ids for page in store.pages_of(i)
        }


def write_pages(folder: Path, count: int, text: str = "Body") -> None:
    folder.mkdir(exist_ok=True)
    for number in range(count):
        (folder / f"page-{number:03}.md").write_text(
            f"# Page {number}\n\n{text} of page {number}.\n", encoding="utf-8"
        )


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token="t", rate_limit=0)) as server:
        yield server


@pytest.fixture
def daemon(tmp_path: Path, sandbox: SandboxServer) -> Iterator[Daemon]:
    running = Daemon(tmp_path, sandbox)
    try:
        yield running
    finally:
        running.stop()


def started(daemon: Daemon, pages: int) -> None:
    daemon.start()
    wait_until(lambda: len(daemon.pages()) == pages, timeout=ARRIVAL)
    wait_until(lambda: len(daemon.events("trigger.watching")) == 1, timeout=ARRIVAL)


def html_of(daemon: Daemon, name: str) -> str:
    return next(html for external_id, html in daemon.pages().items() if name in external_id)


def test_a_folder_removed_and_made_again_or_moved_and_copied_stays_watched(
    daemon: Daemon,
) -> None:
    """`rm -rf docs; mkdir docs` and `mv docs docs.old; cp -r docs.old docs` are followed:
    edits in the new folder arrive between ticks, edits to the moved-away copy ask nothing."""
    write_pages(daemon.docs, 5)
    started(daemon, 5)

    shutil.rmtree(daemon.docs)
    write_pages(daemon.docs, 5, text="Recreated")
    wait_until(lambda: "Recreated" in html_of(daemon, "page-000"), timeout=ARRIVAL)
    wait_until(lambda: len(daemon.events("trigger.watching")) >= 2, timeout=ARRIVAL)
    assert daemon.events("trigger.watch_replaced")
    (daemon.docs / "page-003.md").write_text("# Page 3\n\nEdited once made again.\n", "utf-8")
    wait_until(lambda: "Edited once made again" in html_of(daemon, "page-003"), timeout=ARRIVAL)

    daemon.docs.rename(daemon.root / "docs.old")
    shutil.copytree(daemon.root / "docs.old", daemon.docs)
    wait_until(lambda: len(daemon.events("trigger.watching")) >= 3, timeout=ARRIVAL)
    (daemon.docs / "page-001.md").write_text("# Page 1\n\nEdited in the copy.\n", encoding="utf-8")
    wait_until(lambda: "Edited in the copy" in html_of(daemon, "page-001"), timeout=ARRIVAL)
    time.sleep(4)  # the events of the edit may still ask a run of their own: let it come
    wait_until(lambda: len(daemon.events("sync.finished")) == len(daemon.events("sync.started")))
    runs = len(daemon.events("sync.started"))
    old = daemon.root / "docs.old" / "page-002.md"
    old.write_text("# Page 2\n\nEdited in the old folder.\n", encoding="utf-8")
    time.sleep(5)  # past the watch's debounce (1.6 s), the time a run would take to start
    assert len(daemon.events("sync.started")) == runs, "an edit to the old folder asked a run"
    assert daemon.process is not None and daemon.process.poll() is None


def test_files_deleted_one_by_one_meet_the_safety_stop(daemon: Daemon) -> None:
    """Deleting 24 of 31 files 0.4 s apart (a run each) stops at the allowance of the hour;
    `--allow-mass-delete` lets the rest through and ends the window."""
    write_pages(daemon.docs, 31)
    started(daemon, 31)
    for number in range(24):
        (daemon.docs / f"page-{number:03}.md").unlink()
        time.sleep(0.4)
    wait_until(lambda: daemon.events("sync.finished")[-1:] != [], timeout=ARRIVAL)
    wait_until(
        lambda: any(
            "refusing to delete" in str(e.get("error")) for e in daemon.events("sync.finished")
        ),
        timeout=ARRIVAL,
    )
    wait_until(lambda: len(daemon.events("sync.finished")) == len(daemon.events("sync.started")))
    # The default allowance: more than 3 and more than 25% of 31 pages within the hour.
    assert 31 - len(daemon.pages()) <= 7
    refusal = next(
        str(e["error"])
        for e in daemon.events("sync.finished")
        if "refusing to delete" in str(e.get("error"))
    )
    assert "within the last hour" in refusal

    done = subprocess.run(
        [
            *(sys.executable, "-m", "syncd", "--config", str(daemon.config)),
            "sync",
            "--allow-mass-delete",
        ],
        capture_output=True,
        text=True,
        cwd=daemon.root,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(daemon.pages()) == 7
    (daemon.docs / "page-030.md").unlink()  # one more, in the daemon: the window starts anew
    wait_until(lambda: len(daemon.pages()) == 6, timeout=ARRIVAL)
