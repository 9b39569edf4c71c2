"""The MediaWiki change feed against a real wiki: recent changes and lookups of named pages."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from syncd.connectors.base import DocumentRef
from syncd.connectors.mediawiki.connector import MediaWikiConnector
from tests.connectors.mediawiki_fixtures import CountingTransport, make_connector, running_wiki
from tests.mediawiki_server import MediaWikiServer

pytestmark = pytest.mark.mediawiki


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaWikiServer]:
    """A private wiki the tests of this module change; each test uses its own pages."""
    with running_wiki(tmp_path_factory.mktemp("feed-wiki")) as server:
        yield server


def _listing(connector: MediaWikiConnector) -> dict[str, DocumentRef]:
    return {ref.id: ref for ref in connector.list()}


def test_recent_changes_name_edits_creations_moves_and_deletions(wiki: MediaWikiServer) -> None:
    """After the first poll sets the cursor, each poll names exactly what changed since."""
    wiki.edit("Feed edit", "one")
    wiki.edit("Feed move", "moving")
    wiki.edit("Feed delete", "doomed")
    transport = CountingTransport()
    with make_connector(wiki, transport=transport) as connector:
        first = connector.poll_changes(None)
        assert not first.changes
        # The feed starts a few minutes back: the pages made above are named once.
        warm = connector.poll_changes(first.cursor)
        ids = wiki.page_ids()
        assert {str(ids[f"Feed {name}"]) for name in ("edit", "move", "delete")} <= (
            warm.changes.changed
        )
        wiki.edit("Feed edit", "two")
        wiki.edit("Feed new", "fresh")
        wiki.move("Feed move", "Feed moved")
        wiki.delete("Feed delete")
        before = len(transport.requests)
        answer = connector.poll_changes(warm.cursor)
        assert len(transport.requests) == before + 1  # one request per poll
        new_id = str(wiki.page_ids()["Feed new"])
        assert answer.changes.changed == {str(ids["Feed edit"]), new_id, str(ids["Feed move"])}
        assert answer.changes.deleted == {str(ids["Feed delete"])}
        again = connector.poll_changes(answer.cursor)
        assert not again.changes
        assert again.cursor == answer.cursor


def test_lookup_gives_what_the_listing_gives_for_named_pages(wiki: MediaWikiServer) -> None:
    """Named pages come back with the listing's version; missing ids and redirects do not."""
    wiki.edit("Lookup a", "a")
    wiki.edit("Lookup b", "b")
    wiki.move("Lookup b", "Lookup c")  # leaves a redirect at "Lookup b"
    ids = wiki.page_ids()
    with make_connector(wiki) as connector:
        listing = _listing(connector)
        wanted = [str(ids["Lookup a"]), str(ids["Lookup c"]), str(ids["Lookup b"]), "999999"]
        found = {ref.id: ref for ref in connector.lookup(wanted)}
    assert found == {
        str(ids["Lookup a"]): listing[str(ids["Lookup a"])],
        str(ids["Lookup c"]): listing[str(ids["Lookup c"])],
    }


def test_a_fetched_page_knows_when_it_changed(wiki: MediaWikiServer) -> None:
    """Document.changed_at is the page's last change, for the freshness metric."""
    wiki.edit("Changed at", "now")
    page_id = str(wiki.page_ids()["Changed at"])
    with make_connector(wiki) as connector:
        (ref,) = connector.lookup([page_id])
        document = connector.fetch(ref)
    assert document.changed_at is not None
    assert abs(time.time() - document.changed_at) < 120


def test_a_template_edit_asks_for_a_full_run(wiki: MediaWikiServer) -> None:
    """A template renders into other pages without naming them: the whole wiki is listed."""
    with make_connector(wiki) as connector:
        cursor = connector.poll_changes(connector.poll_changes(None).cursor).cursor
        wiki.edit("Template:Notice", "A notice for every page.")
        assert connector.poll_changes(cursor).changes.everything
