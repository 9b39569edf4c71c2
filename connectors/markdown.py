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

Which files are pages: those matching ``include`` and not ``exclude`` (globs on the ref id;
``**`` spans folders). Hidden files and folders (``.git``, ``.github``) and ``node_modules``
are skipped. A symlinked file is listed when it points inside the root; symlinked folders are
never entered (loops, and the same page twice). Pages whose front matter marks them draft,
unlisted, headless or ``sync: false`` raise DocumentExcluded, and so does a page with neither
body nor description. Support files that sit among pages (Hugo's ``readfile`` includes) are
pages to us unless ``exclude`` names them.

Title: front matter ``title``, else the first level-1 heading, else the file name (the folder
name for index pages). Body: see :mod:`connectors.markdown_render`; URLs and links: see
:mod:`connectors.markdown_urls`. Metadata: ``path``, ``description`` and ``tags``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic

from connectors import markdown_render, markdown_source
from connectors.base import (
    Connector,
    ConnectorOptions,
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    SourceInfo,
    SourceUnavailable,
)
from connectors.markdown_urls import (
    INDEX_STEMS,
    MARKDOWN_SUFFIXES,
    TEMPLATE_FIELDS,
    SiteUrls,
    compile_globs,
    is_markdown,
    split_name,
)

MAX_FILE_BYTES = 10 * 1024 * 1024  # far beyond any real page; guards against stray dumps
_SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__"})


class MarkdownOptions(ConnectorOptions):
    """Options of a Markdown tree.

    ``url_template`` placeholders: ``{base_url}``, ``{slug}``, ``{path}``, ``{dir}`` and
    ``{name}`` (see :data:`connectors.markdown_urls.TEMPLATE_FIELDS`), for example
    ``"{base_url}/{slug}.html"``.
    """

    path: Path
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
        self.root = Path(os.path.realpath(options.path))
        self._root_prefix = str(self.root).rstrip(os.sep) + os.sep
        self._include = compile_globs(options.include)
        self._exclude = compile_globs(options.exclude)
        self.urls = SiteUrls(options.base_url or source.url, options.url_template)
        self._page_urls: dict[str, str | None] = {}
        self._claimed: dict[str, str] = {}  # external id -> the ref id that claimed it

    # -- listing ---------------------------------------------------------------------------

    def list(self) -> Iterator[DocumentRef]:
        """Every page of the tree, depth first in name order, with one stat per file."""
        if not self.root.is_dir():
            raise SourceUnavailable(f"{self.options_path()}: not a readable folder")
        stack: list[tuple[str, str]] = [("", str(self.root))]
        while stack:
            rel_dir, abs_dir = stack.pop()
            try:
                with os.scandir(abs_dir) as scan:
                    entries = sorted(scan, key=lambda entry: entry.name)
            except OSError as exc:
                raise SourceUnavailable(
                    f"{self.options_path()}: cannot list {rel_dir or '.'}: {exc.strerror}"
                ) from None
            folders: list[tuple[str, str]] = []
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name in _SKIPPED_FOLDERS:
                    continue
                rel = rel_dir + name
                if entry.is_symlink():
                    ref = self._symlinked_ref(entry, rel)
                    if ref is not None:
                        yield ref
                elif entry.is_dir(follow_symlinks=False):
                    if self._exclude is None or not self._exclude.match(rel + "/"):
                        folders.append((rel + "/", entry.path))
                elif self._wanted(rel):
                    try:
                        stat = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # deleted while listing: it is simply gone
                    yield DocumentRef(id=rel, version=f"{stat.st_size}:{stat.st_mtime_ns}")
            stack.extend(reversed(folders))

    def options_path(self) -> str:
        """The configured root, as the user wrote it, for messages."""
        assert isinstance(self.options, MarkdownOptions)
        return str(self.options.path)

    def _wanted(self, rel: str) -> bool:
        if self._include is None or not self._include.match(rel):
            return False
        return self._exclude is None or not self._exclude.match(rel)

    def _symlinked_ref(self, entry: os.DirEntry[str], rel: str) -> DocumentRef | None:
        if not self._wanted(rel) or not self._inside(os.path.realpath(entry.path)):
            return None
        try:
            stat = entry.stat()
        except OSError:
            return None  # a dangling link is not a page
        if not entry.is_file():
            return None
        return DocumentRef(id=rel, version=f"{stat.st_size}:{stat.st_mtime_ns}")

    def _inside(self, real_path: str) -> bool:
        return real_path.startswith(self._root_prefix)

    # -- fetching --------------------------------------------------------------------------

    def fetch(self, ref: DocumentRef) -> Document:
        """Read, render and link one page; DocumentError names the file and the reason."""
        front_matter, body = self._read(ref.id)
        reason = markdown_source.exclusion_reason(front_matter)
        if reason is not None:
            raise DocumentExcluded(f"{ref.id}: {reason}")
        url = self.urls.page_url(ref.id, front_matter)
        self._page_urls[ref.id] = url
        prepared = markdown_render.prepare(body)
        description = markdown_source.text_value(front_matter, "description")
        html = markdown_render.render(
            prepared,
            lambda value: self.urls.resolve(
                value, from_path=ref.id, page_url=url, page_of=self._page_of
            ),
        )
        if not html and description:
            html = markdown_render.render(description, lambda value: None)
        if not html:
            raise DocumentExcluded(f"{ref.id}: has no content to publish")
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
        )

    def _read(self, ref_id: str) -> tuple[dict[str, Any], str]:
        path = self._checked_path(ref_id)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            raise DocumentError(f"{ref_id}: vanished since the folder was listed") from None
        except OSError as exc:
            raise DocumentError(f"{ref_id}: cannot be read: {exc.strerror}") from None
        if len(data) > MAX_FILE_BYTES:
            raise DocumentError(f"{ref_id}: larger than {MAX_FILE_BYTES // 2**20} MiB")
        text = markdown_source.decode(data, ref_id)
        return markdown_source.split_front_matter(text, ref_id)

    def _checked_path(self, ref_id: str) -> Path:
        """The file behind a ref id, refusing ids and symlinks that lead out of the root."""
        segments = ref_id.split("/")
        if ref_id.startswith("/") or any(part in ("", ".", "..") for part in segments):
            raise DocumentError(f"{ref_id}: not a path inside {self.options_path()}")
        path = self.root.joinpath(*segments)
        if not self._inside(os.path.realpath(path)):
            raise DocumentError(f"{ref_id}: links outside {self.options_path()}; not read")
        return path

    def _page_of(self, target: str) -> str | None:
        """The page URL of the Markdown file or page folder ``target``, for links."""
        if target in self._page_urls:
            return self._page_urls[target]
        url: str | None = None
        if is_markdown(target):
            url = self._linked_page_url(target)
        else:
            folder = self.root.joinpath(*target.split("/")) if target else self.root
            try:
                names = sorted(child.name for child in folder.iterdir())
            except OSError:
                names = []  # not a folder (or not ours to read): a plain file link
            for name in names:
                stem = split_name(name)[1].lower()
                if stem in INDEX_STEMS and name.lower().endswith(MARKDOWN_SUFFIXES):
                    url = self._linked_page_url(f"{target}/{name}" if target else name)
                    break
        self._page_urls[target] = url
        return url

    def _linked_page_url(self, path: str) -> str:
        """A linked page's URL; its front matter may move it, so read that when we can."""
        try:
            front_matter, _ = self._read(path)
        except DocumentError:
            front_matter = {}  # missing or broken: the link still gets its path's URL
        return self.urls.page_url(path, front_matter)

    def _title(self, ref_id: str, front_matter: dict[str, Any], body: str) -> str:
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
        if external_id is None:
            return None
        claimed_by = self._claimed.setdefault(external_id, ref_id)
        if claimed_by != ref_id:
            raise DocumentError(
                f"{ref_id}: id {external_id!r} is already the id of {claimed_by}; "
                "ids must be unique within a source"
            )
        return external_id
