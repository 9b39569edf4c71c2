"""The folder watch: file-system events of a source's folder name the documents to sync.

For connectors with a :meth:`~syncd.connectors.base.Connector.watch_root` (the Markdown
folder). The folder is watched with ``watchfiles`` (inotify on Linux, FSEvents on macOS): an
idle folder costs no work but a wake-up every :data:`STEP_MS` to check for stop.

debounce
    Events are gathered until none came for :data:`STEP_MS`, for at most :data:`DEBOUNCE_MS`,
    then handed over as one batch: a ``git pull`` rewriting 300 files makes one or two
    batches, and a batch arriving during a run merges into one follow-up run.

what a batch asks for
    Each event path the connector recognises as a page (:meth:`ref_id_of`) is named changed
    or, when the event was a deletion, deleted. A folder created, moved or removed names
    files the events do not list (inotify reports the folder alone), so it asks for a full
    run. Other paths (editor swap files, ``.git``, build output) ask for nothing.

The watch starts when the daemon does; a folder that is missing or unreadable is logged
(``trigger.watch_failed``, once) and tried again every poll interval, at most every
:data:`REARM_S`. The watch follows the *path*, not the folder first found there: inotify
watches an inode, so a folder removed and made again (``rm -rf docs; mkdir docs``) would go
unwatched, and one moved away (``mv docs docs.old; cp -r docs.old docs``) would still report
edits to the old copy. The watch re-arms on the path (``trigger.watch_replaced``) when an event
concerns the folder itself (its removal or move), or when the path no longer names the folder
it watches (device and inode, checked every :data:`CHECK_MS` and after every batch). When the
configured path is a symlink that comes to point elsewhere (git-sync swaps its ``current``
link to a fresh checkout and removes the old one), the watch follows it: it asks for a full
run and watches the new folder. Every restart of the watch asks for a full run once the
folder is there, since changes made while nothing watched are unknown.
Network file systems deliver no events: with ``watch: poll`` the folder is compared every
``poll`` instead (``watchfiles``' polling mode: a ``stat`` of every file each time, so a
large tree wants a longer ``poll``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import structlog
import watchfiles

from syncd.connectors.base import EVERYTHING, ChangeSet, Connector
from syncd.daemon.triggers.base import RequestRun

log = structlog.get_logger(__name__)

DEBOUNCE_MS = 1600
STEP_MS = 100
CHECK_MS = 1000  # how often an idle watch checks that its path still names its folder
REARM_S = 1.0  # the longest wait before a missing folder is looked for again


class FolderWatch:
    """The change trigger of a source whose connector has a watch root."""

    def __init__(
        self,
        source: str,
        connector: Callable[[], Connector],
        *,
        retry: float,
        polling: bool = False,
    ) -> None:
        """``connector`` builds the source's connector; one is built per (re)start of the watch.

        ``polling``: compare the folder every ``retry`` seconds instead of waiting for events.
        """
        self.source = source
        self.polling = polling
        self._make = connector
        self._connector = connector()
        self._retry = retry
        self._folders: set[str] = set()
        self._thread: threading.Thread | None = None

    def start(self, request: RequestRun, stop: threading.Event) -> None:
        """Watch the folder from a thread of its own until ``stop`` is set."""
        self._thread = threading.Thread(
            target=self._loop, args=(request, stop), name=f"syncd-watch-{self.source}", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the watch thread to end (it checks ``stop`` every :data:`STEP_MS`)."""
        if self._thread is not None:
            self._thread.join(timeout)
        self._connector.close()

    def _loop(self, request: RequestRun, stop: threading.Event) -> None:
        first, failing = True, False
        while not stop.is_set():
            try:
                if not first:
                    self._connector.close()
                    self._connector = self._make()
                self._watch(request, stop, announce=not first)
            except OSError as exc:  # the folder is missing, or cannot be watched
                if not failing:
                    log.warning(
                        "trigger.watch_failed",
                        source=self.source,
                        error=str(exc),
                        retry=self._retry,
                    )
                failing = True
                stop.wait(min(self._retry, REARM_S))
            except Exception:  # a bug here must not end the watch for good
                log.exception("trigger.watch_failed", source=self.source, retry=self._retry)
                stop.wait(self._retry)
            else:
                failing = False
            first = False

    def _watch(self, request: RequestRun, stop: threading.Event, *, announce: bool) -> None:
        """Watch the connector's root until stop is set, or until it is no longer the root.

        ``announce``: a restart, after which a full run is asked for as soon as the folder is
        there to watch (changes made while nothing watched are unknown).
        """
        root = self._connector.watch_root()
        assert root is not None
        if not root.is_dir():
            raise FileNotFoundError(f"{root} is not a folder")
        watched = _identity(root)
        self._folders = _folders_under(root)
        log.info("trigger.watching", source=self.source, folder=str(root), polling=self.polling)
        if announce:
            request(self.source, EVERYTHING, "watch restarted")
        for batch in watchfiles.watch(
            root,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=stop,
            raise_interrupt=False,
            ignore_permission_denied=True,
            force_polling=self.polling,
            poll_delay_ms=int(self._retry * 1000),
            rust_timeout=CHECK_MS,
            yield_on_timeout=True,  # an empty batch: time to check the path
        ):
            # An event on the folder itself is its removal or move (a new folder made at the
            # path may even reuse the inode); otherwise the inode tells.
            itself = any(raw == str(root) for _, raw in batch)
            if itself or _identity(root, missing_ok=True) != watched:
                log.info("trigger.watch_replaced", source=self.source, folder=str(root))
                return  # re-armed on whatever folder the path names now, once there is one
            if not batch:
                continue
            if self._moved(root):
                log.info("trigger.watch_moved", source=self.source, folder=str(root))
                return  # restarted on the folder the path points to now
            changes = self.changes(batch)
            if changes:
                request(self.source, changes, "watch")

    def _moved(self, root: Path) -> bool:
        """Whether the source's folder is no longer ``root`` (a symlink swapped, say)."""
        fresh = self._make()
        try:
            return fresh.watch_root() != root
        finally:
            fresh.close()

    def changes(self, batch: set[tuple[watchfiles.Change, str]]) -> ChangeSet:
        """What one batch of events asks for (see the module docstring)."""
        changed: set[str] = set()
        deleted: set[str] = set()
        everything = False
        for change, raw in batch:
            path = Path(raw)
            ref_id = self._connector.ref_id_of(path)
            if ref_id is not None:
                (deleted if change == watchfiles.Change.deleted else changed).add(ref_id)
            elif raw in self._folders:
                everything = True  # a folder moved away or removed: its files went with it
                self._folders = {f for f in self._folders if not _within(f, raw)}
            elif change != watchfiles.Change.deleted and path.is_dir() and not path.is_symlink():
                everything = True  # a folder moved in or created: its files are not reported
                self._folders |= _folders_under(path)
        if everything:
            return EVERYTHING
        return ChangeSet(frozenset(changed), frozenset(deleted))


def _identity(path: Path, *, missing_ok: bool = False) -> tuple[int, int] | None:
    """The (device, inode) of the folder at ``path``; None if gone and ``missing_ok``."""
    try:
        info = path.stat()
    except OSError:
        if missing_ok:
            return None
        raise
    return info.st_dev, info.st_ino


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _folders_under(root: Path) -> set[str]:
    """Every folder under ``root`` (itself included) but hidden ones; symlinks not followed."""
    found = {str(root)}
    for folder, subfolders, _ in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        found.update(str(Path(folder, name)) for name in subfolders)
    return found
