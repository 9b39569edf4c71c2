"""Attachments of a Confluence HTML export as pages (``options.attachments``).

ref id
    The file's name under the export root, ``attachments/<pageId>/<attachmentId>.<ext>``:
    never a page's ref id (a bare page id).
version
    The file's size and mtime (folder) or the zip member's CRC-32 and size, as for pages.
external id
    ``attachment:<attachmentId>``: the attachment id is the site's, so the same file exported
    as HTML or as XML keeps its page (see :mod:`syncd.extract.attachments`).

Only the attachments of the pages the listing gives are listed: a file whose page is not
published (not in the export, or left out) is not either, and when its page goes, it goes.
The export names the file by its id; its original name, the text a page's link to it shows
and its page's title come from that page's HTML, read when the file is fetched.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from urllib.parse import unquote

from syncd.connectors.base import Document, DocumentError, DocumentRef, SourceInfo
from syncd.connectors.confluence.archive import Export, PageFile, attachment_file
from syncd.connectors.confluence.html import SpaceIndex, page_title, parse_page, text_of
from syncd.connectors.confluence.links import LinkContext
from syncd.extract import attachments
from syncd.extract.attachments import AttachmentOptions

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
    for link in parts.main.find_all("a", href=True):
        if unquote(str(link["href"])).removeprefix("./") == ref.id:
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
