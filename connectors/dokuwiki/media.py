"""A DokuWiki's media files as pages, with ``options.attachments``.

ref id
    ``media/<media id>`` (``media/ops:runbook.pdf``): a cleaned page id never holds ``/``,
    so it is never a page's ref id.
version
    The file's size and modification time (or revision), from one listing call per
    namespace (``core.listMedia``, or ``wiki.getAttachments`` before 2024): no file is read.
external id
    ``attachment:media/<media id>`` (see :mod:`syncd.extract.attachments`).
document
    The file's text, read through the remote API (``core.getMedia`` or
    ``wiki.getAttachment``) with the connector's login, so a private wiki's media are read as
    its pages are. Title: the document's own, else ``<namespace>: <file name>``; URL: the
    wiki's ``lib/exe/fetch.php?media=<id>``.
"""

from __future__ import annotations

import base64
import binascii
import xmlrpc.client
from collections.abc import Collection
from typing import Any
from urllib.parse import quote

from syncd.connectors.base import (
    Document,
    DocumentError,
    DocumentRef,
    DocumentTooLarge,
    SourceInfo,
)
from syncd.connectors.dokuwiki.api import DokuWikiApi, WikiError
from syncd.connectors.dokuwiki.pages import in_namespace
from syncd.extract import attachments
from syncd.extract.attachments import AttachmentOptions

PREFIX = "media/"


def is_media_ref(ref_id: str) -> bool:
    """Whether a ref id names a media file rather than a page."""
    return ref_id.startswith(PREFIX)


def list_media(
    api: DokuWikiApi, namespaces: Collection[str], options: AttachmentOptions
) -> dict[str, DocumentRef]:
    """The media files of ``namespaces`` (all: empty) whose type ``options`` publishes."""
    found: dict[str, DocumentRef] = {}
    for namespace in namespaces or [""]:
        if api.json_rpc:
            params: dict[str, Any] = {"namespace": namespace, "pattern": "", "depth": 0}
        else:
            params = {"namespace": namespace, "options": {"depth": 0}}
        answer = api.call("core.listMedia", "wiki.getAttachments", params)
        if not isinstance(answer, list):
            raise WikiError(f"listing media of {namespace!r}: the wiki answered {answer!r:.80}")
        for entry in answer:
            if not isinstance(entry, dict):
                continue
            media_id = str(entry.get("id", ""))
            if not media_id or not options.type_of(media_id):
                continue
            if not in_namespace(media_id, namespaces):
                continue
            stamp = entry.get("revision") or entry.get("mtime") or ""
            found[PREFIX + media_id] = DocumentRef(
                id=PREFIX + media_id, version=f"{entry.get('size', '')}:{stamp}"
            )
    return found


def fetch_media(
    api: DokuWikiApi,
    ref: DocumentRef,
    *,
    base_url: str,
    options: AttachmentOptions,
    source: SourceInfo,
) -> Document:
    """One media file as a page of its own; DocumentError names it."""
    media_id = ref.id.removeprefix(PREFIX)
    file_type = options.type_of(media_id)
    if file_type is None:
        raise DocumentError(f"{media_id}: not a media type this source publishes")
    size = ref.version.partition(":")[0]
    if size.isdigit() and int(size) > options.max_bytes:
        raise DocumentTooLarge(f"{media_id}: {size} bytes, over attachments.max_bytes")
    try:
        if api.json_rpc:
            answer = api.call("core.getMedia", "", {"media": media_id, "rev": 0})
        else:
            answer = api.call("", "wiki.getAttachment", {"id": media_id})
    except WikiError as exc:
        raise DocumentError(f"{media_id}: cannot be read from the wiki: {exc}") from exc
    data = _bytes(answer)
    if data is None:
        raise DocumentError(f"{media_id}: the wiki answered no file ({type(answer).__name__})")
    namespace, _, name = media_id.rpartition(":")
    return attachments.document(
        data,
        where=f"media {media_id}",
        file_type=file_type,
        options=options,
        source=source,
        key=ref.id,
        url=f"{base_url}lib/exe/fetch.php?media={quote(media_id, safe=':')}",
        link_text=None,
        parent=namespace.replace(":", " / ") or source.name,
        file_name=name,
        metadata={"media": media_id},
    )


def _bytes(answer: object) -> bytes | None:
    """The file in an answer: XML-RPC base64, or a base64 string (JSON-RPC)."""
    if isinstance(answer, xmlrpc.client.Binary):
        return bytes(answer.data)
    if isinstance(answer, str):
        try:
            return base64.b64decode(answer, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None
