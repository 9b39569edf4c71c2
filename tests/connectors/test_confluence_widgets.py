"""Confluence bodies: dynamic widgets dropped, no links into the server, words kept apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.connectors.test_confluence import SITE
from tests.connectors.test_confluence_body import page, soup_of


def soup_of_text(html: str) -> str:
    """The text a reader sees in an HTML fragment."""
    return BeautifulSoup(html, "lxml").get_text()


ACTIVITY = (
    '<h2 id="Home-Recentspaceactivity">Recent space activity</h2>'
    '<div class="recently-updated recently-updated-social"><div class="hidden parameters">'
    '<input type="hidden" id="changesUrl" value="/plugins/recently-updated/changes.action"></div>'
    '<ul class="update-groupings"><li class="grouping"><a class="confluence-userlink url fn" '
    'data-username="lisi" href="/display/~lisi">Li Si</a><ul class="update-items">'
    '<li class="update-item"><a href="3.html">Other Page</a> <span>updated Sep 01, 2020</span>'
    '<a class="changes-link" href="/pages/diffpagesbyversion.action?pageId=3">view change</a>'
    '</li></ul></li></ul><div class="more-link-container"><a class="more-link" '
    'href="/plugins/recently-updated/changes.action?theme=social">Show more</a></div></div>'
    "<p></p>"
)
CONTRIBUTORS = (
    '<h2 id="Home-Spacecontributors">Space contributors</h2><p> </p>'
    '<div class="plugin-contributors"><ul class="contributors-list"><li>'
    '<a href="http://wiki.other.example/display/~zhouyi">Zhou Yi</a> (340 days ago)</li></ul>'
    "</div><p></p>"
)


def test_activity_feed_and_its_heading_are_dropped(tmp_path: Path) -> None:
    """The recently-updated widget goes, and so does the heading that only introduced it."""
    body = page(
        tmp_path,
        f'<h1>Welcome</h1><div class="columnLayout"><div class="cell"><div class="innerCell">'
        f'{ACTIVITY}</div></div><div class="cell"><div class="innerCell"><p>Real content.</p>'
        "</div></div></div>",
    ).body
    for gone in ("Recent space activity", "Li Si", "view change", "Show more", "Sep 01"):
        assert gone not in body, gone
    assert "<h1>Welcome</h1>" in body
    assert "<p>Real content.</p>" in body


def test_contributors_widget_is_dropped(tmp_path: Path) -> None:
    """The contributors list (names, profile links, "days ago") leaves no trace."""
    body = page(tmp_path, f"{CONTRIBUTORS}<h2>Next</h2><p>Kept.</p>").body
    for gone in ("Space contributors", "Zhou Yi", "days ago", "display/~"):
        assert gone not in body, gone
    assert "<h2>Next</h2>" in body


@pytest.mark.parametrize("macro", ["recently-updated", "contributors-summary", "change-history"])
def test_widget_by_macro_name_is_dropped(tmp_path: Path, macro: str) -> None:
    """A Cloud export's activity macro goes by its name, even without the Server classes."""
    body = page(
        tmp_path,
        f'<p>Intro.</p><div class="conf-macro output-block" data-macro-name="{macro}">'
        "<ul><li>Someone changed Page X</li></ul></div><p>Outro.</p>",
    ).body
    assert "Someone changed" not in body
    assert "Intro." in body
    assert "Outro." in body


def test_heading_with_its_own_text_survives_a_widget(tmp_path: Path) -> None:
    """A heading over more than the widget keeps its section."""
    body = page(
        tmp_path,
        '<h2>Team</h2><div class="plugin-contributors"><ul><li>Ann</li></ul></div>'
        "<p>We meet on Mondays.</p>",
    ).body
    assert "<h2>Team</h2>" in body
    assert "We meet on Mondays." in body
    assert "Ann" not in body


def test_user_mention_keeps_the_name_without_the_profile_link(tmp_path: Path) -> None:
    """A mention is the person's name as text; nothing links to their profile on the server."""
    body = page(
        tmp_path,
        '<p>Ask <a class="confluence-userlink user-mention" data-username="ada" '
        f'href="{SITE}/display/~ada">Ada Lovelace</a> today.</p>',
    ).body
    assert "<p>Ask Ada Lovelace today.</p>" in body


@pytest.mark.parametrize(
    "href",
    [
        "/pages/diffpagesbyversion.action?pageId=3&selectedPageVersions=2",
        "/plugins/recently-updated/changes.action?theme=social",
        "/display/~lisi",
        f"{SITE}/display/~lisi",
        "http://old-server.example:8090/display/~lisi",
        "https://elsewhere.example/wiki/pages/viewpreviousversions.action?pageId=9",
        f"{SITE}/pages/viewinfo.action?pageId=3",
        f"{SITE}/dosearchsite.action?queryString=x",
        f"{SITE}/people/5577:abc",
    ],
)
def test_links_into_server_screens_keep_only_their_text(tmp_path: Path, href: str) -> None:
    """A link to the server's history, activity or profile screens becomes its text."""
    body = page(tmp_path, f'<p>See <a href="{href}">the change</a> here.</p>').body
    assert "<p>See the change here.</p>" in body


def test_links_to_pages_and_spaces_of_the_site_stay(tmp_path: Path) -> None:
    """Content links on the site (``viewpage.action``, ``/display/SPACE/Page``) are kept."""
    soup = soup_of(
        page(
            tmp_path,
            f'<p><a href="{SITE}/pages/viewpage.action?pageId=7">a</a> '
            '<a href="/display/OPS/Runbook">b</a></p>',
        )
    )
    assert [a["href"] for a in soup.find_all("a")] == [
        f"{SITE}/pages/viewpage.action?pageId=7",
        f"{SITE}/display/OPS/Runbook",
    ]


def test_site_under_a_context_path_drops_its_server_screens(tmp_path: Path) -> None:
    """With ``base_url`` under ``/wiki``, ``/wiki/pages/diffpagesbyversion.action`` is plumbing."""
    body = page(
        tmp_path,
        f'<p><a href="{SITE}/wiki/users/viewmyprofile.action">me</a></p>',
        base_url=f"{SITE}/wiki",
    ).body
    assert "<p>me</p>" in body


def test_view_file_link_does_not_run_into_the_next_word(tmp_path: Path) -> None:
    """An attachment shown as a thumbnail then text is published as ``name text``, apart."""
    body = page(
        tmp_path,
        '<p><span class="confluence-embedded-file-wrapper"><a class="confluence-embedded-file" '
        'href="/download/attachments/2/11.xlsx?version=1&amp;api=v2" '
        'data-linked-resource-default-alias="11.xlsx"><img '
        'src="rest/documentConversion/latest/conversion/thumbnail/65651/1" height="250"/>'
        "</a></span>hello!</p>"
        '<p>x<span class="confluence-embedded-file-wrapper"><a class="confluence-embedded-file" '
        'href="/download/attachments/2/test.rtf"><img src="download/resources/x/placeholder.png"/>'
        '<span class="title">test.rtf</span></a></span>home, (<a class="confluence-embedded-file"'
        ' href="/download/attachments/2/a.pdf">a.pdf</a>).</p>',
    ).body
    assert f'<a href="{SITE}/download/attachments/2/11.xlsx">11.xlsx</a> hello!' in body
    assert "x test.rtf home, (a.pdf)." in " ".join(soup_of_text(body).split())
    assert f'(<a href="{SITE}/download/attachments/2/a.pdf">a.pdf</a>).' in body


def test_layout_cells_holding_bare_text_stay_apart(tmp_path: Path) -> None:
    """Two layout cells with text right inside them do not join into one word."""
    soup = soup_of(
        page(
            tmp_path,
            '<div class="contentLayout2"><div class="columnLayout two-equal">'
            '<div class="cell normal"><div class="innerCell">left</div></div>'
            '<div class="cell normal"><div class="innerCell">right</div></div></div></div>',
        )
    )
    assert "left right" in " ".join(soup.get_text().split())


def test_removed_icon_between_words_leaves_a_space(tmp_path: Path) -> None:
    """An internal icon dropped from between two words does not glue them together."""
    body = page(tmp_path, '<p>before<img src="images/icons/bullet_blue.gif"/>after</p>').body
    assert "<p>before after</p>" in body


def test_existing_spacing_is_not_doubled(tmp_path: Path) -> None:
    """Words already apart around a link or a removed element keep exactly one space."""
    body = page(
        tmp_path,
        '<p>Get <a class="confluence-embedded-file" href="/download/attachments/2/b.txt">b.txt'
        '</a> now <img src="images/icons/wait.gif"/> then.</p>',
    ).body
    assert f'<p>Get <a href="{SITE}/download/attachments/2/b.txt">b.txt</a> now  then.</p>' in body
