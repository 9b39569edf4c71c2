"""The dokuwiki connector against a real private DokuWiki on 127.0.0.1."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from syncd.connectors.base import (
    Connector,
    DocumentError,
    DocumentRef,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.dokuwiki.connector import DokuWikiConnector
from syncd.net.retry import RetryPolicy
from tests.connectors.contract import ConnectorContract
from tests.connectors.dokuwiki_fixtures import (
    SAMPLE_PAGES,
    CountingTransport,
    make_connector,
    running_wiki,
)
from tests.dokuwiki_server import (
    BOT_PASSWORD,
    BOT_USER,
    OUTSIDER_PASSWORD,
    OUTSIDER_USER,
    DokuWikiServer,
)

pytestmark = pytest.mark.dokuwiki


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DokuWikiServer]:
    """One private wiki with the sample pages, shared by this module's read-only tests."""
    with running_wiki(tmp_path_factory.mktemp("wiki"), SAMPLE_PAGES) as server:
        yield server


class TestDokuWikiContract(ConnectorContract):
    """The connector contract, over the real wiki."""

    lookup = True  # by page name
    changes = True  # the wiki's recent changes

    @pytest.fixture
    def connector(self, wiki: DokuWikiServer) -> Iterator[Connector]:
        """The sync bot's connector over the sample wiki."""
        with make_connector(wiki) as connector:
            yield connector


def _documents(connector: DokuWikiConnector) -> dict[str, object]:
    return {ref.id: connector.fetch(ref) for ref in connector.list()}


def test_listing_names_every_readable_page_with_its_revision(wiki: DokuWikiServer) -> None:
    """Page ids are the refs; the version starts with the page's revision (Unix seconds)."""
    with make_connector(wiki) as connector:
        refs = {ref.id: ref.version for ref in connector.list()}
    assert refs.keys() == set(SAMPLE_PAGES)
    for page, revision in wiki.pages().items():
        assert refs[page].startswith(f"{revision}@")


def test_namespaces_limit_the_listing(wiki: DokuWikiServer) -> None:
    """``namespaces: [ops]`` lists ops:* only; a readable namespace without pages lists none."""
    with make_connector(wiki, namespaces=["ops"]) as connector:
        assert [ref.id for ref in connector.list()] == ["ops:restart"]
    with make_connector(wiki, namespaces=["nothing-here"]) as connector:
        assert list(connector.list()) == []


def test_a_listing_is_one_listing_call_and_no_basic_auth(wiki: DokuWikiServer) -> None:
    """Dialect check, login, one listing call; the password only ever in a POST body."""
    assert {":", "#", "%", " "} <= set(BOT_PASSWORD)
    transport = CountingTransport()
    with make_connector(wiki, transport=transport) as connector:
        list(connector.list())
    methods = transport.methods()
    assert [m for m in methods if m in {"dokuwiki.getPagelist", "core.listPages"}] == [methods[-1]]
    assert len(methods) <= 4, methods
    for request in transport.requests:
        assert "authorization" not in request.headers
        assert BOT_PASSWORD not in str(request.url)
        assert "B0t" not in str(request.url)


def test_titles_urls_and_clean_html(wiki: DokuWikiServer) -> None:
    """First heading else id; doku.php?id= URLs; machinery gone, links absolute, code kept."""
    with make_connector(wiki) as connector:
        documents = {ref.id: connector.fetch(ref) for ref in connector.list()}
    start, restart = documents["start"], documents["ops:restart"]
    assert start.title == "Ops handbook & runbooks"
    assert restart.title == "ops:restart"
    assert documents["hr:leave"].title == "Leave"
    assert start.url == f"{wiki.base_url}doku.php?id=start"
    body = start.body
    for machinery in ("<!--", "EDIT{", "sectionedit", "export_code", "<form", "wikilink2"):
        assert machinery not in body
    assert f'href="{wiki.base_url}doku.php?id=ops:restart"' in body
    assert f'href="{wiki.base_url}doku.php?id=start#on_call"' in body
    assert "/dokuwiki/dokuwiki/" not in body
    assert "ops:missing" not in body and "missing" in body  # the red link's text stays
    assert "<table" in body and "<th" in body
    assert '<code class="language-bash">' in body
    code = body.split('<code class="language-bash">')[1].split("</code>")[0]
    assert html.unescape(code) == (
        'systemctl restart app && echo "done" < /dev/null\n\ntail -f /var/log/app.log'
    )
    assert "notes.txt" in body and "a plain file" in body
    assert "mailto:ops@example.invalid" in body
    assert "indented code keeps   its spaces" in restart.body
    assert restart.changed_at is not None


@pytest.mark.parametrize(("userewrite", "form"), [(1, "{page}"), (2, "doku.php/{page}")])
def test_rewritten_urls_are_learnt_from_the_wiki(
    tmp_path: Path, userewrite: int, form: str
) -> None:
    """With ``userewrite`` on, page URLs and links take the wiki's rewritten form."""
    pages = {"ops:restart": RESTART_AGAIN, "start": "====== Home ======\nSee [[ops:restart]]."}
    with running_wiki(tmp_path, pages, userewrite=userewrite) as wiki:
        with make_connector(wiki) as connector:
            document = connector.fetch(DocumentRef("start", "1@x"))
        assert document.url == wiki.base_url + form.format(page="start")
        assert f'href="{wiki.base_url}{form.format(page="ops:restart")}"' in document.body
        with make_connector(wiki, url_style="query") as connector:
            document = connector.fetch(DocumentRef("start", "1@x"))
        assert document.url == f"{wiki.base_url}doku.php?id=start"


RESTART_AGAIN = "Restart."


def test_wrong_password_is_a_clear_error_and_never_shown(wiki: DokuWikiServer) -> None:
    """DokuWiki answers a wrong password with False (HTTP 200): refused, named, not listed."""
    wrong = "Wr0ng: #pass%word"
    transport = CountingTransport()
    with (
        capture_logs() as logs,
        make_connector(wiki, password=wrong, transport=transport) as connector,
        pytest.raises(SourceUnavailable, match="refused the login of 'syncbot'") as caught,
    ):
        list(connector.list())
    assert "wrong user name or password" in str(caught.value)
    assert wrong not in str(caught.value) + repr(logs)
    assert not {"dokuwiki.getPagelist", "core.listPages"} & set(transport.methods())


def test_anonymous_and_outsiders_are_told_apart(wiki: DokuWikiServer) -> None:
    """No login: 401 and a hint; a user outside ``remoteuser``: 403 naming the setting."""
    with (
        make_connector(wiki, username=None, password=None) as anonymous,
        pytest.raises(SourceUnavailable, match="401") as caught,
    ):
        list(anonymous.list())
    assert "configure username and password" in str(caught.value)
    with (
        make_connector(wiki, username=OUTSIDER_USER, password=OUTSIDER_PASSWORD) as outsider,
        pytest.raises(SourceUnavailable, match="403") as caught,
    ):
        list(outsider.list())
    assert "remoteuser" in str(caught.value) and OUTSIDER_USER in str(caught.value)


def test_an_unreadable_namespace_is_an_error_not_an_empty_listing(tmp_path: Path) -> None:
    """Pages the ACL hides list as nothing: without read access that is an error."""
    with running_wiki(tmp_path, SAMPLE_PAGES) as wiki:
        wiki.set_acl("*\t@ALL\t0\n*\t@bots\t1\nops:*\t@bots\t0\n")
        with (
            make_connector(wiki, namespaces=["ops"]) as connector,
            pytest.raises(SourceUnavailable, match="may not read namespace 'ops'"),
        ):
            list(connector.list())
        with make_connector(wiki) as connector:
            assert {ref.id for ref in connector.list()} == {"start", "hr:leave"}
        wiki.set_acl("*\t@ALL\t0\n")
        with (
            make_connector(wiki) as connector,
            pytest.raises(SourceUnavailable, match="may not read any page"),
        ):
            list(connector.list())


def test_a_page_deleted_after_the_listing_fails_alone(wiki: DokuWikiServer) -> None:
    """A missing page renders as "": a DocumentError naming the page, not an empty document."""
    with (
        make_connector(wiki) as connector,
        pytest.raises(DocumentError, match="page ops:gone no longer exists"),
    ):
        connector.fetch(DocumentRef("ops:gone", "1@x"))


def test_login_happens_once_per_connector(wiki: DokuWikiServer) -> None:
    """Listing, fetching and polling share one session."""
    transport = CountingTransport()
    with capture_logs() as logs, make_connector(wiki, transport=transport) as connector:
        for ref in connector.list():
            connector.fetch(ref)
        connector.poll_changes(None)
    logins = [m for m in transport.methods() if m in {"dokuwiki.login", "core.login"}]
    assert len(logins) == 1
    assert [log["user"] for log in logs if log["event"] == "dokuwiki.login"] == [BOT_USER]


def test_an_unreachable_wiki_is_unavailable_after_bounded_retries(tmp_path: Path) -> None:
    """A wiki that stopped answering fails the listing (so nothing is deleted), retries bounded."""
    with running_wiki(tmp_path, SAMPLE_PAGES) as wiki:
        wiki.stop()
        policy = RetryPolicy(attempts=2, total_seconds=5, wait_initial=0.01, wait_max=0.01)
        connector = DokuWikiConnector(
            make_connector(wiki).options,
            source=SourceInfo(name="ops", url="https://wiki.example.com"),
            retry=policy,
        )
        with connector, pytest.raises(SourceUnavailable, match="kept failing") as caught:
            list(connector.list())
    assert "Connect" in str(caught.value) and BOT_PASSWORD not in str(caught.value)


def test_a_wiki_with_its_api_off_says_so(tmp_path: Path) -> None:
    """``remote`` off: the run fails naming the setting, before any login."""
    with running_wiki(tmp_path, local="$conf['remote'] = 0;\n") as wiki:
        transport = CountingTransport()
        with (
            make_connector(wiki, transport=transport) as connector,
            pytest.raises(SourceUnavailable, match="remote API is off") as caught,
        ):
            list(connector.list())
    assert not {"dokuwiki.login", "core.login"} & set(transport.methods())
    assert BOT_PASSWORD not in str(caught.value)


def test_a_session_the_wiki_forgot_is_renewed_once(tmp_path: Path) -> None:
    """The wiki lost its sessions and cookie secret (a reinstall): one new login, no error."""
    with running_wiki(tmp_path, SAMPLE_PAGES) as wiki:
        transport = CountingTransport()
        with make_connector(wiki, transport=transport) as connector:
            refs = list(connector.list())
            for stale in [*wiki.data.glob("meta/_htcookiesalt*"), *wiki.root.glob("sessions/*")]:
                stale.unlink()
            document = connector.fetch(refs[0])
        assert document.body
        logins = [m for m in transport.methods() if m in {"dokuwiki.login", "core.login"}]
        assert len(logins) == 2
