"""Cleaning MediaWiki's rendered HTML into article HTML (no wiki needed)."""

from __future__ import annotations

from syncd.connectors.mediawiki.html import clean_page_html

PAGE = "https://wiki.example.com/wiki/Some_page"


def _clean(html: str) -> str:
    return clean_page_html(f'<div class="mw-parser-output">{html}</div>', page_url=PAGE)


def test_relative_links_and_images_become_absolute() -> None:
    """Path, relative, protocol-relative and fragment links all become absolute URLs."""
    html = _clean(
        '<p><a href="/wiki/Other">o</a> <a href="Sub">s</a> <a href="//cdn.example.com/x">c</a>'
        ' <a href="#Part">p</a> <img src="/images/a/ab/X.png" srcset="/images/x2.png 2x"/></p>'
    )
    assert 'href="https://wiki.example.com/wiki/Other"' in html
    assert 'href="https://wiki.example.com/wiki/Sub"' in html
    assert 'href="https://cdn.example.com/x"' in html
    assert 'href="https://wiki.example.com/wiki/Some_page#Part"' in html
    assert 'src="https://wiki.example.com/images/a/ab/X.png"' in html
    assert "srcset" not in html


def test_red_links_keep_only_their_text() -> None:
    """A link to a page that does not exist is replaced by its text."""
    html = _clean(
        '<p>See <a href="/w/index.php?title=Nope&amp;action=edit&amp;redlink=1" class="new">'
        "the plan</a>.</p>"
    )
    assert html == "<p>See the plan.</p>"


def test_wiki_machinery_is_removed() -> None:
    """Edit links, the table of contents, navboxes, styles and comments are removed."""
    html = _clean(
        '<h2><span class="mw-headline" id="A">A</span><span class="mw-editsection">'
        '[<a href="/index.php?title=X&amp;action=edit&amp;section=1">edit</a>]</span></h2>'
        '<div id="toc" class="toc"><h2>Contents</h2><ul><li><a href="#A">A</a></li></ul></div>'
        '<table class="navbox"><tr><td>Nav</td></tr></table><style>.x{}</style>'
        "<!-- NewPP limit report --><p>Body.</p>"
    )
    assert html == '<h2><span class="mw-headline" id="A">A</span></h2><p>Body.</p>'


def test_empty_elements_are_removed() -> None:
    """Empty paragraphs, spans and list items go; cells, images and rules stay."""
    html = _clean(
        '<p><br/></p><p><span></span></p><ul><li>one</li><li class="mw-empty-elt"></li></ul>'
        "<table><tr><td></td><td>x</td></tr></table><hr/>"
        '<p><a href="/wiki/File:X.png"><img src="/images/X.png" alt=""/></a></p>'
    )
    assert "<br/>" not in html
    assert "<span></span>" not in html
    assert "mw-empty-elt" not in html
    assert "<li>one</li>" in html
    assert "<td></td>" in html
    assert "<hr/>" in html
    assert 'src="https://wiki.example.com/images/X.png"' in html


def test_link_rewriter_maps_absolute_links() -> None:
    """A link rewriter sees every absolute link and decides its final address."""
    html = clean_page_html(
        '<p><a href="/wiki/Other">o</a></p>',
        page_url=PAGE,
        rewrite_link=lambda url: url.replace("wiki.example.com/wiki", "kb.example.com"),
    )
    assert html == '<p><a href="https://kb.example.com/Other">o</a></p>'


def test_cleaning_is_deterministic_and_idempotent() -> None:
    """The same input gives the same output, and cleaning clean HTML changes nothing."""
    source = '<p>Text <a href="/wiki/A">a</a></p><p></p><ul><li class="mw-empty-elt"></li></ul>'
    once = _clean(source)
    assert once == _clean(source)
    assert clean_page_html(once, page_url=PAGE) == once
