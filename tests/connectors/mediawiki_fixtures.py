"""Helpers for tests that read a real private MediaWiki: sample pages and connector builders."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from syncd.connectors.base import SourceInfo
from syncd.connectors.mediawiki.connector import MediaWikiConnector, MediaWikiOptions
from tests.conftest import missing
from tests.mediawiki_server import BOT_PASSWORD, BOT_USER, MediaWikiServer, missing_reason


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


# A 2x2 grey PNG, uploaded so that pages can show a real image.
DOT_PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\x80\x80" * 2))
    + _png_chunk(b"IEND", b"")
)

HOME = """Welcome to the '''handbook'''. Read [[Guide|the guide]] and [[Nowhere yet]].

== One ==
First.
== Two ==
Second.
== Three ==
Third.
== Four ==
[[File:Dot.png]]
<div class="navbox">Navigation box text</div>
<span></span>
* an item
*
[[Category:Fixtures]]
[[Category:Hidden things]]
"""
GUIDE = """{{DISPLAYTITLE:<i>Guide</i>}}
The guide, not finished. Back [[Home|home]].
[[Category:Drafts]]
"""
# Written in this order: a page links to pages that exist already, so its first rendering
# shows blue links (page_touched has one-second resolution; a link target created within
# the same second would leave a cached red link behind).
SAMPLE_PAGES = {
    "Category:Hidden things": "__HIDDENCAT__",
    "Guide": GUIDE,
    "Home": HOME,
    "Old guide": "#REDIRECT [[Guide]]",
    "Project:About": "About this wiki.",
}


def skip_without_mediawiki() -> None:
    """Skip the calling test when the Debian MediaWiki packages are not installed (fail in CI,
    which installs them)."""
    reason = missing_reason()
    if reason is not None:
        missing(reason)


@contextmanager
def running_wiki(root: Path, pages: dict[str, str] | None = None) -> Iterator[MediaWikiServer]:
    """A fresh private wiki with the 1x1 image uploaded and ``pages`` written."""
    skip_without_mediawiki()
    with MediaWikiServer(root) as wiki:
        images = root / "upload"
        images.mkdir()
        (images / "Dot.png").write_bytes(DOT_PNG)
        wiki.import_images(images)
        for title, text in (pages or {}).items():
            wiki.edit(title, text)
        yield wiki


class CountingTransport(httpx.HTTPTransport):
    """The real HTTP transport, counting requests (to check calls are not repeated)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


def make_connector(
    wiki: MediaWikiServer,
    *,
    transport: httpx.BaseTransport | None = None,
    batch_size: int | None = None,
    **options: Any,
) -> MediaWikiConnector:
    """A connector over ``wiki``, logged in as the sync bot unless options say otherwise."""
    values: dict[str, Any] = {
        "api_url": wiki.api_url,
        "username": BOT_USER,
        "password": BOT_PASSWORD,
        **options,
    }
    values = {key: value for key, value in values.items() if value is not None}
    return MediaWikiConnector(
        MediaWikiOptions.model_validate(values),
        source=SourceInfo(name="wiki", url=wiki.server_url),
        transport=transport,
        batch_size=batch_size,
    )
