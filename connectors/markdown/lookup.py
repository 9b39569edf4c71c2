"""Named pages of a Markdown tree, without listing it: what incremental runs and the watch use.

A path is a *candidate* when :meth:`MarkdownConnector.list` would consider it by name alone:
no hidden or skipped folder on its way, matching ``include`` and not ``exclude``, no folder
on its way excluded. A candidate inside a Hugo leaf bundle (other than its ``index.md``) is
no page, as in the listing. :func:`lookup` then asks the file system about each named candidate as
the listing would (a regular file, or a symlinked file pointing inside the root; folders on
its way not symlinks), so an incremental run sees a page exactly when a full listing would.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from syncd.connectors.base import DocumentRef, SourceUnavailable
from syncd.connectors.markdown.listing import SKIPPED_FOLDERS
from syncd.connectors.markdown.urls import bundle_resource

if TYPE_CHECKING:
    from syncd.connectors.markdown.connector import MarkdownConnector


def candidate(connector: MarkdownConnector, rel: str) -> bool:
    """Whether the listing would consider the ref id ``rel`` by its name (no file access)."""
    parts = rel.split("/")
    name = parts[-1]
    if any(part in ("", ".", "..") or part[0] == "." or part in SKIPPED_FOLDERS for part in parts):
        return False
    if not connector.include.match(rel, name):
        return False
    exclude = connector.exclude
    if not exclude:
        return True
    folders = ["/".join(parts[:depth]) + "/" for depth in range(1, len(parts))]
    return not exclude.match(rel, name) and not any(exclude.match(f, "") for f in folders)


def ref_id_of(connector: MarkdownConnector, path: Path) -> str | None:
    """The ref id of a file at ``path`` if it is a candidate page, else None."""
    text = str(path)
    prefix = connector.root_prefix
    if not text.startswith(prefix):
        return None
    rel = text[len(prefix) :].replace(os.sep, "/")
    return rel if candidate(connector, rel) else None


def lookup(connector: MarkdownConnector, ids: Collection[str]) -> list[DocumentRef]:
    """The refs of the named pages that exist now, as the listing would give them."""
    if not connector.root.is_dir():
        raise SourceUnavailable(f"{connector.options_path()}: not a readable folder")
    refs = []

    @functools.cache
    def names_of(folder: str) -> frozenset[str]:
        try:
            found = Path(connector.root_prefix + folder).iterdir()
            return frozenset(entry.name.lower() for entry in found)
        except OSError:
            return frozenset()

    for rel in ids:
        if not candidate(connector, rel):
            continue
        if not connector.attachment_type(rel) and bundle_resource(rel, names_of):
            continue
        folder, _, _ = rel.rpartition("/")
        path = connector.root_prefix + rel
        # The listing never enters a symlinked folder: the folder must be itself.
        if folder and os.path.realpath(connector.root_prefix + folder) != os.path.normpath(
            connector.root_prefix + folder
        ):
            continue
        try:
            status = os.lstat(path)
            if stat.S_ISLNK(status.st_mode):
                if not os.path.realpath(path).startswith(connector.root_prefix):
                    continue
                status = Path(path).stat()
        except FileNotFoundError:
            continue  # gone (or a dangling link): not a page now
        except OSError as exc:
            raise SourceUnavailable(
                f"{connector.options_path()}: cannot read {rel}: {exc}"
            ) from exc
        if stat.S_ISREG(status.st_mode):
            refs.append(DocumentRef(id=rel, version=f"{status.st_size}:{status.st_mtime_ns}"))
    return refs
