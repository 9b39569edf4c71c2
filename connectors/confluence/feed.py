"""The change feed of a Confluence export path: has a different complete export arrived?

fingerprint
    For a folder of XML exports, the :attr:`~syncd.connectors.confluence.exports.Selection.
    fingerprint` of :func:`~syncd.connectors.confluence.exports.current_exports`: it changes
    when, and only when, another *complete*, settled export becomes current, so a half-copied
    zip changes nothing. For a single export (a zip or an unpacked folder, HTML or XML), the
    size and modification time of every file in it: a stat per file, no read.

holding still
    A changed fingerprint is reported once a second poll sees the same one: an export still
    being copied in changes between polls and asks for nothing until it stops. The run it asks
    for is a full one (an export replaces the whole space); the connector then reads only
    complete exports and refuses, deleting nothing, when none is.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from syncd.connectors.base import EVERYTHING, NOTHING, Memory, Poll
from syncd.connectors.confluence.exports import Selection, current_exports, examine_folder

ORIGIN_KEY = "listing.origin"
"""The memory key under which a listing records where it came from (read by `syncd status`)."""


def remember(
    memory: Memory | None,
    export: str,
    spaces: Mapping[str, str] | None = None,
    selection: Selection | None = None,
) -> None:
    """Record the export file(s) a listing reads, for the status page and `syncd status`:
    which export each space came from, and newer exports still settling (not read yet)."""
    if memory is None:
        return
    origin = {"export": export}
    if spaces:
        origin["spaces"] = ", ".join(f"{key} from {name}" for key, name in sorted(spaces.items()))
    if selection is not None and selection.settling:
        origin["settling"] = ", ".join(selection.settling)
    memory.put(ORIGIN_KEY, json.dumps(origin, sort_keys=True))


def fingerprint(path: Path, *, missing_spaces: str) -> str:
    """What identifies the export(s) at ``path`` now (see the module docstring)."""
    if path.is_dir() and examine_folder(path):
        return "xml:" + current_exports(path, missing_spaces=missing_spaces).fingerprint
    digest = hashlib.sha256()
    if path.is_file():
        info = path.stat()
        digest.update(f"{info.st_size}:{info.st_mtime_ns}".encode())
    else:
        for folder, subfolders, files in os.walk(path):
            subfolders.sort()
            for name in sorted(files):
                info = Path(folder, name).stat()
                relative = os.path.relpath(Path(folder, name), path)
                digest.update(f"{relative}\0{info.st_size}:{info.st_mtime_ns}\n".encode())
    return "stat:" + digest.hexdigest()[:32]


def poll(path: Path, cursor: str | None, *, missing_spaces: str) -> Poll:
    """Whether a different export arrived and holds still; the cursor is ``confirmed|seen``."""
    current = fingerprint(path, missing_spaces=missing_spaces)
    if cursor is None:
        return Poll(NOTHING, f"{current}|{current}")
    confirmed, _, seen = cursor.partition("|")
    if current == confirmed or current != seen:
        return Poll(NOTHING, f"{confirmed}|{current}")
    return Poll(EVERYTHING, f"{current}|{current}")
