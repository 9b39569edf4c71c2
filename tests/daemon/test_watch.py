"""The folder watch over a real folder: which file events ask for which runs."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.config.loading import load_config
from syncd.connectors.base import ChangeSet, SourceInfo
from syncd.connectors.markdown.connector import MarkdownConnector, MarkdownOptions
from syncd.daemon.triggers.build import build_triggers
from syncd.daemon.triggers.watch import FolderWatch
from syncd.errors import ConfigError
from tests.daemon.conftest import wait_until

TIMEOUT = 20.0  # generous: events and the debounce on a loaded machine


class Requests:
    """What the watch asked the daemon for."""

    def __init__(self) -> None:
        self.seen: list[tuple[ChangeSet, str]] = []
        self._lock = threading.Lock()

    def __call__(self, source: str, changes: ChangeSet, reason: str) -> None:
        with self._lock:
            self.seen.append((changes, reason))

    def merged(self) -> ChangeSet:
        """Everything asked for so far, as one change set."""
        with self._lock:
            total = ChangeSet()
            for changes, _ in self.seen:
                total = total | changes
            return total


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[tuple[Path, Requests]]:
    """A watch over ``docs`` (reached through the symlink ``current``), until the test ends."""
    target = tmp_path / "checkout-1"
    target.mkdir()
    for name in ("a.md", "b.md"):
        (target / name).write_text(f"# {name}\n", encoding="utf-8")
    link = tmp_path / "current"
    link.symlink_to(target, target_is_directory=True)

    def make() -> MarkdownConnector:
        return MarkdownConnector(
            MarkdownOptions(path=link), source=SourceInfo("docs", "https://docs.example.com")
        )

    requests = Requests()
    stop = threading.Event()
    watch = FolderWatch("docs", make, retry=0.5)
    watch.start(requests, stop)
    wait_until(lambda: watch._thread is not None and watch._thread.is_alive())
    stop.wait(0.5)  # the inotify watches are set up in the thread
    try:
        yield tmp_path, requests
    finally:
        stop.set()
        watch.join(5)


def test_edits_creations_and_deletions_are_named(watching: tuple[Path, Requests]) -> None:
    """Writing, creating and removing pages names them; other files ask for nothing."""
    root, requests = watching
    folder = root / "checkout-1"
    (folder / "a.md").write_text("# A, edited\n", encoding="utf-8")
    (folder / "c.md").write_text("# C\n", encoding="utf-8")
    (folder / "b.md").unlink()
    (folder / "notes.txt").write_text("not a page\n", encoding="utf-8")
    (folder / "a.md.swp").write_text("editor swap file\n", encoding="utf-8")
    wait_until(lambda: requests.merged().deleted == {"b.md"}, TIMEOUT)
    wait_until(lambda: requests.merged().changed >= {"a.md", "c.md"}, TIMEOUT)
    merged = requests.merged()
    assert not merged.everything
    assert merged.changed <= {"a.md", "c.md", "b.md"}


def test_a_new_folder_asks_for_a_full_run(watching: tuple[Path, Requests]) -> None:
    """A folder moved in names files that inotify does not report: a full run is asked."""
    root, requests = watching
    outside = root / "incoming"
    outside.mkdir()
    (outside / "d.md").write_text("# D\n", encoding="utf-8")
    shutil.move(outside, root / "checkout-1" / "guide")
    wait_until(lambda: requests.merged().everything, TIMEOUT)


def test_a_swapped_symlink_is_followed(watching: tuple[Path, Requests]) -> None:
    """git-sync's swap of the link to a new checkout asks for a full run and is watched."""
    root, requests = watching
    fresh = root / "checkout-2"
    shutil.copytree(root / "checkout-1", fresh)
    (root / "next").symlink_to(fresh, target_is_directory=True)
    (root / "next").replace(root / "current")
    shutil.rmtree(root / "checkout-1")
    wait_until(lambda: any(reason == "watch restarted" for _, reason in requests.seen), TIMEOUT)
    before = len(requests.seen)
    (fresh / "a.md").write_text("# A in the new checkout\n", encoding="utf-8")
    wait_until(
        lambda: any("a.md" in changes.changed for changes, _ in requests.seen[before:]), TIMEOUT
    )


def test_a_missing_folder_is_watched_once_it_appears(tmp_path: Path) -> None:
    """No run is asked for while the folder is missing; one full run when it appears."""
    folder = tmp_path / "later"

    def make() -> MarkdownConnector:
        return MarkdownConnector(
            MarkdownOptions(path=folder), source=SourceInfo("docs", "https://docs.example.com")
        )

    requests = Requests()
    stop = threading.Event()
    watch = FolderWatch("docs", make, retry=0.2)
    watch.start(requests, stop)
    try:
        stop.wait(1.0)  # several retries while the folder is missing
        assert requests.seen == []
        folder.mkdir()
        wait_until(lambda: requests.merged().everything, TIMEOUT)
        assert [reason for _, reason in requests.seen] == ["watch restarted"]
        stop.wait(0.5)
        (folder / "a.md").write_text("# A\n", encoding="utf-8")
        wait_until(lambda: any("a.md" in c.changed for c, _ in requests.seen), TIMEOUT)
    finally:
        stop.set()
        watch.join(5)


def test_watch_poll_sees_changes_without_events(tmp_path: Path) -> None:
    """`watch: poll` compares the folder (no inotify): an edit is still named."""
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n", encoding="utf-8")

    def make() -> MarkdownConnector:
        return MarkdownConnector(
            MarkdownOptions(path=folder), source=SourceInfo("docs", "https://docs.example.com")
        )

    requests = Requests()
    stop = threading.Event()
    watch = FolderWatch("docs", make, retry=1.0, polling=True)
    assert watch.polling
    watch.start(requests, stop)
    try:
        stop.wait(1.5)  # the first comparison is the baseline
        (folder / "a.md").write_text("# A, edited on the share\n", encoding="utf-8")
        wait_until(lambda: "a.md" in requests.merged().changed, timeout=TIMEOUT)
    finally:
        stop.set()
        watch.join(5)


def test_watch_poll_is_a_schedule_option(tmp_path: Path) -> None:
    """The configuration takes `watch: poll`, and the trigger built from it polls."""
    (tmp_path / "docs").mkdir()
    path = tmp_path / "syncd.yaml"
    path.write_text(
        "intercom: {token: t}\n"
        "sources:\n"
        "  - {name: docs, connector: markdown, url: https://docs.example.com,\n"
        "     schedule: {interval: 15m, watch: poll, poll: 30s}, options: {path: docs}}\n",
        encoding="utf-8",
    )
    config = load_config(path)
    triggers = build_triggers(
        config.sources,
        lambda source: MarkdownConnector(
            source.connector_options, source=SourceInfo(source.name, source.url)
        ),
    )
    assert len(triggers) == 1
    assert isinstance(triggers[0], FolderWatch) and triggers[0].polling
    path.write_text(path.read_text().replace("watch: poll", "watch: sometimes"))
    with pytest.raises(ConfigError, match=r"schedule\.watch"):
        load_config(path)
