"""Listing a Markdown tree: which entries are pages, found without reading a file.

Which files are pages: those matching ``include`` and not ``exclude`` (globs on the ref id;
``**`` spans folders). Hidden files and folders (``.git``, ``.github``) and ``node_modules``
are skipped, and so is anything but a regular file (a FIFO named ``x.md`` would block the
read). A symlinked file is listed when it points inside the root; symlinked folders are
never entered (loops, and the same page twice). What looks like a page but is not read is
reported once per listing (see :mod:`syncd.connectors.markdown.skipped`).

leaf bundle
    In a Hugo tree (from the first folder down from the root holding ``_index.md`` or a
    ``hugo.toml``/``hugo.yaml``/``hugo.json``), a folder with an ``index.md`` and no
    ``_index.md`` is a page bundle: ``index.md`` is the page and everything else inside it,
    Markdown included (``shortcodes/includes/installation.md``), is a resource of that page,
    not a page, so it is not listed, from a folder or from git. Docusaurus has no
    ``_index.md`` (it ignores files named ``_*``) and publishes the siblings of a category's
    ``index.md`` as pages, so a tree without these marks lists every Markdown file (see
    :func:`syncd.connectors.markdown.urls.bundle_resource`).

folder walk
    A folder is listed depth first in name order, with one ``stat`` per file and none of its
    bytes read: a page's version is ``<size>:<mtime_ns>``.

git listing
    A fetched tree is listed from one ``git ls-tree``; a page's version is its blob id (see
    :mod:`syncd.connectors.markdown.gitsource`).

Naming pages one by one, without a listing, is :mod:`syncd.connectors.markdown.lookup`.
"""

from __future__ import annotations

import errno
import operator
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from syncd.connectors.base import DocumentRef, SourceUnavailable
from syncd.connectors.markdown.gitsource import GitTree
from syncd.connectors.markdown.skipped import Skipped
from syncd.connectors.markdown.urls import LEAF_INDEXES, Globs, bundle_resources, bundle_state
from syncd.connectors.markdown.wiki import Wiki

# Folders that hold tooling, never pages (hidden ones are skipped by their leading dot).
SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__"})
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_DIRECTORY", 0)
_by_name = operator.attrgetter("name")
# (folder path with a trailing "/", its absolute path, whether the tree is Hugo's from there)
_Folders = list[tuple[str, str, bool]]


def git_refs(
    git: GitTree,
    include: Globs | None,
    exclude: Globs,
    wiki: Wiki | None,
    attached: tuple[str, ...] = (),
) -> Iterator[DocumentRef]:
    """The pages of the fetched tree, from one ``git ls-tree``: no file is read.

    ``include`` None lets every file the wiki calls a page in, whatever its name.
    ``attached``: the suffixes of attachments, listed wherever they are (see
    :mod:`syncd.extract.attachments`).
    """
    entries = git.entries()
    resources = bundle_resources(entries)
    for path in sorted(entries):
        parts = path.split("/")
        if any(part[0] == "." or part in SKIPPED_FOLDERS for part in parts[:-1]):
            continue
        name = parts[-1]
        if name[0] == ".":
            continue
        if attached and name.lower().endswith(attached):
            if exclude.match(path, name):
                continue
        elif (
            (wiki is not None and not wiki.is_page(path))
            or path in resources
            or (include is not None and not include.match(path, name))
            or exclude.match(path, name)
        ):
            continue
        yield DocumentRef(id=path, version=git.version(entries[path]))


class FolderWalk:
    """One listing of a folder tree: its pages, and what it skipped.

    ``root`` is the real path of the tree's folder; ``where`` is the root as the user wrote
    it, and ``source`` the source's name, for messages. ``attached``: the suffixes of
    attachments, listed inside page bundles too (``include`` must hold them as well).
    """

    def __init__(
        self,
        root: Path,
        include: Globs,
        exclude: Globs,
        *,
        where: str,
        source: str,
        attached: tuple[str, ...] = (),
    ) -> None:
        self.root = root
        self._root = str(root)
        self._root_prefix = self._root.rstrip(os.sep) + os.sep
        self._include = include
        self._exclude = exclude
        self._attached = attached
        self._where = where
        self._source = source
        self._skipped = Skipped()

    def refs(self) -> Iterator[DocumentRef]:
        """Every page of the folder, depth first in name order, with one stat per file.

        Once every page was given, one warning reports what was skipped, if anything.
        """
        if not self.root.is_dir():
            # Worded as the Confluence connector words a missing export.
            what = "not a folder" if self.root.exists() else "does not exist"
            raise SourceUnavailable(f"{self._where}: {what}")
        stack: _Folders = [("", self._root, False)]
        self._skipped = Skipped()
        while stack:
            rel_dir, abs_dir, hugo = stack.pop()
            folders: _Folders = []
            yield from self._folder(rel_dir, abs_dir, hugo, folders)
            stack.extend(reversed(folders))
        self._skipped.report(self._source, self._where)

    def _folder(
        self, rel_dir: str, abs_dir: str, hugo: bool, folders: _Folders
    ) -> Iterator[DocumentRef]:
        """The pages of one folder, in name order; its subfolders to enter go to ``folders``.

        ``hugo`` says a folder above marked the tree as Hugo's; in a leaf bundle only the
        bundle's ``index.md`` is a page (see the module docstring).

        The folder is opened once and its files are stat'ed relative to it (``fstatat``), so
        the kernel does not walk the whole path again for each file (about 13% of a listing).
        """
        try:
            fd = os.open(abs_dir, _FOLDER_FLAGS)
            try:
                with os.scandir(fd) as scan:
                    entries = sorted(scan, key=_by_name)
            except OSError:
                os.close(fd)
                raise
        except OSError as exc:
            raise SourceUnavailable(
                f"{self._where}: cannot list {rel_dir or '.'}: {exc.strerror}"
            ) from None
        suffixes, regex = self._include.suffixes, self._include.regex
        exclude = self._exclude if self._exclude else None
        hugo, bundle = bundle_state({entry.name.lower() for entry in entries}, hugo)
        try:
            for entry in entries:
                name = entry.name
                if (
                    name[0] == "."
                    or name in SKIPPED_FOLDERS
                    or (  # a bundle's resource, unless an attachment
                        bundle
                        and name.lower() not in LEAF_INDEXES
                        and not name.lower().endswith(self._attached)
                    )
                ):
                    continue
                if entry.is_file(follow_symlinks=False):
                    rel = rel_dir + name
                    if (
                        not name.endswith(suffixes) and (regex is None or not regex.match(rel))
                    ) or (exclude is not None and exclude.match(rel, name)):
                        continue
                    try:
                        status = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # deleted while listing: it is simply gone
                    yield DocumentRef(id=rel, version=f"{status.st_size}:{status.st_mtime_ns}")
                elif entry.is_symlink():
                    yield from self._symlinked_ref(entry, abs_dir, rel_dir + name)
                elif entry.is_dir(follow_symlinks=False):
                    rel = rel_dir + name + "/"
                    if exclude is None or not exclude.match(rel, ""):
                        folders.append((rel, f"{abs_dir}{os.sep}{name}", hugo))
                else:  # a FIFO, a socket, a device: not a page, and reading it could block
                    self._skipped.special(rel_dir + name, entry)
        finally:
            os.close(fd)

    def _symlinked_ref(
        self, entry: os.DirEntry[str], abs_dir: str, rel: str
    ) -> Iterator[DocumentRef]:
        """The page a link inside the root points at, if any; links that lead astray are
        reported (see :mod:`syncd.connectors.markdown.skipped`)."""
        if self._exclude.match(rel, entry.name) or self._exclude.match(rel + "/", ""):
            return
        wanted = self._include.match(rel, entry.name)
        try:
            status = entry.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._skipped.add(rel, "a symlink loop")
            elif wanted:
                self._skipped.add(rel, "a broken symlink")
            return
        if not self._inside(os.path.realpath(f"{abs_dir}{os.sep}{entry.name}")):
            if wanted or stat.S_ISDIR(status.st_mode):
                self._skipped.add(rel, "a symlink to outside the root")
        elif wanted and stat.S_ISREG(status.st_mode):
            yield DocumentRef(id=rel, version=f"{status.st_size}:{status.st_mtime_ns}")

    def _inside(self, real_path: str) -> bool:
        return real_path.startswith(self._root_prefix)
