"""The ``confluence_export`` connector: Confluence's HTML and XML exports, told apart by content.

``path`` names one of:

XML export
    A zip or folder with ``entities.xml`` (*Export space > XML*, or a site backup, scheduled
    or by hand): read by :mod:`syncd.connectors.confluence.xml_reader`.
folder of XML exports
    A folder whose zips or sub-folders are XML exports, where new ones keep arriving: each
    space is read from its newest complete export (:mod:`syncd.connectors.confluence.exports`).
HTML export
    Anything else: a folder or ``.zip`` of *Export space > HTML*, described below.

Both formats use the page id as ref id and external id, so a space moved from HTML to XML
exports keeps its pages in Intercom. ``spaces``, ``missing_spaces`` and ``restricted_pages``
concern XML exports (an HTML export holds one space, checked against ``spaces``).

The HTML export is a folder or a ``.zip`` (read in place, see
:mod:`syncd.connectors.confluence.archive`).
Each page file is one document:

ref id
    The Confluence page id from the file name (``Title_123.html`` or ``123.html``): it survives
    renames, and it is the id the page has on the site.
version
    The file's size and mtime (folder) or the zip member's CRC-32 and size; no page is read
    to list the export.
document
    title   ``#title-text`` without the space-name prefix (:func:`confluence_html.page_title`)
    body    ``#main-content`` only, macros rewritten (:mod:`confluence_macros`), links and
            images absolute (:mod:`confluence_links`), opened by a one-line trail of the
            space, the ancestors and the page, so each page carries its place in the space
    url     ``page_url_template`` filled with the site's ``base_url`` and the page id
    metadata  ``page_id``, ``file``, ``space_key``, ``space_name``, ``ancestors`` (titles,
            root first), ``ancestor_ids`` and ``parent_id``

A damaged export publishes what it can: a page that cannot be read or has no body fails alone
with a :class:`~syncd.connectors.base.DocumentError` naming its file; a missing or broken
``index.html`` only costs the space name, which the breadcrumbs then give.

Example::

    - name: engineering
      connector: confluence_export
      url: https://wiki.example.com
      options:
        path: ./exports/Confluence-space-export-ENG.html.zip
        page_url_template: "{base_url}/pages/viewpage.action?pageId={id}"

    - name: confluence
      connector: confluence_export
      url: https://wiki.example.com
      options:
        path: /srv/confluence-backups      # the folder scheduled backups are written to
        spaces: [ENG, OPS]
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterator, Sequence
from typing import Any, Literal
from urllib.parse import unquote

import structlog

from syncd.connectors.base import (
    Connector,
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    Poll,
    SourceInfo,
    SourceNotReady,
    SourceUnavailable,
)
from syncd.connectors.confluence import attachments as export_attachments
from syncd.connectors.confluence import feed, xml_reader
from syncd.connectors.confluence.archive import INDEX_NAME, Export, PageFile, open_export
from syncd.connectors.confluence.exports import current_exports, examine_folder
from syncd.connectors.confluence.html import (
    PageParts,
    SpaceIndex,
    ancestors_of,
    page_title,
    parse_index,
    parse_page,
)
from syncd.connectors.confluence.links import LinkContext, attachment_links
from syncd.connectors.confluence.macros import convert_macros
from syncd.connectors.confluence.options import ConfluenceExportOptions
from syncd.connectors.confluence.tidy import clean_body, is_empty
from syncd.connectors.confluence.xml_entities import find_entities
from syncd.connectors.confluence.xml_reader import XmlSite

log = structlog.get_logger(__name__)
DEFAULT_PAGE_URL_TEMPLATE = "{base_url}/pages/viewpage.action?pageId={id}"
TRAIL_SEPARATOR = " \u203a "  # single right-pointing angle quote, as Confluence separates crumbs


class ConfluenceExportConnector(Connector[ConfluenceExportOptions]):
    """Lists and reads the pages of a Confluence HTML export (folder or zip)."""

    def __init__(self, options: ConfluenceExportOptions, *, source: SourceInfo) -> None:
        super().__init__(options, source=source)
        self.base_url = (options.base_url or source.url).rstrip("/")
        self.page_url_template = options.page_url_template or DEFAULT_PAGE_URL_TEMPLATE
        self._export: Export | None = None
        self._pages: dict[str, PageFile] | None = None
        self._page_ids: frozenset[str] = frozenset()  # the keys of _pages, for resolving links
        self._space: SpaceIndex | None = None
        self._xml: XmlSite | None = None
        self._xml_error: str | None = None

    def page_url(self, page_id: str) -> str:
        """The site URL of a page."""
        return self.page_url_template.format(base_url=self.base_url, id=page_id)

    def _open(self) -> Export:
        if self._export is None:
            self._export = open_export(self.options.path)
        return self._export

    def _scan(self) -> dict[str, PageFile]:
        self._pages = {page.id: page for page in self._open().pages()}
        # Built once per listing: per page, it had cost a pass over every page of the export.
        self._page_ids = frozenset(self._pages)
        self._space = None
        return self._pages

    def _space_index(self) -> SpaceIndex:
        """The space overview, read once per listing; empty when missing or unreadable."""
        if self._space is None:
            export = self._open()
            try:
                has_index = export.has(INDEX_NAME)
                self._space = parse_index(export.read(INDEX_NAME)) if has_index else SpaceIndex()
            except DocumentError:
                self._space = SpaceIndex()
        return self._space

    def format(self) -> Literal["xml", "xml_folder", "html"]:
        """What ``path`` holds, told from its content (see the module docstring)."""
        path = self.options.path
        if find_entities(path) is not None:
            return "xml"
        if path.is_dir() and examine_folder(path):
            return "xml_folder"
        return "html"

    def _read_xml(self) -> XmlSite:
        """Pass 1 over the XML export(s) the path names."""
        if self._xml is not None:
            self._xml.close()
        site = XmlSite(
            base_url=self.base_url,
            page_url=self.page_url,
            spaces=self.options.spaces,
            include_attachments_list=self.options.include_attachments_list,
            skip_restricted=self.options.restricted_pages == "skip",
            # Pass 2's compressed copy of the bodies goes on the state volume when there is
            # one: a container's /tmp is often small.
            spool_dir=self.source.cache_dir,
        )
        self._xml = site
        path = self.options.path
        source = find_entities(path)
        if source is not None:
            site.read_one(source)
        else:
            self._read_folder(site)
        self._check_named_spaces(site)
        return site

    def _read_folder(self, site: XmlSite) -> None:
        """Pass 1 over the current exports of a folder of exports."""
        path = self.options.path
        selection = current_exports(path, missing_spaces=self.options.missing_spaces)
        for name, why in selection.skipped.items():
            log.info("confluence.export_skipped", export=name, reason=why)
        if selection.site is None and not selection.spaces and not selection.stale:
            skipped = "; ".join(f"{name}: {why}" for name, why in selection.skipped.items())
            message = f"no complete Confluence XML export in {path}" + (skipped and f" ({skipped})")
            if selection.settling:  # only time is missing: a retry later finds it complete
                raise SourceNotReady(f"{message}; try again once it has settled")
            raise SourceUnavailable(message)
        site.read_selection(selection)
        feed.remember(self.source.memory, selection.describe(), site.read_from(), selection)

    def _check_named_spaces(self, site: XmlSite) -> None:
        """A space named in ``spaces`` but in no export stops the run unless told to delete.

        Its pages would otherwise all be deleted because of, say, a space export that failed.
        """
        if self.options.spaces is None:
            return
        keys = {key for part in site.parts for key in part.index.all_space_keys}
        held = {key.lower() for key in keys}
        missing = sorted(key for key in self.options.spaces if key.lower() not in held)
        if not missing:
            return
        if self.options.missing_spaces == "delete":
            log.warning("confluence.named_spaces_missing", spaces=missing)
            return
        raise SourceUnavailable(
            f"{self.options.path}: no current export holds the space(s) {', '.join(missing)}"
            " named in `spaces`; nothing is deleted (set missing_spaces: delete to let their"
            f" pages go). The exports hold: {', '.join(sorted(keys, key=str.lower)) or 'none'}"
        )

    def poll_changes(self, cursor: str | None) -> Poll:
        """Whether a different complete export became current (:mod:`.feed`); a full run if so."""
        if not self.options.path.exists():
            raise SourceUnavailable(f"{self.options.path}: does not exist")
        return feed.poll(self.options.path, cursor, missing_spaces=self.options.missing_spaces)

    def list(self) -> Iterator[DocumentRef]:
        kind = self.format()
        if kind != "xml_folder":  # a folder's chosen exports are named in _read_folder
            feed.remember(self.source.memory, self.options.path.name)
        if kind != "html":
            site = self._read_xml()
            yield from site.refs()
            yield from export_attachments.xml_refs(site, self.options.attachments)
            return
        pages = self._scan()
        self._check_html_space()
        for page in pages.values():
            yield DocumentRef(id=page.id, version=page.version)
        if self.options.attachments:
            yield from export_attachments.html_refs(self._open(), pages, self.options.attachments)

    def describe_change(self, old: str, new: str) -> str | None:
        """Confluence's page version and modification date, for pages of an XML export."""
        return xml_reader.describe_change(old, new)

    def fingerprint(self) -> str | None:
        """For XML exports, the exports that would be read (and how): equal means no change.

        The engine stores it after a complete run and skips the next run's listing when it
        has not changed, so an unchanged 1 GB backup costs no pass at all. HTML exports are
        always listed (one stat per page file is cheap).
        """
        if self.format() == "html":
            return None
        current = feed.fingerprint(self.options.path, missing_spaces=self.options.missing_spaces)
        how = self.options.model_dump_json()
        digest = hashlib.sha256(f"{how}\0{current}".encode()).hexdigest()[:32]
        return f"confluence-xml:{digest}"

    def _check_html_space(self) -> None:
        """An HTML export holds one space; refuse it when ``spaces`` leaves that space out."""
        chosen = self.options.spaces
        if chosen is None:
            return
        key = self._space_index().key
        if key is not None and key.lower() not in {k.lower() for k in chosen}:
            raise SourceUnavailable(
                f"{self.options.path} is an HTML export of space {key},"
                " which `spaces` does not name"
            )

    def fetch(self, ref: DocumentRef) -> Document:
        if self._xml is None and self._pages is None and self.format() != "html":
            # Fetched without a listing first: the index is built now. An export that cannot
            # be read fails each document, and is read only once.
            if self._xml_error is None:
                try:
                    self._read_xml()
                except SourceUnavailable as exc:
                    self._xml = None
                    self._xml_error = str(exc)
            if self._xml_error is not None:
                raise DocumentError(f"page {ref.id}: {self._xml_error}")
        if export_attachments.is_attachment(ref.id):
            return export_attachments.fetch(self, ref)
        if self._xml is not None:
            return self._xml.fetch(ref)
        pages = self._pages if self._pages is not None else self._scan()
        page = pages.get(ref.id)
        if page is None:
            raise DocumentError(f"page {ref.id}: no page file with this id in the export")
        export = self._open()
        where = export.describe(page.name)
        parts = parse_page(export.read(page.name), where=where)
        space = self._space_index()
        title = page_title(parts, space, page.id)
        if not title:
            raise DocumentError(f"{where}: the page has no title (#title-text is empty)")
        ancestors = ancestors_of(parts, space)
        first = parts.crumbs[0] if parts.crumbs else None
        space_name = space.name or (first.text if first and first.page_id is None else None)
        body = self._body(parts, page.id, [*filter(None, [space_name]), *ancestors.values()], title)
        metadata: dict[str, Any] = {
            "page_id": page.id,
            "file": page.name,
            "space_key": space.key,
            "space_name": space_name,
            "ancestors": list(ancestors.values()),
            "ancestor_ids": list(ancestors),
            "parent_id": next(reversed(ancestors), None),
        }
        return Document(
            title=title,
            body=body,
            body_format="html",
            url=self.page_url(page.id),
            metadata=metadata,
        )

    def _body(self, parts: PageParts, page_id: str, trail: Sequence[str], title: str) -> str:
        links = LinkContext(
            page_id=page_id,
            base_url=self.base_url,
            page_ids=self._page_ids,
            page_url=self.page_url,
            attachment_names={
                unquote(href).removeprefix("./"): name for href, name in parts.attachments
            },
        )
        convert_macros(parts.main)
        content = clean_body(parts.main, links)
        attached = self.options.include_attachments_list and parts.attachments
        if is_empty(parts.main) and not attached:  # its trail alone: a page of breadcrumbs
            raise DocumentExcluded(f"page {page_id} {title!r}: main content empty", reason="empty")
        crumbs = TRAIL_SEPARATOR.join(html.escape(step) for step in [*trail, title])
        sections = [f"<p>{crumbs}</p>", content]
        if self.options.include_attachments_list and parts.attachments:
            items = "".join(
                f'<li><a href="{html.escape(url)}">{html.escape(name)}</a></li>'
                for url, name in attachment_links(links, parts.attachments)
            )
            sections.append(f"<h2>Attachments</h2><ul>{items}</ul>")
        return "\n".join(section for section in sections if section)

    def close(self) -> None:
        if self._xml is not None:
            self._xml.close()
            self._xml = None
        if self._export is not None:
            self._export.close()
            self._export = None
