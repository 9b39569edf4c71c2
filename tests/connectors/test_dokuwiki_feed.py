"""The DokuWiki change feed against a real wiki: recent changes and lookups of named pages."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from syncd.connectors.dokuwiki import changes
from tests.connectors.dokuwiki_fixtures import CountingTransport, make_connector, running_wiki
from tests.dokuwiki_server import DokuWikiServer

pytestmark = pytest.mark.dokuwiki


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DokuWikiServer]:
    """A private wiki the tests of this module change; each test uses its own pages."""
    with running_wiki(tmp_path_factory.mktemp("feed-wiki")) as server:
        yield server


def test_recent_changes_name_edits_creations_and_deletions(wiki: DokuWikiServer) -> None:
    """After the first poll sets the cursor, each poll names exactly what changed since."""
    wiki.edit("feed:edit", "one")
    wiki.edit("feed:delete", "doomed")
    wiki.edit("elsewhere:page", "outside the namespaces")
    transport = CountingTransport()
    with make_connector(wiki, transport=transport, namespaces=["feed"]) as connector:
        first = connector.poll_changes(None)
        assert not first.changes
        # The feed starts a few minutes back: the pages made above are named once.
        warm = connector.poll_changes(first.cursor)
        assert warm.changes.changed == {"feed:edit", "feed:delete"}
        wiki.edit_later("feed:edit", "two")
        wiki.edit("feed:new", "fresh")
        wiki.delete("feed:delete")
        wiki.edit("elsewhere:page", "changed outside")
        before = len(transport.requests)
        answer = connector.poll_changes(warm.cursor)
        assert len(transport.requests) == before + 1  # one call per poll
        assert answer.changes.changed == {"feed:edit", "feed:new"}
        assert answer.changes.deleted == {"feed:delete"}
        again = connector.poll_changes(answer.cursor)
        assert not again.changes
        assert again.cursor == answer.cursor
        # The named pages as a run looks them up: the deleted one is gone, the rest listed.
        listing = {ref.id: ref for ref in connector.list()}
        found = {ref.id: ref for ref in connector.lookup(answer.changes.named | {"feed:no"})}
    assert found == {page: listing[page] for page in ("feed:edit", "feed:new")}


def test_a_change_later_in_the_same_second_is_not_missed(wiki: DokuWikiServer) -> None:
    """The cursor remembers what it saw in its last second; a newcomer in it still counts."""
    with make_connector(wiki) as connector:
        cursor = connector.poll_changes(connector.poll_changes(None).cursor).cursor
        time.sleep(1.02 - time.time() % 1)  # start of a second: the edits fit in it
        wiki.edit("same:first", "a")
        seen = connector.poll_changes(cursor)
        second, _, _ = seen.cursor.partition("|")
        wiki.edit("same:second", "b")
        wiki.delete("same:first")
        if wiki.pages()["same:second"] != int(second):
            pytest.skip("the edits took more than a second (a loaded machine)")
        later = connector.poll_changes(seen.cursor)
    assert "same:second" in later.changes.changed
    assert later.changes.deleted == {"same:first"}


def test_a_cursor_older_than_the_wikis_memory_asks_for_a_full_run(wiki: DokuWikiServer) -> None:
    """DokuWiki keeps a week of recent changes: an older cursor cannot be trusted."""
    old = changes.first_cursor(time.time() - 8 * 86400)
    with make_connector(wiki) as connector:
        answer = connector.poll_changes(old)
    assert answer.changes.everything
    assert int(answer.cursor.partition("|")[0]) > time.time() - 600


def test_a_fetched_page_knows_when_it_changed(wiki: DokuWikiServer) -> None:
    """Document.changed_at is the page's revision, for the freshness metric."""
    wiki.edit("changed:at", "now")
    with make_connector(wiki) as connector:
        (ref,) = connector.lookup(["changed:at"])
        document = connector.fetch(ref)
    assert document.changed_at == float(wiki.pages()["changed:at"])
