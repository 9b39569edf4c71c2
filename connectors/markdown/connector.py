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

pages
    Which files are pages, Hugo's leaf bundles, and what a listing skips: see
    :mod:`syncd.connectors.markdown.listing`; the options that choose them: see
    :mod:`syncd.connectors.markdown.options`. Pages whose front matter marks them draft,
    unlisted, headless or ``sync: false`` raise DocumentExcluded (see
    :func:`syncd.connectors.markdown.source.exclusion_reason`), and so does a page with neither
    body nor description. A page is read by :mod:`syncd.connectors.markdown.files`, which
    never reads outside the root.

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

import functools
import hashlib
import json
import os
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from syncd.connectors.base import (
    EVERYTHING,
    ChangeSet,
    Connector,
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    InMemory,
    Poll,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.markdown import lookup as markdown_lookup
from syncd.connectors.markdown import render as markdown_render
from syncd.connectors.markdown import source as markdown_source
from syncd.connectors.markdown.files import MAX_FILE_BYTES, FolderFiles
from syncd.connectors.markdown.gitsource import GitTree
from syncd.connectors.markdown.listing import FolderWalk, git_refs
from syncd.connectors.markdown.options import MarkdownOptions
from syncd.connectors.markdown.urls import (
    INDEX_STEMS,
    MARKDOWN_SUFFIXES,
    Globs,
    SiteUrls,
    is_markdown,
    split_name,
)
from syncd.connectors.markdown.wiki import Wiki
from syncd.extract import attachments

# The connector's options live beside the listing they steer; the registry, the tests and
# third-party docs name them here.
__all__ = ["MarkdownConnector", "MarkdownOptions"]

_SLUG_KEYS = ("url", "permalink", "slug")  # the front matter keys that move a page
# Link targets remembered per run: pages link to a few common targets (the home page, a
# guide's index) again and again, while the tree can hold any number of pages.
_LINK_CACHE_SIZE = 2048


class MarkdownConnector(Connector[MarkdownOptions]):
    """Publishes every Markdown page of a folder tree."""

    def __init__(self, options: MarkdownOptions, *, source: SourceInfo) -> None:
        super().__init__(options, source=source)
        self.git: GitTree | None = None
        if options.git is not None:
            if source.cache_dir is None:
                raise SourceUnavailable("a git source needs a cache folder; none was given")
            self.git = GitTree(
                options.git,
                options.folder(),
                source.cache_dir,
                _options_digest(options, source),
                memory=source.memory or InMemory(),
                stop=source.stop,
            )
        self.wiki = Wiki(options.wiki, options.base_url or source.url) if options.wiki else None
        # Without git this is the tree's folder; with git it only names the source.
        self.root = Path(os.path.realpath(options.path or "."))
        self.root_prefix = str(self.root).rstrip(os.sep) + os.sep
        self.attachments = options.attachments
        # Attachments are listed wherever pages are: their suffixes join the include globs.
        self.attached = tuple(f".{kind}" for kind in options.attachments.types if kind != "md")
        attached_globs = [f"**/*{suffix}" for suffix in self.attached]
        attached_globs += [glob.upper() for glob in attached_globs]
        self._include = self.include = Globs([*options.include, *attached_globs])
        self._exclude = self.exclude = Globs(options.exclude)
        self.urls = SiteUrls(options.base_url or source.url, options.url_template)
        self._files = FolderFiles(self.root, where=self.options_path())
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
            elif self.attachment_type(ref.id):
                yield ref
        self.wiki.set_pages(pages)

    def _list_git(self) -> Iterator[DocumentRef]:
        """The pages of the fetched tree, from one ``git ls-tree``: no file is read."""
        assert self.git is not None
        include = self._include if self.wiki is None or self._include_given() else None
        return git_refs(self.git, include, self._exclude, self.wiki, self.attached)

    def _include_given(self) -> bool:
        return "include" in self.options.model_fields_set

    def _list_folder(self) -> Iterator[DocumentRef]:
        """Every page of the folder, depth first in name order, with one stat per file."""
        walk = FolderWalk(
            self.root,
            self._include,
            self._exclude,
            where=self.options_path(),
            source=self.source.name,
            attached=self.attached,
        )
        # A new listing starts a new look at the tree: forget what fetches learnt of it.
        self._files.forget()
        self._page_of.cache_clear()
        yield from walk.refs()

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

    def attachment_type(self, ref_id: str) -> str | None:
        """The attachment type of the file ``ref_id`` (by name), or None for a page."""
        if not self.attached or not ref_id.lower().endswith(self.attached):
            return None
        return self.attachments.type_of(ref_id)

    def options_path(self) -> str:
        """The configured root, as the user wrote it, for messages."""
        return str(self.options.path)

    # -- fetching --------------------------------------------------------------------------

    def fetch(self, ref: DocumentRef) -> Document:
        """Read, render and link one page; DocumentError names the file and the reason."""
        if (file_type := self.attachment_type(ref.id)) is not None:
            return self._fetch_attachment(ref, file_type)
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

    def _fetch_attachment(self, ref: DocumentRef, file_type: str) -> Document:
        """One attached file as a page of its own (see syncd.extract.attachments)."""
        limit = int(self.attachments.max_bytes)
        data = self.git.read(ref.id, limit) if self.git else self._files.read(ref.id, limit)
        folder, _, name = ref.id.rpartition("/")
        parent = folder.rpartition("/")[2] or self.source.name
        key = (self.git.identity(ref.id) if self.git is not None else None) or ref.id
        return attachments.document(
            data,
            where=ref.id,
            file_type=file_type,
            options=self.attachments,
            source=self.source,
            key=key,
            url=self.urls.file_url(ref.id.split("/")),
            link_text=None,  # which page links it, and how, is not known without reading all
            parent=" ".join(parent.replace("_", " ").replace("-", " ").split()),
            file_name=name,
            changed_at=_mtime(ref.version),
            metadata={"path": ref.id},
        )

    def _read_bytes(self, ref_id: str) -> bytes:
        """The content of the file behind a ref id; DocumentError if it cannot be read."""
        if self.git is not None:
            return self.git.read(ref_id, MAX_FILE_BYTES)
        return self._files.read(ref_id)

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
