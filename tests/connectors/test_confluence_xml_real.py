"""Real Confluence XML exports kept beside the project, synced into the Intercom sandbox.

``python -m syncd sync`` runs against the sandbox (a real HTTP server on 127.0.0.1); each
export must land as exactly its current pages, with exact titles, clean bodies and absolute
links. The expected pages were counted off each ``entities.xml`` by hand (see the reference
notes on these exports): history, drafts and the Confluence 5 ``Draft`` object are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.connectors.test_confluence import excluded_all, fetch_all, make_connector
from tests.connectors.test_confluence_exports_sync import run_sync

pytestmark = pytest.mark.slow

SITE = "https://wiki.example.com"
FOLDER = "confluence-xml-xwiki-contrib"
EXPECTED: dict[str, dict[str, str]] = {
    "5.9.zip": {
        "196611": "Share your page with a team member (step 9 of 9)",
        "196612": "A quick look at the editor (step 2 of 9)",
        "196613": "Let's edit this page (step 3 of 9)",
        "196614": "Welcome to Confluence",
        "196615": "What is Confluence? (step 1 of 9)",
        "196616": "Tell people what you think in a comment (step 8 of 9)",
        "196617": "Get serious with a table (step 5 of 9)",
        "196618": "Lay out your page (step 6 of 9)",
        "196619": "Prettify the page with an image (step 4 of 9)",
        "196620": "Learn the wonders of autoconvert (step 7 of 9)",
        "655366": "toto",
    },
    "confluence8.5.6": {
        "98361": "Home Test",
        "98371": "2024-04-22 Meeting notes",
        # 1048577 "Page With Comment": only its draft has a body; excluded as empty.
    },
    # MyPage's only body belongs to an older version: the current page is empty, excluded.
    "attachmenthistory": {},
    "3.4.7.zip": {"131076": "Home", "131078": "Test demo in Confluence 3.4.7"},
}
RAW_STORAGE = re.compile(r"</?(?:ac|ri|at):|<!\[CDATA\[|\]\] >|ac:name=|ri:content-title")
RAW_WIKI = re.compile(r"^h[1-6]\. |\|\||\{(?:code|section|column|pagetree)", re.MULTILINE)


@pytest.fixture(scope="module")
def synced(shared_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One `syncd sync` of every XML export into a fresh sandbox; yields the sandbox store."""
    tmp = tmp_path_factory.mktemp("xml-real")
    with SandboxServer(SandboxSettings(token="t")) as sandbox:
        sources = [
            {
                "name": f"xml{number}",
                "connector": "confluence_export",
                "url": f"{SITE}/{number}",
                # Every current page, view-restricted ones too (98371 in 8.5.6).
                "options": {
                    "path": str(shared_fixtures / FOLDER / name),
                    "base_url": SITE,
                    "restricted_pages": "publish",
                },
            }
            for number, name in enumerate(EXPECTED)
        ]
        run_sync(tmp, sandbox.url, sources)
        yield sandbox.store


def _pages(store: Any, name: str) -> dict[str, dict[str, Any]]:
    number = list(EXPECTED).index(name)
    sources = [s["id"] for s in store.list_sources() if s["url"] == f"{SITE}/{number}"]
    if not EXPECTED[name]:
        return {}  # nothing to publish: no Content Import Source either
    assert len(sources) == 1
    pages = store.pages_of(sources[0])
    by_id = {page["external_id"]: page for page in pages}
    assert len(by_id) == len(pages), "duplicate external ids"
    return by_id


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exactly_the_current_pages_with_exact_titles(synced: Any, name: str) -> None:
    """Each export lands as its current pages only, under their page ids, titles exact."""
    pages = _pages(synced, name)
    assert {ref_id: page["title"] for ref_id, page in pages.items()} == EXPECTED[name]
    for ref_id, page in pages.items():
        assert page["url"] == f"{SITE}/pages/viewpage.action?pageId={ref_id}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bodies_are_clean_html_with_absolute_links(synced: Any, name: str) -> None:
    """No storage tags, CDATA, raw wiki markup or relative links reach Intercom."""
    for ref_id, page in _pages(synced, name).items():
        body = page["html"]
        assert not RAW_STORAGE.search(body), (ref_id, body)
        assert not RAW_WIKI.search(body), (ref_id, body)
        soup = BeautifulSoup(body, "html.parser")
        for tag in soup.find_all(href=True):
            assert str(tag["href"]).startswith(("https://", "http://", "mailto:")), (ref_id, tag)
        for tag in soup.find_all(src=True):
            assert str(tag["src"]).startswith(("https://", "http://")), (ref_id, tag)


def test_site_backup_links_and_images_resolve_to_the_site(synced: Any) -> None:
    """In the 5.9 backup, page links go to page ids and images to their download URLs."""
    pages = _pages(synced, "5.9.zip")
    home = pages["196614"]["html"]
    assert f'href="{SITE}/pages/viewpage.action?pageId=196615"' in home
    assert f'src="{SITE}/download/attachments/196614/welcome.png"' in home
    # Images of another page (ri:page inside ri:attachment) use that page's id.
    step = pages["196615"]["html"]
    assert f'src="{SITE}/download/attachments/196613/next.jpg"' in step
    assert "Confluence is a collaboration tool" in step


def test_wiki_markup_export_reads_as_html(synced: Any) -> None:
    """The Confluence 3.4.7 backup's wiki markup arrives as headings, tables and links."""
    body = _pages(synced, "3.4.7.zip")["131078"]["html"]
    assert "<h4>Project: Test demo</h4>" in body
    assert '<a href="http://www.aspose.com">TICKET-1</a>' in body


def test_view_restricted_page_is_left_out_by_default(shared_fixtures: Path) -> None:
    """8.5.6's meeting notes carry a View restriction: by default they are not published."""
    with make_connector(shared_fixtures / FOLDER / "confluence8.5.6") as connector:
        ids = sorted(ref.id for ref in connector.list())
        # Listed, and excluded by name: never silently missing.
        assert excluded_all(connector) == {"98371": "restricted", "1048577": "empty"}
        assert sorted(fetch_all(connector)) == ["98361"]
    assert ids == ["1048577", "98361", "98371"]


def test_a_page_without_a_body_is_excluded_as_empty(shared_fixtures: Path) -> None:
    """attachmenthistory's current MyPage has no body of its own: excluded: empty."""
    with make_connector(shared_fixtures / FOLDER / "attachmenthistory") as connector:
        assert excluded_all(connector) == {"369483298": "empty"}
