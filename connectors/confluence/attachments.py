"""Attachments of Confluence exports as pages (``options.attachments``).

ref id
    HTML: the file's name under the export root, ``attachments/<pageId>/<attachmentId>.<ext>``;
    XML: ``attachments/<pageId>/<attachmentId>``. Never a page's ref id (a bare page id).
version
    HTML: the file's size and mtime (folder) or the zip member's CRC-32 and size, as for
    pages. XML: the attachment's Confluence version and a digest of its name; only the
    current version is published (``attachments/<pageId>/<attachmentId>/<version>``).
external id
    ``attachment:<attachmentId>``: the attachment id is the site's, so the same file exported
    as HTML or as XML keeps its page (see :mod:`syncd.extract.attachments`).

Only the attachments of the pages the listing gives are listed: a file whose page is not
published (not in the export, or left out) is not either, and when its page goes, it goes.
An HTML export names the file by its id; its original name, the text a page's link to it
shows and its page's title come from that page's HTML, read when the file is fetched. An XML
export's index has the name and the page's title; the text of links is not looked for there.
A site backup holds no attachments folder: its files fail, named, until one holds them.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING
from urllib.parse import unquote

from syncd.connectors.base import (
    Document,
    DocumentError,
    DocumentRef,
    DocumentTooLarge,
    SourceInfo,
)
from syncd.connectors.confluence.archive import Export, PageFile, attachment_file
from syncd.connectors.confluence.html import SpaceIndex, page_title, parse_page
from syncd.connectors.confluence.links import LinkContext
from syncd.connectors.confluence.nodes import text_of
from syncd.connectors.confluence.xml_entities import EntitiesSource
from syncd.connectors.confluence.xml_reader import XmlSite
from syncd.extract import attachments
from syncd.extract.attachments import AttachmentOptions

if TYPE_CHECKING:
    from syncd.connectors.confluence.connector import ConfluenceExportConnector

PREFIX = "attachments/"


def is_attachment(ref_id: str) -> bool:
    """Whether a ref id names an attached file rather than a page."""
    return ref_id.startswith(PREFIX)


def html_refs(
    export: Export, page_ids: Collection[str], options: AttachmentOptions
) -> Iterator[DocumentRef]:
    """The attached files of the listed pages whose type ``options`` publishes."""
    for attached in export.attachments():
        if attached.page_id in page_ids and options.type_of(attached.name):
            yield DocumentRef(id=attached.name, version=attached.version)


def fetch_html(
    export: Export,
    ref: DocumentRef,
    *,
    page: PageFile | None,
    space: SpaceIndex,
    base_url: str,
    options: AttachmentOptions,
    source: SourceInfo,
) -> Document:
    """One attached file of an HTML export as a page of its own."""
    attached = attachment_file(ref.id, ref.version)
    file_type = options.type_of(ref.id)
    if attached is None or file_type is None:
        raise DocumentError(f"{ref.id}: not an attachment this source publishes")
    if page is None:
        raise DocumentError(f"{ref.id}: its page {attached.page_id} is not in the export")
    parts = parse_page(export.read(page.name), where=export.describe(page.name))
    original = {unquote(href).removeprefix("./"): name for href, name in parts.attachments}
    file_name = original.get(ref.id) or ref.id.rpartition("/")[2]
    link_text = None
    for link in parts.main.iterdescendants("a"):
        if unquote(str(link.get("href"))).removeprefix("./") == ref.id:
            link_text = text_of(link) or None
            break
    data = export.read(ref.id, int(options.max_bytes))
    links = LinkContext(
        page_id=page.id, base_url=base_url, page_ids=frozenset(), page_url=lambda _: ""
    )
    return attachments.document(
        data,
        where=f"{export.describe(ref.id)} ({file_name}, attached to page {page.id})",
        file_type=file_type,
        options=options,
        source=source,
        key=attached.attachment_id,
        url=links.download_url(page.id, file_name),
        link_text=link_text,
        parent=page_title(parts, space, page.id) or "",
        file_name=file_name,
        metadata={"page_id": page.id, "attachment_id": attached.attachment_id},
    )


def fetch(connector: ConfluenceExportConnector, ref: DocumentRef) -> Document:
    """One attached file of the connector's export (HTML or XML) as a page of its own."""
    options = connector.options.attachments
    if connector._xml is not None:
        return fetch_xml(connector._xml, ref, options=options, source=connector.source)
    pages = connector._pages if connector._pages is not None else connector._scan()
    return fetch_html(
        connector._open(),
        ref,
        page=pages.get(ref.id.split("/")[1]),
        space=connector._space_index(),
        base_url=connector.base_url,
        options=options,
        source=connector.source,
    )


def xml_refs(site: XmlSite, options: AttachmentOptions) -> Iterator[DocumentRef]:
    """The current attached files of the published pages whose type ``options`` publishes."""
    if not options:
        return
    for page_id, part in site._owner.items():
        for attached in part.index.files.get(page_id, ()):
            if options.type_of(attached.name):
                digest = hashlib.sha256(attached.name.encode()).hexdigest()[:8]
                yield DocumentRef(
                    id=f"{PREFIX}{page_id}/{attached.id}",
                    version=f"v{attached.version}:{digest}",
                )


def fetch_xml(
    site: XmlSite, ref: DocumentRef, *, options: AttachmentOptions, source: SourceInfo
) -> Document:
    """One current attached file of an XML export as a page of its own."""
    _, page_id, attachment_id = [*ref.id.split("/"), "", ""][:3]
    part = site._owner.get(page_id)
    found = [f for f in part.index.files.get(page_id, ()) if f.id == attachment_id] if part else []
    if part is None or not found:
        raise DocumentError(f"{ref.id}: not a current attachment of a published page")
    attached, page = found[0], part.index.pages[page_id]
    file_type = options.type_of(attached.name)
    if file_type is None:
        raise DocumentError(f"{ref.id}: not an attachment this source publishes")
    name = f"{PREFIX}{page_id}/{attachment_id}/{attached.version}"
    where = f"{part.source.describe()}:{name} ({attached.name}, attached to page {page_id})"
    data = _read(part.source, name, int(options.max_bytes), where)
    links = LinkContext(page_id=page_id, base_url=site.base_url, page_ids=frozenset(),
                        page_url=site.page_url)  # fmt: skip
    return attachments.document(
        data,
        where=where,
        file_type=file_type,
        options=options,
        source=source,
        key=attachment_id,
        url=links.download_url(page_id, attached.name),
        link_text=None,
        parent=page.title,
        file_name=attached.name,
        metadata={"page_id": page_id, "attachment_id": attachment_id},
    )


def _read(export: EntitiesSource, name: str, limit: int, where: str) -> bytes:
    """A file of an XML export (folder or zip), at most ``limit`` bytes."""
    try:
        if export.member is None:
            path = export.path / name
            size = path.stat().st_size
            if size > limit:
                raise DocumentTooLarge(f"{where}: {size} bytes, over attachments.max_bytes")
            return path.read_bytes()
        with zipfile.ZipFile(export.path) as archive:
            info = archive.getinfo(f"{export.prefix}{name}")
            if info.file_size > limit:
                raise DocumentTooLarge(
                    f"{where}: inflates to {info.file_size} bytes, over attachments.max_bytes"
                )
            with archive.open(info) as member:
                return member.read(limit + 1)
    except (FileNotFoundError, KeyError):
        raise DocumentError(
            f"{where}: the export holds no file for it (site backups leave attachments out)"
        ) from None
    except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
        raise DocumentError(f"{where}: cannot be read: {exc}") from None
