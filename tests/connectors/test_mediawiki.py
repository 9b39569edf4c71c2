"""The mediawiki connector against a real private MediaWiki on 127.0.0.1 (read-only tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from syncd.connectors.base import Connector, DocumentExcluded, SourceUnavailable
from syncd.connectors.mediawiki.connector import MediaWikiConnector
from tests.connectors.contract import ConnectorContract
from tests.connectors.mediawiki_fixtures import (
    SAMPLE_PAGES,
    CountingTransport,
    make_connector,
    running_wiki,
)
from tests.mediawiki_server import BOT_MAIN_PASSWORD, BOT_USER, MediaWikiServer

pytestmark = pytest.mark.mediawiki


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaWikiServer]:
    """One private wiki with the sample pages, shared by this module's read-only tests."""
    with running_wiki(tmp_path_factory.mktemp("wiki"), SAMPLE_PAGES) as server:
        yield server


@pytest.fixture
def connector(wiki: MediaWikiServer) -> Iterator[MediaWikiConnector]:
    """A connector logged in with the sync bot's bot password."""
    with make_connector(wiki) as connector:
        yield connector


def _by_title(connector: MediaWikiConnector, wiki: MediaWikiServer) -> dict[str, str]:
    ids = {str(page_id): title for title, page_id in wiki.page_ids().items()}
    return {ids[ref.id]: ref.id for ref in connector.list()}


class TestMediaWikiContract(ConnectorContract):
    """The connector contract, over the real wiki."""

    lookup = True  # by page id
    changes = True  # the wiki's recent changes

    @pytest.fixture
    def connector(self, wiki: MediaWikiServer) -> Iterator[Connector]:
        """The sync bot's connector over the sample wiki."""
        with make_connector(wiki) as connector:
            yield connector


def test_anonymous_reads_are_refused(wiki: MediaWikiServer) -> None:
    """Without credentials the private wiki refuses the listing, and the message says why."""
    with (
        make_connector(wiki, username=None, password=None) as anonymous,
        pytest.raises(SourceUnavailable, match="readapidenied") as caught,
    ):
        list(anonymous.list())
    assert "username and password" in str(caught.value)


def test_bad_bot_password_fails_clearly_once(wiki: MediaWikiServer) -> None:
    """A wrong bot password fails the listing at once, naming the user but not the password."""
    wrong = "0123456789abcdefghijklmnopqrstuw"
    transport = CountingTransport()
    with (
        capture_logs() as logs,
        make_connector(wiki, password=wrong, transport=transport) as connector,
        pytest.raises(SourceUnavailable, match="refused the login") as caught,
    ):
        list(connector.list())
    message = str(caught.value)
    assert BOT_USER in message
    assert wrong not in message
    assert wrong not in repr(logs)
    assert len(transport.requests) == 2  # the login token, then the login: no retries


def test_main_password_for_a_bot_login_gets_a_hint(wiki: MediaWikiServer) -> None:
    """A main-account password given with a ``Name@app`` user fails with a bot-password hint."""
    with (
        make_connector(wiki, password=BOT_MAIN_PASSWORD) as connector,
        pytest.raises(SourceUnavailable, match="Special:BotPasswords") as caught,
    ):
        list(connector.list())
    assert BOT_MAIN_PASSWORD not in str(caught.value)


def test_listing_has_every_page_but_redirects(wiki: MediaWikiServer, connector: Connector) -> None:
    """The listing holds the main namespace's pages by page id, without redirects."""
    assert isinstance(connector, MediaWikiConnector)
    listed = _by_title(connector, wiki)
    assert sorted(listed) == ["Guide", "Home", "Main Page"]
    assert listed["Home"] == str(wiki.page_ids()["Home"])


def test_listing_follows_continuation(wiki: MediaWikiServer) -> None:
    """With one page per batch the listing follows ``continue`` and still lists everything."""
    transport = CountingTransport()
    with make_connector(wiki, batch_size=1, transport=transport) as small:
        small_refs = sorted(small.list(), key=lambda ref: ref.id)
    listing_calls = [r for r in transport.requests if b"generator=allpages" in r.url.query]
    with make_connector(wiki) as full:
        assert small_refs == sorted(full.list(), key=lambda ref: ref.id)
    assert len(listing_calls) == len(small_refs)


def test_namespaces_option_adds_namespaces(wiki: MediaWikiServer) -> None:
    """Listing namespaces 0 and 4 adds the project page to the main namespace's pages."""
    with make_connector(wiki, namespaces=[0, 4]) as connector:
        refs = {ref.id for ref in connector.list()}
    project = wiki.page_ids(namespace=4)["Test Wiki:About"]
    assert str(project) in refs
    assert len(refs) == 4


def test_version_is_the_last_revision(wiki: MediaWikiServer, connector: Connector) -> None:
    """A page's version starts with its last revision id."""
    revisions = MediaWikiServer.api(
        "GET", wiki._client(), action="query", prop="info", titles="Home"
    )["query"]["pages"][0]
    (ref,) = [ref for ref in connector.list() if ref.id == str(revisions["pageid"])]
    assert ref.version.startswith(f"{revisions['lastrevid']}@")


def test_fetch_gives_clean_html_with_absolute_links(
    wiki: MediaWikiServer, connector: Connector
) -> None:
    """The page body has absolute links and images, and no edit links, TOC, navbox or blanks."""
    assert isinstance(connector, MediaWikiConnector)
    listed = _by_title(connector, wiki)
    ref = next(ref for ref in connector.list() if ref.id == listed["Home"])
    document = connector.fetch(ref)
    body = document.body
    assert document.url == f"{wiki.server_url}/index.php/Home"
    assert f'href="{wiki.server_url}/index.php/Guide"' in body
    assert f'src="{wiki.server_url}/images/' in body
    assert "Nowhere yet" in body  # a missing page: its text stays, its link goes
    assert "redlink" not in body
    for machinery in ("mw-editsection", "[edit]", 'id="toc"', "Contents", "Navigation box"):
        assert machinery not in body
    for empty in ("mw-empty-elt", "<span></span>", "<li></li>", "<p></p>"):
        assert empty not in body
    assert 'href="/' not in body
    assert 'src="/' not in body
    assert "<b>handbook</b>" in body


def test_display_title_is_plain_text(wiki: MediaWikiServer, connector: Connector) -> None:
    """A page's display title reaches the document without its HTML."""
    assert isinstance(connector, MediaWikiConnector)
    listed = _by_title(connector, wiki)
    document = connector.fetch(next(r for r in connector.list() if r.id == listed["Guide"]))
    assert document.title == "Guide"


def test_visible_categories_become_labels(wiki: MediaWikiServer, connector: Connector) -> None:
    """Visible categories are the document's labels; hidden ones are left out."""
    assert isinstance(connector, MediaWikiConnector)
    listed = _by_title(connector, wiki)
    document = connector.fetch(next(r for r in connector.list() if r.id == listed["Home"]))
    assert document.metadata["labels"] == ["Fixtures"]


@pytest.mark.parametrize(
    ("excluded", "title"),
    [(["Drafts"], "Guide"), (["Category:hidden_things"], "Home")],
)
def test_pages_in_excluded_categories_are_excluded(
    wiki: MediaWikiServer, excluded: list[str], title: str
) -> None:
    """A page in an excluded category (named any way MediaWiki accepts) is excluded."""
    with make_connector(wiki, exclude_categories=excluded) as connector:
        listed = _by_title(connector, wiki)
        refs = {ref.id: ref for ref in connector.list()}
        with pytest.raises(DocumentExcluded, match=title):
            connector.fetch(refs[listed[title]])
        others = [ref for ref_id, ref in refs.items() if ref_id != listed[title]]
        assert all(connector.fetch(ref).body for ref in others)


def test_page_url_template_sets_urls(wiki: MediaWikiServer) -> None:
    """``page_url_template`` decides the document URL; links by title stay on the wiki."""
    template = "https://wiki.example.com/w/{title}?id={pageid}"
    with make_connector(wiki, page_url_template=template) as connector:
        listed = _by_title(connector, wiki)
        ref = next(r for r in connector.list() if r.id == listed["Home"])
        document = connector.fetch(ref)
    assert document.url == f"https://wiki.example.com/w/Home?id={ref.id}"
    assert f'href="{wiki.server_url}/index.php/Guide"' in document.body


def test_title_only_template_also_rewrites_links(wiki: MediaWikiServer) -> None:
    """With a ``{title}``-only template, links to other wiki pages use the template too."""
    with make_connector(wiki, page_url_template="https://kb.example.com/{title}") as connector:
        listed = _by_title(connector, wiki)
        document = connector.fetch(next(r for r in connector.list() if r.id == listed["Home"]))
    assert document.url == "https://kb.example.com/Home"
    assert 'href="https://kb.example.com/Guide"' in document.body
    assert f'src="{wiki.server_url}/images/' in document.body
