"""Attachments of a live Confluence site as pages (``options.attachments``).

ref id
    ``attachments/<pageId>/<attachmentId>``, as the XML export's: never a page's ref id (a bare
    page id). The attachment id is the site's own (``att123`` on Cloud, ``123`` on Data Center).
version
    ``v<the attachment's version number>``.
external id
    ``attachment:<numeric attachment id>``: the XML export names files by the same number, so a
    space moved from exports to the live connector keeps its attachment pages.
listing
    One CQL query for the chosen spaces (``type = attachment and space in (...)``), paged like
    the connector's other searches: no request per page. Only the files of the pages the
    listing publishes are listed, so a page's removal or new view restriction takes its files.
    Data Center answers that search 400 now and then once paged past its first answer; the
    listing then goes on page by page (``/content/<id>/child/attachment``), one request per
    published page, with a warning, rather than failing the run.
document
    The file downloaded through the site's REST API
    (``/rest/api/content/<pageId>/child/attachment/<id>/download``) with the connector's
    credentials, which never follow a redirect to another host; title as
    :mod:`syncd.extract.attachments` gives it; URL the site's download link.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import structlog

from syncd.connectors.base import (
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    DocumentTooLarge,
    SourceInfo,
)
from syncd.connectors.confluence.live.client import BadRequest, NotFound, SiteClient
from syncd.connectors.confluence.live.site import Meta, SiteApi, quote_cql, timestamp
from syncd.extract import attachments
from syncd.extract.attachments import AttachmentOptions

if TYPE_CHECKING:
    from syncd.connectors.confluence.live.connector import ConfluenceConnector

log = structlog.get_logger(__name__)

PREFIX = "attachments/"
_EXPAND = "version,container"


@dataclasses.dataclass(frozen=True, slots=True)
class Attached:
    """What a listing says of one attached file."""

    id: str
    page_id: str
    name: str
    number: int
    modified: str
    download: str  # the site-relative ``_links.download``, may be empty


def is_attachment(ref_id: str) -> bool:
    """Whether a ref id names an attached file rather than a page."""
    return ref_id.startswith(PREFIX)


def numeric(attachment_id: str) -> str:
    """The attachment id without Cloud's ``att`` prefix: the number the XML export uses."""
    return attachment_id.removeprefix("att")


def attached_of(item: dict[str, Any], page_id: str | None = None) -> Attached:
    """A v1 attachment object (``expand=version,container``) as :class:`Attached`."""
    version = item.get("version") or {}
    container = item.get("container") or {}
    try:
        number = int(version.get("number") or 0)
    except (TypeError, ValueError):
        number = 0
    return Attached(
        id=str(item.get("id")),
        page_id=page_id or str(container.get("id", "")),
        name=str(item.get("title", "")),
        number=number,
        modified=str(version.get("when", "")),
        download=str((item.get("_links") or {}).get("download", "")),
    )


def listing(
    api: SiteApi, spaces: Iterable[str], published: Collection[str], options: AttachmentOptions
) -> Iterator[Attached]:
    """The files of the types ``options`` publishes attached to the ``published`` page ids."""
    keys = ", ".join(quote_cql(key) for key in spaces)
    seen: set[str] = set()  # attachment ids already given, should the search fail midway
    try:
        for item in api.search(f"type = attachment and space in ({keys})", expand=_EXPAND):
            attached = attached_of(item)
            seen.add(attached.id)
            if attached.page_id in published and options.type_of(attached.name):
                yield attached
    except BadRequest as exc:
        log.warning(
            "confluence.attachment_search_refused",
            error=str(exc),
            message="listing attachments page by page instead: one request per page",
            pages=len(published),
        )
    else:
        return
    for page_id in sorted(published, key=lambda page: (len(page), page)):
        path = f"/rest/api/content/{page_id}/child/attachment"
        try:
            for batch in api.client.offset_pages(path, {"expand": _EXPAND, "limit": 50}):
                for item in batch:
                    attached = attached_of(item, page_id)
                    if attached.id not in seen and options.type_of(attached.name):
                        seen.add(attached.id)
                        yield attached
        except NotFound:
            continue  # the page went since it was listed: its files go with it


def ref_of(attached: Attached) -> DocumentRef:
    """The document ref of a listed file."""
    return DocumentRef(
        id=f"{PREFIX}{attached.page_id}/{attached.id}", version=f"v{attached.number}"
    )


def lookup(client: SiteClient, page_id: str, attachment_id: str) -> Attached | None:
    """A page's attached file asked for by id (a fetch without a listing); None when gone."""
    path = f"/rest/api/content/{page_id}/child/attachment"
    try:
        for batch in client.offset_pages(path, {"expand": _EXPAND, "limit": 50}):
            for item in batch:
                if str(item.get("id")) == attachment_id:
                    return attached_of(item, page_id)
    except NotFound:
        return None
    return None


def fetch(
    client: SiteClient,
    attached: Attached,
    *,
    parent: str,
    base: str,
    options: AttachmentOptions,
    source: SourceInfo,
) -> Document:
    """One attached file as a page of its own; DocumentError (or a subclass) names it."""
    where = f"attachment {attached.id} ({attached.name}, attached to page {attached.page_id})"
    file_type = options.type_of(attached.name)
    if file_type is None:
        raise DocumentError(f"{where}: not an attachment this source publishes")
    path = f"/rest/api/content/{attached.page_id}/child/attachment/{attached.id}/download"
    try:
        data = client.download(path, int(options.max_bytes))
    except NotFound as exc:
        raise DocumentError(f"{where} is gone, or this account may not see it: {exc}") from exc
    if data is None:
        raise DocumentTooLarge(f"{where}: larger than attachments.max_bytes")
    url = f"{base}/download/attachments/{attached.page_id}/{quote(attached.name, safe='')}"
    return attachments.document(
        data,
        where=where,
        file_type=file_type,
        options=options,
        source=source,
        key=numeric(attached.id),
        url=url,
        link_text=None,
        parent=parent,
        file_name=attached.name,
        changed_at=timestamp(attached.modified),
        metadata={"page_id": attached.page_id, "attachment_id": numeric(attached.id)},
    )


class LiveFiles:
    """The attachments part of one :class:`~.connector.ConfluenceConnector`, for one run."""

    def __init__(self, connector: ConfluenceConnector) -> None:
        self.connector = connector
        self.options = connector.options.attachments
        self._known: dict[str, Attached] = {}  # ref id -> what this run's listing said

    def refs(self, metas: Mapping[str, Meta]) -> Iterator[DocumentRef]:
        """The files of the listed pages (``metas``) that the listing publishes."""
        if not self.options:
            return
        site = self.connector
        published = {page for page in metas if page not in site._hidden}
        spaces = [space.key for space in site._chosen_spaces().values()]
        for attached in listing(site._api, spaces, published, self.options):
            ref = ref_of(attached)
            self._known[ref.id] = attached
            yield ref

    def fetch(self, ref: DocumentRef) -> Document:
        """One listed (or named) file as a page of its own."""
        site = self.connector
        _, page_id, attachment_id = [*ref.id.split("/"), "", ""][:3]
        if page_id in site._hidden:
            raise DocumentExcluded(
                f"{ref.id}: its page has a view restriction", reason="restricted"
            )
        attached = self._known.get(ref.id) or lookup(site._client, page_id, attachment_id)
        if attached is None:
            raise DocumentError(f"{ref.id}: not a current attachment of a published page")
        meta = site._metas.get(page_id)
        return fetch(
            site._client,
            attached,
            parent=meta.title if meta is not None else "",
            base=site.base,
            options=self.options,
            source=site.source,
        )
