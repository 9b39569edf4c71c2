"""How the mediawiki connector sees pages change on a real wiki: edits, moves, deletions."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from syncd.connectors.base import DocumentError, DocumentRef
from syncd.connectors.mediawiki.connector import MediaWikiConnector
from tests.connectors.mediawiki_fixtures import make_connector, running_wiki
from tests.mediawiki_server import MediaWikiServer

pytestmark = pytest.mark.mediawiki


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaWikiServer]:
    """A private wiki the tests of this module change; each test uses its own pages."""
    with running_wiki(tmp_path_factory.mktemp("changing-wiki")) as server:
        yield server


@pytest.fixture
def connector(wiki: MediaWikiServer) -> Iterator[MediaWikiConnector]:
    """A connector logged in with the sync bot's bot password."""
    with make_connector(wiki) as connector:
        yield connector


def _listing(connector: MediaWikiConnector) -> dict[str, DocumentRef]:
    return {ref.id: ref for ref in connector.list()}


def test_edit_changes_the_version_only(
    wiki: MediaWikiServer, connector: MediaWikiConnector
) -> None:
    """Editing a page keeps its ref id and changes its version and its fetched body."""
    page_id = str(wiki.edit("Edited page", "First text."))
    before = _listing(connector)[page_id]
    assert "First text." in connector.fetch(before).body
    wiki.edit("Edited page", "Second text.")
    after = _listing(connector)[page_id]
    assert after.version != before.version
    assert "Second text." in connector.fetch(after).body


def test_moved_page_keeps_its_id(wiki: MediaWikiServer, connector: MediaWikiConnector) -> None:
    """A moved page keeps its ref id with a new version, title and URL; its redirect is unlisted."""
    page_id = str(wiki.edit("Before the move", "Content that moves."))
    before = _listing(connector)[page_id]
    wiki.move("Before the move", "After the move")
    listing = _listing(connector)
    after = listing[page_id]
    assert after.version != before.version
    redirect_id = str(wiki.page_ids()["Before the move"])
    assert redirect_id not in listing
    document = connector.fetch(after)
    assert document.title == "After the move"
    assert document.url == f"{wiki.server_url}/index.php/After_the_move"
    assert "Content that moves." in document.body


def test_deleted_page_leaves_the_listing(
    wiki: MediaWikiServer, connector: MediaWikiConnector
) -> None:
    """A deleted page is no longer listed; the others still are."""
    kept = str(wiki.edit("Page that stays", "Still here."))
    gone = str(wiki.edit("Page that goes", "Soon gone."))
    assert {kept, gone} <= set(_listing(connector))
    wiki.delete("Page that goes")
    listing = _listing(connector)
    assert kept in listing
    assert gone not in listing


def test_page_deleted_after_listing_fails_alone(
    wiki: MediaWikiServer, connector: MediaWikiConnector
) -> None:
    """Fetching a page deleted since the listing raises DocumentError naming the page."""
    page_id = str(wiki.edit("Short-lived page", "Here for a moment."))
    ref = _listing(connector)[page_id]
    wiki.delete("Short-lived page")
    with pytest.raises(DocumentError, match=rf"page {page_id} \('Short-lived page'\).*no longer"):
        connector.fetch(ref)
    other = str(wiki.edit("Survivor", "Fine."))
    assert "Fine." in connector.fetch(_listing(connector)[other]).body


def test_template_edit_changes_the_version(
    wiki: MediaWikiServer, connector: MediaWikiConnector
) -> None:
    """Editing a template a page uses changes the page's version, so the page is fetched again."""
    wiki.edit("Template:Notice", "Old notice.")
    page_id = str(wiki.edit("Uses a template", "{{Notice}}"))
    before = _listing(connector)[page_id]
    assert "Old notice." in connector.fetch(before).body
    # page_touched has one-second resolution: change the template in a later second.
    time.sleep(1.05 - time.time() % 1)
    wiki.edit("Template:Notice", "New notice.")
    wiki.run_jobs()  # what the wiki's job queue does soon after any edit
    after = _listing(connector)[page_id]
    assert after.version != before.version
    assert "New notice." in connector.fetch(after).body
