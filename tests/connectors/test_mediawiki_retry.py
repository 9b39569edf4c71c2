"""The mediawiki connector when the wiki misbehaves: lag, overload, outages, odd answers.

A real MediaWiki cannot be made to lag or fail on demand, so these tests put a scripted
stand-in for ``api.php`` in place of the network (httpx's ``MockTransport``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pydantic
import pytest

from syncd.connectors.base import DocumentError, DocumentRef, SourceInfo, SourceUnavailable
from syncd.connectors.mediawiki.api import RetryPolicy
from syncd.connectors.mediawiki.connector import MediaWikiConnector, MediaWikiOptions

API_URL = "http://127.0.0.1:9/api.php"
FAST = RetryPolicy(attempts=4, total_seconds=10, wait_initial=0.01, wait_max=0.02, wait_jitter=0)
Hiccup = httpx.Response | Exception


class FakeWiki:
    """A scripted api.php: the first requests get ``hiccups``, then it answers like a wiki."""

    def __init__(self, hiccups: list[Hiccup] | None = None, *, expire_session: bool = False):
        self.hiccups = list(hiccups or [])
        self.requests: list[dict[str, str]] = []
        self.headers: list[httpx.Headers] = []
        self.expire_session = expire_session

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        if request.method == "POST":
            params.update(parse_qsl(request.content.decode()))
        self.requests.append(params)
        self.headers.append(request.headers)
        if self.hiccups:
            hiccup = self.hiccups.pop(0)
            if isinstance(hiccup, Exception):
                raise hiccup
            return hiccup
        return httpx.Response(200, json=self.answer(params))

    def answer(self, params: dict[str, str]) -> dict[str, Any]:
        """What a healthy public wiki answers."""
        if params.get("meta") == "tokens":
            return {"query": {"tokens": {"logintoken": "t+\\"}}}
        if params.get("action") == "login":
            return {"login": {"result": "Success", "lgusername": "Bot"}}
        if self.expire_session and params.get("generator"):
            self.expire_session = False
            return {"error": {"code": "assertuserfailed", "info": "You are no longer logged in."}}
        if params.get("meta") == "siteinfo":
            general = {"server": "//wiki.example.com", "articlepath": "/wiki/$1"}
            return {"query": {"general": general}}
        if params.get("generator") == "allpages":
            pages = [
                {"pageid": 7, "title": "Seven", "lastrevid": 70, "touched": "2024-01-01T00:00:00Z"}
            ]
            return {"batchcomplete": True, "query": {"pages": pages}}
        if params.get("action") == "parse":
            if params["pageid"] != "7":
                return {"error": {"code": "nosuchpageid", "info": "There is no page with ID."}}
            text = '<div class="mw-parser-output"><p><a href="/wiki/Eight">8</a></p></div>'
            return {"parse": {"title": "Seven", "pageid": 7, "revid": 70, "text": text}}
        return {"error": {"code": "badvalue", "info": f"unexpected call {params}"}}


def _connector(
    fake: Callable[[httpx.Request], httpx.Response],
    retry: RetryPolicy = FAST,
    **options: Any,
) -> MediaWikiConnector:
    return MediaWikiConnector(
        MediaWikiOptions.model_validate({"api_url": API_URL, **options}),
        source=SourceInfo(name="wiki", url="https://wiki.example.com"),
        transport=httpx.MockTransport(fake),
        retry=retry,
    )


def test_maxlag_is_sent_and_its_wait_respected() -> None:
    """Every call sends maxlag=5; a maxlag error waits for Retry-After, then carries on."""
    lagging = httpx.Response(
        200,
        json={"error": {"code": "maxlag", "info": "Waiting for a database server: 6 s lagged"}},
        headers={"Retry-After": "1", "X-Database-Lag": "6"},
    )
    fake = FakeWiki([lagging])
    started = time.monotonic()
    with _connector(fake) as connector:
        refs = list(connector.list())
    assert refs == [DocumentRef(id="7", version="70@2024-01-01T00:00:00Z")]
    assert time.monotonic() - started >= 1.0
    assert all(request["maxlag"] == "5" for request in fake.requests)


@pytest.mark.parametrize("status", [429, 503])
def test_overload_answers_are_retried(status: int) -> None:
    """429 and 503 are retried after their Retry-After."""
    fake = FakeWiki([httpx.Response(status, headers={"Retry-After": "0"}, text="busy")] * 2)
    with _connector(fake) as connector:
        assert [ref.id for ref in connector.list()] == ["7"]
    assert len(fake.requests) == 4  # two refusals, then siteinfo and the listing


def test_server_errors_and_dropped_connections_are_retried() -> None:
    """Other 5xx answers and transport errors are retried the same bounded way."""
    fake = FakeWiki([httpx.Response(502), httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
    with _connector(fake) as connector:
        assert [ref.id for ref in connector.list()] == ["7"]


def test_retries_stop_after_the_allowed_attempts() -> None:
    """A wiki that keeps failing is asked exactly ``attempts`` times, then the listing fails."""
    fake = FakeWiki([httpx.Response(503)] * 50)
    with _connector(fake) as connector, pytest.raises(SourceUnavailable, match="kept failing"):
        list(connector.list())
    assert len(fake.requests) == FAST.attempts


def test_retries_stop_when_time_runs_out() -> None:
    """Retries also stop once the total time is spent, whatever attempts remain."""
    policy = RetryPolicy(attempts=100, total_seconds=2.5, wait_initial=0.01, wait_jitter=0)
    fake = FakeWiki([httpx.Response(503, headers={"Retry-After": "1"})] * 100)
    started = time.monotonic()
    with _connector(fake, policy) as connector, pytest.raises(SourceUnavailable):
        list(connector.list())
    assert time.monotonic() - started < 3.5
    assert 2 <= len(fake.requests) <= 4


def test_retry_after_beyond_the_budget_gives_up_at_once() -> None:
    """A Retry-After longer than the remaining time ends the retries instead of sleeping."""
    fake = FakeWiki([httpx.Response(503, headers={"Retry-After": "3600"})] * 5)
    started = time.monotonic()
    with _connector(fake) as connector, pytest.raises(SourceUnavailable, match="HTTP 503"):
        list(connector.list())
    assert time.monotonic() - started < 1
    assert len(fake.requests) == 1


def test_client_errors_are_not_retried() -> None:
    """A 404 (a wrong api_url) fails at once and says so."""
    fake = FakeWiki([httpx.Response(404, text="no such file")] * 5)
    with _connector(fake) as connector, pytest.raises(SourceUnavailable, match="HTTP 404"):
        list(connector.list())
    assert len(fake.requests) == 1


def test_an_answer_that_is_not_json_points_at_api_url() -> None:
    """An HTML page where JSON was expected hints that api_url is not the api.php address."""
    fake = FakeWiki([httpx.Response(200, text="<html>Main Page</html>")])
    with _connector(fake) as connector, pytest.raises(SourceUnavailable, match=r"api\.php"):
        list(connector.list())


def test_fetch_of_an_unknown_page_names_it() -> None:
    """Fetching a page id the wiki does not know raises DocumentError naming the page."""
    with _connector(FakeWiki()) as connector:
        with pytest.raises(DocumentError, match="page 8 no longer exists"):
            connector.fetch(DocumentRef(id="8", version="1"))
        document = connector.fetch(DocumentRef(id="7", version="70"))
    # A protocol-relative server takes the scheme of api_url.
    assert document.url == "http://wiki.example.com/wiki/Seven"
    assert 'href="http://wiki.example.com/wiki/Eight"' in document.body


def test_fetch_that_keeps_failing_fails_that_page_alone() -> None:
    """A page whose rendering keeps failing raises DocumentError naming it."""
    fake = FakeWiki()
    with _connector(fake) as connector:
        list(connector.list())
        fake.hiccups = [httpx.Response(500)] * FAST.attempts
        with pytest.raises(DocumentError, match=r"page 7 \('Seven'\).*kept failing"):
            connector.fetch(DocumentRef(id="7", version="70"))
        assert connector.fetch(DocumentRef(id="7", version="70")).title == "Seven"


def test_after_an_outage_each_page_is_asked_once_until_the_wiki_answers() -> None:
    """Once a fetch outlasts its retries, later pages are asked once, until one succeeds."""
    fake = FakeWiki()
    with _connector(fake) as connector:
        list(connector.list())
        page = DocumentRef(id="7", version="70")
        fake.hiccups = [httpx.Response(503)] * (FAST.attempts + 1)
        calls = len(fake.requests)
        with pytest.raises(DocumentError):
            connector.fetch(page)
        assert len(fake.requests) - calls == FAST.attempts
        with pytest.raises(DocumentError, match="kept failing"):
            connector.fetch(page)
        assert len(fake.requests) - calls == FAST.attempts + 1  # one attempt, no retries
        assert connector.fetch(page).title == "Seven"  # the wiki is back
        fake.hiccups = [httpx.Response(503)]
        assert connector.fetch(page).title == "Seven"  # retried in full again


def test_bearer_token_is_sent_instead_of_a_login() -> None:
    """With ``token`` every call carries it as a bearer token and no login happens."""
    fake = FakeWiki()
    with _connector(fake, token="oauth-secret") as connector:
        list(connector.list())
    assert all(h["authorization"] == "Bearer oauth-secret" for h in fake.headers)
    assert not [r for r in fake.requests if r.get("action") == "login"]
    assert all(r.get("assert") == "user" for r in fake.requests)


def test_expired_session_is_renewed_once() -> None:
    """A session that expires mid-run (assertuserfailed) is renewed by logging in again."""
    fake = FakeWiki(expire_session=True)
    with _connector(fake, username="Bot@sync", password="0123456789abcdef") as connector:
        assert [ref.id for ref in connector.list()] == ["7"]
    assert len([r for r in fake.requests if r.get("action") == "login"]) == 2


@pytest.mark.parametrize(
    "options",
    [
        {"username": "Bot@sync"},
        {"password": "0123456789abcdef"},
        {"username": "Bot@sync", "password": "0123456789abcdef", "token": "t"},
        {"api_url": "wiki.example.com/api.php"},
        {"namespaces": []},
        {"page_url_template": "https://kb.example.com/{slug}"},
        {"unknown": 1},
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any]) -> None:
    """Half credentials, two ways to log in, bad URLs and unknown keys are refused."""
    with pytest.raises(pydantic.ValidationError):
        MediaWikiOptions.model_validate({"api_url": API_URL, **options})


def test_password_is_not_shown() -> None:
    """The bot password does not appear in the options' repr."""
    options = MediaWikiOptions(api_url=API_URL, username="Bot@sync", password="0123456789abcdef")
    assert "0123456789abcdef" not in repr(options)
