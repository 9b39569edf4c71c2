"""A wiki's files (the files of ``File:`` pages) as pages, with ``options.attachments``.

ref id
    ``File:<name>`` (the file page's title, underscores as spaces): never a page's ref id,
    which is a number.
version
    The file's SHA-1 and upload time from ``list=allimages``: listing every file costs one
    request per 500 files and reads none; a new upload of the file changes it.
external id
    ``attachment:File:<name>`` (see :mod:`syncd.extract.attachments`).
document
    The file's text; its title is the document's own, else ``File: <name>``; its URL the
    wiki's URL of the file, downloaded with the connector's session. MediaWiki accepts a
    bot password's session in ``api.php`` only: files a private wiki serves through
    ``img_auth.php`` answer it HTTP 403 and fail, named, unless the web server serves them.
"""

from __future__ import annotations

import httpx

from syncd.connectors.base import (
    Document,
    DocumentError,
    DocumentRef,
    DocumentTooLarge,
    SourceInfo,
)
from syncd.connectors.mediawiki.api import ActionApi, WikiError
from syncd.extract import attachments
from syncd.extract.attachments import AttachmentOptions
from syncd.net import http

PREFIX = "File:"


def is_file_ref(ref_id: str) -> bool:
    """Whether a ref id names a file rather than a page."""
    return ref_id.startswith(PREFIX)


def list_files(
    api: ActionApi, options: AttachmentOptions, batch: int | str
) -> dict[str, DocumentRef]:
    """Every current file of the wiki whose type ``options`` publishes, by ref id."""
    refs: dict[str, DocumentRef] = {}
    params: dict[str, str | int] = {
        "action": "query",
        "list": "allimages",
        "aiprop": "sha1|timestamp",
        "ailimit": batch,
    }
    while True:
        answer = api.get(**params)
        for image in answer.get("query", {}).get("allimages", []):
            name = str(image.get("name", "")).replace("_", " ")
            if name and options.type_of(name):
                version = f"{image.get('sha1', '')}@{image.get('timestamp', '')}"
                refs[PREFIX + name] = DocumentRef(id=PREFIX + name, version=version)
        follow = answer.get("continue")
        if not isinstance(follow, dict):
            return refs
        params = {**params, **follow}


def fetch_file(
    api: ActionApi, ref: DocumentRef, *, options: AttachmentOptions, source_info: SourceInfo
) -> Document:
    """One file of the wiki as a page of its own; DocumentError names the file."""
    name = ref.id.removeprefix(PREFIX)
    file_type = options.type_of(name)
    if file_type is None:
        raise DocumentError(f"{ref.id}: not a file type this source publishes")
    try:
        answer = api.get(action="query", titles=ref.id, prop="imageinfo", iiprop="url|size")
        pages = answer.get("query", {}).get("pages", [])
        info = (pages[0].get("imageinfo") or [{}])[0] if pages else {}
        url = str(info.get("url", ""))
        if not url:
            raise DocumentError(f"{ref.id}: no longer on the wiki (deleted after the listing)")
        data = api.download(url, int(options.max_bytes))
    except WikiError as exc:
        hint = ""
        if exc.code in {"http-401", "http-403"}:
            # MediaWiki accepts bot-password sessions in api.php only, not in img_auth.php.
            hint = "; a bot password's login does not reach img_auth.php: serve files openly"
        raise DocumentError(f"{ref.id}: cannot be downloaded: {exc}{hint}") from exc
    except httpx.HTTPError as exc:
        raise DocumentError(f"{ref.id}: cannot be downloaded: {http.describe(exc)}") from exc
    if data is None:
        raise DocumentTooLarge(f"{ref.id}: larger than attachments.max_bytes")
    return attachments.document(
        data,
        where=ref.id,
        file_type=file_type,
        options=options,
        source=source_info,
        key=ref.id,
        url=url,
        link_text=None,
        parent="File",
        file_name=name,
    )
