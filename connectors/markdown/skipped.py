"""Entries of a Markdown tree that look like they could hold pages but are not read.

Reported once per listing, as one warning with the count, the reasons and the first few
paths, so an operator learns why a page is missing without a line per file:

* a symbolic link whose target is outside the root (a page there is not the source's; a
  folder is never followed),
* a symbolic link loop, or a broken link with a page's name,
* a FIFO, a socket or a device file (reading one could block the run, or read a device).

Folders and files the include and exclude patterns leave out are not reported: that is what
they are for.
"""

from __future__ import annotations

import os
import stat
from collections import Counter

import structlog

log = structlog.get_logger(__name__)

SHOWN = 5  # paths named in the warning; the count covers the rest


class Skipped:
    """What one listing skipped, and why."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def add(self, rel: str, why: str) -> None:
        """Remember that ``rel`` (relative to the root) was skipped for ``why``."""
        self.entries.append((rel, why))

    def special(self, rel: str, entry: os.DirEntry[str]) -> None:
        """Remember a file that is neither regular, a folder nor a link."""
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError:
            return  # gone while listing
        if stat.S_ISFIFO(mode):
            self.add(rel, "a FIFO")
        elif stat.S_ISSOCK(mode):
            self.add(rel, "a socket")
        else:
            self.add(rel, "a device or other special file")

    def report(self, source: str, root: str) -> None:
        """Log one warning for the whole listing, if anything was skipped."""
        if not self.entries:
            return
        reasons = Counter(why for _, why in self.entries)
        log.warning(
            "markdown.skipped",
            source=source,
            root=root,
            count=len(self.entries),
            reasons=dict(reasons.most_common()),
            first=[f"{rel} ({why})" for rel, why in self.entries[:SHOWN]],
        )
