"""Answers only a broken or odd DokuWiki gives, from a small stand-in over HTTP on loopback.

Igor reports every API error as an empty struct with HTTP 200; a listing that comes back that
way must never read as "the wiki has no pages". The stand-in speaks XML-RPC like Igor: it
answers the version and the login, and ``{}`` (or what a test sets) to everything else.
"""

from __future__ import annotations

import threading
import xmlrpc.client
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from syncd.connectors.base import NOTHING, SourceInfo, SourceUnavailable
from syncd.connectors.dokuwiki.connector import DokuWikiConnector, DokuWikiOptions

PASSWORD = "s3cret: #pw%"


class _Igor(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, Any]] = {}
    seen: ClassVar[list[tuple[str, tuple[Any, ...]]]] = []

    def do_POST(self) -> None:
        if self.path != "/wiki/lib/exe/xmlrpc.php":
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers["Content-Length"]))
        params, method = xmlrpc.client.loads(body)
        self.seen.append((str(method), params))
        defaults = {"dokuwiki.getXMLRPCAPIVersion": 11, "dokuwiki.login": True}
        answer = self.answers.get(str(method), defaults.get(str(method), {}))
        payload = xmlrpc.client.dumps((answer,), methodresponse=True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def igor() -> Iterator[tuple[str, type[_Igor]]]:
    """The stand-in on a free loopback port: its base URL and its handler class."""
    handler = type("Igor", (_Igor,), {"answers": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wiki/", handler
    finally:
        server.shutdown()
        server.server_close()


def _connector(base_url: str) -> DokuWikiConnector:
    options = DokuWikiOptions.model_validate(
        {"base_url": base_url, "username": "bot", "password": PASSWORD}
    )
    return DokuWikiConnector(options, source=SourceInfo(name="ops", url="https://w.example"))


def test_an_empty_struct_for_a_listing_is_an_error(igor: tuple[str, type[_Igor]]) -> None:
    """``{}`` where a list of pages is due: SourceUnavailable, not an empty wiki."""
    base_url, handler = igor
    with _connector(base_url) as connector, pytest.raises(SourceUnavailable) as caught:
        list(connector.list())
    assert "not a list" in str(caught.value)
    methods = [method for method, _ in handler.seen]
    assert methods == ["dokuwiki.getXMLRPCAPIVersion", "dokuwiki.login", "dokuwiki.getPagelist"]
    assert handler.seen[1][1] == ("bot", PASSWORD)  # in the body, as sent


def test_an_odd_login_answer_is_not_taken_for_success(igor: tuple[str, type[_Igor]]) -> None:
    """A login answered with ``{}`` (an unknown method, a plugin's error) is an error."""
    base_url, handler = igor
    handler.answers["dokuwiki.login"] = {}
    with (
        _connector(base_url) as connector,
        pytest.raises(SourceUnavailable, match="answered the login with") as caught,
    ):
        list(connector.list())
    assert PASSWORD not in str(caught.value)
    assert "dokuwiki.getPagelist" not in [method for method, _ in handler.seen]


def test_nothing_new_and_malformed_changes(igor: tuple[str, type[_Igor]]) -> None:
    """``{}`` from recent changes is Igor's "nothing new"; entries without ids are errors."""
    base_url, handler = igor
    with _connector(base_url) as connector:
        cursor = connector.poll_changes(None).cursor
        assert connector.poll_changes(cursor).changes == NOTHING
        handler.answers["wiki.getRecentChanges"] = [{"size": 3}]
        with pytest.raises(SourceUnavailable, match="without page or revision"):
            connector.poll_changes(cursor)


def test_a_base_url_without_a_wiki_says_so(igor: tuple[str, type[_Igor]]) -> None:
    """Neither API answers under base_url: the message asks whether it is the wiki's root."""
    base_url, handler = igor
    with (
        _connector(base_url + "not-the-wiki/") as connector,
        pytest.raises(SourceUnavailable, match=r"where doku\.php lives") as caught,
    ):
        list(connector.list())
    assert PASSWORD not in str(caught.value)
    assert handler.seen == []  # nothing reached the XML-RPC endpoint, no login was sent


def test_the_dry_run_plan_names_revisions(igor: tuple[str, type[_Igor]]) -> None:
    """describe_change words a version change as the wiki's revisions."""
    with _connector(igor[0]) as connector:
        assert connector.describe_change("1796592765@aa", "1796592801@bb") == (
            "revision 1796592765 -> 1796592801"
        )
        assert connector.describe_change("1796592765@aa", "1796592765@bb") == (
            "revision 1796592765, text changed within the same second"
        )
