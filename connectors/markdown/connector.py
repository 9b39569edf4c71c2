"""The Markdown folder connector (``connector: markdown``): a docs tree, often a git checkout.

Hugo, Jekyll, Docusaurus and MkDocs trees, or a plain folder of notes. Vocabulary:

ref id
    The file's path relative to the root, POSIX separators: ``guide/setup.md``.

version
    ``<size>:<mtime_ns>`` from one ``stat``; listing reads no file. A ``git checkout`` that
    rewrites a file changes its mtime, so the page is fetched again, hashed, and sent only if
    what Intercom would get changed.

external id
    The front matter's ``external_id`` when present, verbatim. Otherwise its ``id``, scoped to
    the file's folder as Docusaurus scopes it (``id: bar`` in ``foo/bar.md`` -> ``foo/bar``),
    so that every folder can have its own ``id: overview``. Either survives renaming the file,
    so the Intercom page is updated in place. Without one the ref id (the path) is the
    external id, and a rename is a deletion of the old page plus the creation of a new one.
    Ids are unique within a source: the engine fails a second page claiming one (it also
    knows the pages not read this run), so this connector keeps no table of them.

Which files are pages: those matching ``include`` and not ``exclude`` (globs on the ref id;
``**`` spans folders). Hidden files and folders (``.git``, ``.github``) and ``node_modules``
are skipped, and so is anything but a regular file (a FIFO named ``x.md`` would block the
read). A symlinked file is listed when it points inside the root; symlinked folders are
never entered (loops, and the same page twice). Pages whose front matter marks them draft,
unlisted, headless or ``sync: false`` raise DocumentExcluded (see
:func:`syncd.connectors.markdown.source.exclusion_reason`), and so does a page with neither
body nor description.

leaf bundle
    In a Hugo tree (from the first folder down from the root holding ``_index.md`` or a
    ``hugo.toml``/``hugo.yaml``/``hugo.json``), a folder with an ``index.md`` and no
    ``_index.md`` is a page bundle: ``index.md`` is the page and everything else inside it,
    Markdown included (``shortcodes/includes/installation.md``), is a resource of that page,
    not a page, so it is not listed, from a folder or from git. Docusaurus has no
    ``_index.md`` (it ignores files named ``_*``) and publishes the siblings of a category's
    ``index.md`` as pages, so a tree without these marks lists every Markdown file (see
    :func:`syncd.connectors.markdown.urls.bundle_resource`).

Title: front matter ``title``, else the first level-1 heading, else the file name (the folder
name for index pages). Body: see :mod:`syncd.connectors.markdown.render`; URLs and links: see
:mod:`syncd.connectors.markdown.urls`. Metadata: ``path``, ``description`` and ``tags``.

With ``git``, syncd fetches the repository itself and ``path`` is a folder inside it: see
:mod:`syncd.connectors.markdown.gitsource` (versions are blob ids, renames keep their page).
With ``wiki``, the tree is a GitHub, GitLab, Gitea or Azure DevOps wiki: that host decides
which files are pages, their titles and URLs, and resolves ``[[links]]`` (see
:mod:`syncd.connectors.markdown.wiki`).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import operator
import os
import stat
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import pydantic

from syncd.connectors.base import (
    EVERYTHING,
    ChangeSet,
    Connector,
    ConnectorOptions,
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    DocumentTooLarge,
    Poll,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.markdown import lookup as markdown_lookup
from syncd.connectors.markdown import render as markdown_render
from syncd.connectors.markdown import source as markdown_source
from syncd.connectors.markdown.gitsource import GitOptions, GitTree, valid_folder
from syncd.connectors.markdown.skipped import Skipped
from syncd.connectors.markdown.urls import (
    INDEX_STEMS,
    LEAF_INDEXES,
    MARKDOWN_SUFFIXES,
    TEMPLATE_FIELDS,
    Globs,
    SiteUrls,
    bundle_resources,
    bundle_state,
    is_markdown,
    split_name,
)
from syncd.connectors.markdown.wiki import Kind, Wiki

# Far beyond any real page; guards against stray dumps, and bounds what rendering one page
# costs in memory (see BENCHMARKS.md, "Failure handling").
MAX_FILE_BYTES = 4 * 1024 * 1024
_SKIPPED_FOLDERS = markdown_lookup.SKIPPED_FOLDERS
_SLUG_KEYS = ("url", "permalink", "slug")  # the front matter keys that move a page
# Link targets remembered per run: pages link to a few common targets (the home page, a
# guide's index) again and again, while the tree can hold any number of pages.
_LINK_CACHE_SIZE = 2048
# Non-blocking, so that a FIFO named like a page cannot hang the run (it is refused below).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
# With O_NOFOLLOW, opening a symlink fails (ELOOP; EMLINK on FreeBSD), so one open tells a
# plain file, which needs no realpath, from a link, which does.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_SYMLINK_ERRNOS = frozenset({errno.ELOOP, errno.EMLINK})
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_DIRECTORY", 0)
_by_name = operator.attrgetter("name")
# (folder path with a trailing "/", its absolute path, whether the tree is Hugo's from there)
_Folders = list[tuple[str, str, bool]]


class MarkdownOptions(ConnectorOptions):
    """Options of a Markdown tree.

    ``url_template`` placeholders: ``{base_url}``, ``{slug}``, ``{path}``, ``{dir}`` and
    ``{name}`` (see :data:`syncd.connectors.markdown.urls.TEMPLATE_FIELDS`), for example
    ``"{base_url}/{slug}.html"``.
    """

    path: Path | None = None  # the root folder; with git, a folder inside the repository
    git: GitOptions | None = None
    wiki: Kind | None = None
    base_url: str | None = None  # the docs site's public URL; default: the source's url
    include: list[str] = pydantic.Field(default_factory=lambda: ["**/*.md", "**/*.markdown"])
    exclude: list[str] = pydantic.Field(default_factory=list)
    url_template: str | None = None

    @pydantic.field_validator("base_url")
    @classmethod
    def _absolute_base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("base_url must be an absolute http(s) URL")
        return value

    @pydantic.model_validator(mode="after")
    def _where(self, info: pydantic.ValidationInfo) -> MarkdownOptions:
        if self.git is None:
            if self.path is None:
                raise ValueError("path: give the root folder (or git: a repository to fetch)")
            return self
        if self.path is not None:
            valid_folder(str(self.path))
        base_dir = (info.context or {}).get("base_dir")
        for name in ("ssh_key_file", "known_hosts_file"):
            value = getattr(self.git, name)
            if base_dir is not None and value is not None and not value.is_absolute():
                # Both models are frozen; resolution happens once, during validation.
                object.__setattr__(self.git, name, Path(base_dir) / value)
        return self

    def _relative_to_config(self, name: str) -> bool:
        return name != "path" or self.git is None

    def folder(self) -> str:
        """With git: the folder inside the repository, "" for its root."""
        return valid_folder(str(self.path)) if self.path is not None else ""

    @pydantic.field_validator("url_template")
    @classmethod
    def _known_placeholders(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format(**dict.fromkeys(TEMPLATE_FIELDS, "x"))
            except (KeyError, IndexError, ValueError) as exc:
                known = ", ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
                raise ValueError(f"url_template: bad placeholder {exc}; known: {known}") from None
        return value


class MarkdownConnector(Connector):
    """Publishes every Markdown page of a folder tree."""

    Options = MarkdownOptions

    def __init__(self, options: ConnectorOptions, *, source: SourceInfo) -> None:
        super().__init__(options, source=source)
        assert isinstance(options, MarkdownOptions)
        self.git: GitTree | None = None
        if options.git is not None:
            if source.cache_dir is None:
                raise SourceUnavailable("a git source needs a cache folder; none was given")
            self.git = GitTree(
                options.git, options.folder(), source.cache_dir, _options_digest(options, source)
            )
        self.wiki = Wiki(options.wiki, options.base_url or source.url) if options.wiki else None
        # Without git this is the tree's folder; with git it only names the source.
        self.root = Path(os.path.realpath(options.path or "."))
        self._root = str(self.root)
        self._root_prefix = self._root.rstrip(os.sep) + os.sep
        self._include = self.include = Globs(options.include)
        self._exclude = self.exclude = Globs(options.exclude)
        self.root_prefix = self._root_prefix
        self.urls = SiteUrls(options.base_url or source.url, options.url_template)
        self._folders_inside: dict[str, bool] = {}  # folder path -> its real path is ours
        self._page_of = functools.lru_cache(maxsize=_LINK_CACHE_SIZE)(self._find_page)

    # -- listing ---------------------------------------------------------------------------

    def fingerprint(self) -> str | None:
        """With git, the fetched tree (fetching it, once per run); None for a folder."""
        return self.git.fingerprint() if self.git is not None else None

    def list(self) -> Iterator[DocumentRef]:
        """Every page of the tree in name order: from git's tree, or one stat per file."""
        self._page_of.cache_clear()
        refs = self._list_git() if self.git is not None else self._list_folder()
        if self.wiki is None:
            yield from refs
            return
        pages: list[str] = []
        for ref in refs:
            if self.wiki.is_page(ref.id):
                pages.append(ref.id)
                yield ref
        self.wiki.set_pages(pages)

    def _list_git(self) -> Iterator[DocumentRef]:
        """The pages of the fetched tree, from one ``git ls-tree``: no file is read."""
        assert self.git is not None
        entries = self.git.entries()
        include = self._include if self.wiki is None or self._include_given() else None
        resources = bundle_resources(entries)
        for path in sorted(entries):
            parts = path.split("/")
            if any(part[0] == "." or part in _SKIPPED_FOLDERS for part in parts[:-1]):
                continue
            name = parts[-1]
            if (
                name[0] == "."
                or (self.wiki is not None and not self.wiki.is_page(path))
                or path in resources
            ):
                continue
            if (include is not None and not include.match(path, name)) or self._exclude.match(
                path, name
            ):
                continue
            yield DocumentRef(id=path, version=self.git.version(entries[path]))

    def _include_given(self) -> bool:
        return "include" in self.options.model_fields_set

    def _list_folder(self) -> Iterator[DocumentRef]:
        """Every page of the folder, depth first in name order, with one stat per file."""
        if not self.root.is_dir():
            # Worded as the Confluence connector words a missing export.
            what = "not a folder" if self.root.exists() else "does not exist"
            raise SourceUnavailable(f"{self.options_path()}: {what}")
        # A new listing starts a new look at the tree: forget what fetches learnt of it.
        self._folders_inside.clear()
        self._page_of.cache_clear()
        stack: _Folders = [("", self._root, False)]
        self._skipped = Skipped()
        while stack:
            rel_dir, abs_dir, hugo = stack.pop()
            folders: _Folders = []
            yield from self._folder(rel_dir, abs_dir, hugo, folders)
            stack.extend(reversed(folders))
        self._skipped.report(self.source.name, self.options_path())

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
                f"{self.options_path()}: cannot list {rel_dir or '.'}: {exc.strerror}"
            ) from None
        suffixes, regex = self._include.suffixes, self._include.regex
        exclude = self._exclude if self._exclude else None
        hugo, bundle = bundle_state({entry.name.lower() for entry in entries}, hugo)
        try:
            for entry in entries:
                name = entry.name
                if (
                    name[0] == "."
                    or name in _SKIPPED_FOLDERS
                    or (bundle and name.lower() not in LEAF_INDEXES)  # a bundle's resource
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

    def lookup(self, ids: Collection[str]) -> Sequence[DocumentRef] | None:
        """The named pages that exist now, as :meth:`list` would give them, reading no other.

        None with git: a run reads one fetched commit, whose unchanged tree is a no-op anyway.
        """
        if self.git is not None:
            return None
        return markdown_lookup.lookup(self, ids)

    def watch_root(self) -> Path | None:
        """The folder of the tree: its file events name pages (see :meth:`ref_id_of`).

        None with git: the remote is polled instead (see :meth:`poll_changes`).
        """
        return None if self.git is not None else self.root

    def poll_changes(self, cursor: str | None) -> Poll:
        """With git: whether the remote's ref moved, by one ``git ls-remote`` (no fetch).

        The cursor is the remote commit; a new one asks for a run of the whole source, which
        its fetched tree then makes exact. A folder has no feed (it is watched instead).
        """
        if self.git is None:
            raise NotImplementedError("a folder is watched, not polled")
        commit = self.git.remote_commit()
        changed = cursor is not None and commit != cursor
        return Poll(changes=EVERYTHING if changed else ChangeSet(), cursor=commit)

    def ref_id_of(self, path: Path) -> str | None:
        """The ref id of a page at ``path`` under the root, by name alone; None if none."""
        return markdown_lookup.ref_id_of(self, path)

    def describe_change(self, old: str, new: str) -> str | None:
        """Size and modification time of a file, or the git blobs of a repository's file."""
        return markdown_source.describe_change(old, new)

    def options_path(self) -> str:
        """The configured root, as the user wrote it, for messages."""
        assert isinstance(self.options, MarkdownOptions)
        return str(self.options.path)

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

    # -- fetching --------------------------------------------------------------------------

    def fetch(self, ref: DocumentRef) -> Document:
        """Read, render and link one page; DocumentError names the file and the reason."""
        front_matter, body = markdown_source.split_front_matter(
            markdown_source.decode(self._read_bytes(ref.id), ref.id), ref.id
        )
        reason = markdown_source.exclusion_reason(front_matter)
        if reason is not None:
            raise DocumentExcluded(f"{ref.id}: {reason}", reason=reason.removesuffix(": true"))
        wiki = self.wiki
        url = wiki.page_url(ref.id) if wiki else self.urls.page_url(ref.id, front_matter)
        prepared = markdown_render.prepare(body)
        if wiki is not None:
            prepared = wiki.rewrite_links(prepared, ref.id)
        description = markdown_source.text_value(front_matter, "description")
        html = markdown_render.render(
            prepared,
            lambda value: (
                (wiki.link_url(value, ref.id) if wiki else None)
                or self.urls.resolve(value, from_path=ref.id, page_url=url, page_of=self._page_of)
            ),
        )
        if not html and description:
            html = markdown_render.render(description, lambda value: None)
        if not html:
            raise DocumentExcluded(f"{ref.id}: has no content to publish", reason="empty")
        metadata: dict[str, Any] = {"path": ref.id}
        if description:
            metadata["description"] = description
        if tags := markdown_source.tags(front_matter):
            metadata["tags"] = tags
        return Document(
            title=self._title(ref.id, front_matter, prepared),
            body=html,
            body_format="html",
            url=url,
            external_id=self._external_id(ref.id, front_matter),
            metadata=metadata,
            changed_at=_mtime(ref.version),
        )

    def _read_bytes(self, ref_id: str) -> bytes:
        """The content of the file behind a ref id; DocumentError if it cannot be read."""
        if self.git is not None:
            return self.git.read(ref_id, MAX_FILE_BYTES)
        try:
            fd = self._open(ref_id)
        except FileNotFoundError:
            raise DocumentError(f"{ref_id}: vanished since the folder was listed") from None
        except OSError as exc:
            raise DocumentError(f"{ref_id}: cannot be read: {exc.strerror}") from None
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                raise DocumentError(f"{ref_id}: not a regular file")
            if status.st_size > MAX_FILE_BYTES:
                raise DocumentTooLarge(f"{ref_id}: larger than {MAX_FILE_BYTES // 2**20} MiB")
            # One read of the size fstat gave, plus a byte to see whether it grew since.
            chunks = [os.read(fd, status.st_size + 1)]
            size = len(chunks[0])
            while size > status.st_size and size <= MAX_FILE_BYTES:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise DocumentError(f"{ref_id}: cannot be read: {exc.strerror}") from None
        finally:
            os.close(fd)
        if size > MAX_FILE_BYTES:  # it grew while we read
            raise DocumentTooLarge(f"{ref_id}: larger than {MAX_FILE_BYTES // 2**20} MiB")
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _open(self, ref_id: str) -> int:
        """A descriptor of the file behind a ref id, refusing ids and links out of the root.

        The file's folder is resolved once per listing; the file itself is opened without
        following a symlink, so only a symlinked file costs a realpath.
        """
        folder, _, _ = ref_id.rpartition("/")
        if (
            ref_id.startswith("/")
            or "\x00" in ref_id  # a link's %00: no file system takes it
            or any(part in ("", ".", "..") for part in ref_id.split("/"))
        ):
            raise DocumentError(f"{ref_id}: not a path inside {self.options_path()}")
        path = self._root_prefix + ref_id  # "/" separates folders on Windows as well
        if not self._folder_inside(folder):
            raise DocumentError(f"{ref_id}: links outside {self.options_path()}; not read")
        if _NOFOLLOW:
            try:
                return os.open(path, _OPEN_FLAGS | _NOFOLLOW)
            except OSError as exc:
                if exc.errno not in _SYMLINK_ERRNOS:
                    raise
        if not self._inside(os.path.realpath(path)):
            raise DocumentError(f"{ref_id}: links outside {self.options_path()}; not read")
        return os.open(path, _OPEN_FLAGS)

    def _folder_inside(self, folder: str) -> bool:
        """Whether the folder ``folder`` of the tree (a path, "" for the root) resolves inside."""
        inside = self._folders_inside.get(folder)
        if inside is None:
            real = os.path.realpath(self._root_prefix + folder)
            inside = real == self._root or self._inside(real)
            self._folders_inside[folder] = inside
        return inside

    def _find_page(self, target: str) -> str | None:
        """The page URL of the Markdown file or page folder ``target``, for links."""
        if is_markdown(target):
            return self._linked_page_url(target)
        if self.git is not None:
            names = self.git.children(target)
            if not names:
                return None  # not a folder of the tree: a plain file link
        else:
            folder = self.root.joinpath(*target.split("/")) if target else self.root
            try:
                names = sorted(child.name for child in folder.iterdir())
            except OSError:
                return None  # not a folder (or not ours to read): a plain file link
        for name in names:
            stem = split_name(name)[1].lower()
            if stem in INDEX_STEMS and name.lower().endswith(MARKDOWN_SUFFIXES):
                return self._linked_page_url(f"{target}/{name}" if target else name)
        return None

    def _linked_page_url(self, path: str) -> str:
        """A linked page's URL; its front matter may move it, so read that when we can."""
        try:
            front_matter = markdown_source.linked_front_matter(
                self._read_bytes(path), path, _SLUG_KEYS
            )
        except DocumentError:
            front_matter = {}  # missing or broken: the link still gets its path's URL
        return self.urls.page_url(path, front_matter)

    def _title(self, ref_id: str, front_matter: dict[str, Any], body: str) -> str:
        if self.wiki is not None:
            return self.wiki.title(ref_id, front_matter)
        title = markdown_source.text_value(front_matter, "title") or markdown_render.first_heading(
            body
        )
        if title:
            return title
        folder, stem = split_name(ref_id)
        if stem.lower() in INDEX_STEMS:
            stem = folder.rpartition("/")[2] or self.source.name
        return " ".join(stem.replace("_", " ").replace("-", " ").split()) or stem

    def _external_id(self, ref_id: str, front_matter: dict[str, Any]) -> str | None:
        external_id = markdown_source.text_value(front_matter, "external_id")
        if external_id is None and (doc_id := markdown_source.text_value(front_matter, "id")):
            folder, _ = split_name(ref_id)
            external_id = f"{folder}/{doc_id}" if folder else doc_id
        if external_id is None and self.git is not None:
            external_id = self.git.identity(ref_id)  # a renamed file keeps its page
        return external_id

    def close(self) -> None:
        """Stop the git blob reader, if any."""
        if self.git is not None:
            self.git.close()


def _mtime(version: str) -> float | None:
    """The modification time in a version ``<size>:<mtime_ns>``, in seconds."""
    _, _, mtime_ns = version.partition(":")
    return int(mtime_ns) / 1e9 if mtime_ns.isdigit() else None


def _options_digest(options: MarkdownOptions, source: SourceInfo) -> str:
    """A short digest of what shapes a page besides its bytes (not the git login)."""
    shaping = options.model_dump(mode="json", exclude={"git"})
    shaping["source_url"] = source.url
    text = json.dumps(shaping, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
