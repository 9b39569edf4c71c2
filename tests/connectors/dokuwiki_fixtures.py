"""Helpers for tests that read a real private DokuWiki: sample pages and connector builders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from syncd.connectors.base import SourceInfo
from syncd.connectors.dokuwiki.connector import DokuWikiConnector, DokuWikiOptions
from tests.conftest import missing
from tests.dokuwiki_server import BOT_PASSWORD, BOT_USER, DokuWikiServer, missing_reason

START = """====== Ops handbook & runbooks ======
Read [[ops:restart|how to restart]], [[ops:missing]] and [[start#on_call|on call]].

===== On call =====
Call ''oncall'' -> "first" -- then (c) 640x480.
<code bash>
systemctl restart app && echo "done" < /dev/null

tail -f /var/log/app.log
</code>
<file txt notes.txt>
a plain file
</file>
^ Service ^ Owner ^
| app | ops |

Mail <ops@example.invalid> and a footnote((the note)).
"""
RESTART = """Restart the app with care: [[start|back home]].
  indented code keeps   its spaces
"""
SAMPLE_PAGES = {"ops:restart": RESTART, "start": START, "hr:leave": "===== Leave =====\n25 days."}


def skip_without_dokuwiki() -> None:
    """Skip the calling test when DokuWiki is not installed (fail in CI, which installs it)."""
    reason = missing_reason()
    if reason is not None:
        missing(reason)


@contextmanager
def running_wiki(
    root: Path, pages: dict[str, str] | None = None, **settings: Any
) -> Iterator[DokuWikiServer]:
    """A fresh private wiki with ``pages`` written through the API."""
    skip_without_dokuwiki()
    with DokuWikiServer(root, **settings) as wiki:
        for page, text in (pages or {}).items():
            wiki.edit(page, text)
        yield wiki


class CountingTransport(httpx.HTTPTransport):
    """The real HTTP transport, counting requests (to check calls are not repeated)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)

    def methods(self) -> list[str]:
        """The API method of each request, in order (the path's end for JSON-RPC)."""
        names = []
        for request in self.requests:
            body = request.content.decode("utf-8", "replace")
            if "<methodName>" in body:
                names.append(body.split("<methodName>")[1].split("<")[0])
            else:
                names.append(request.url.path.rsplit("/", 1)[-1])
        return names


def make_connector(
    wiki: DokuWikiServer, *, transport: httpx.BaseTransport | None = None, **options: Any
) -> DokuWikiConnector:
    """A connector over ``wiki``, logged in as the sync bot unless options say otherwise."""
    values: dict[str, Any] = {
        "base_url": wiki.base_url,
        "username": BOT_USER,
        "password": BOT_PASSWORD,
        **options,
    }
    values = {key: value for key, value in values.items() if value is not None}
    return DokuWikiConnector(
        DokuWikiOptions.model_validate(values),
        source=SourceInfo(name="ops", url="https://wiki.example.com"),
        transport=transport,
    )
