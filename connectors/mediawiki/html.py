"""From the HTML MediaWiki renders for a page to the article a reader of Fin should see.

``action=parse`` returns the page body as the wiki shows it, wrapped in
``<div class="mw-parser-output">``. Some of it is wiki machinery, not article: section edit
links, the table of contents, navigation boxes, placeholders the parser leaves empty
(``mw-empty-elt``), links to pages that do not exist ("red links"), and comments. Links and
images point at the wiki with paths relative to its server (``/index.php/Title``), which mean
nothing inside Intercom. :func:`clean_page_html` removes the machinery and makes every link
absolute against the page's own URL.

The result is deterministic: the same parser output always gives the same string.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from bs4.element import Comment, NavigableString

# Wiki machinery, by class. ``noprint`` is MediaWiki's own mark for "not part of the article"
# (https://www.mediawiki.org/wiki/Manual:Coding_conventions/CSS). Matched by hand rather
# than with CSS selectors: soupsieve took half of the cleaning time.
_MACHINERY_CLASSES = frozenset(
    {"mw-editsection", "toc", "navbox", "vertical-navbox", "navbox-styles", "noprint"}
    | {"mw-empty-elt", "mw-jump-link"}
)
_MACHINERY_TAGS = frozenset({"style", "link", "meta", "script"})

# Elements removed when nothing but whitespace and line breaks is left inside them
# (``<p><br></p>`` included). Cells, images and rules are never removed for being empty.
_PRUNABLE = frozenset(
    {"p", "div", "span", "b", "i", "em", "strong", "u", "small", "sup", "sub", "ul", "ol", "li"}
    | {"dl", "dd", "dt", "blockquote", "section", "center", "font", "a"}
    | {"h1", "h2", "h3", "h4", "h5", "h6"}
)


def _is_machinery(tag: Tag) -> bool:
    if tag.name in _MACHINERY_TAGS or tag.get("id") == "toc":
        return True
    classes = tag.get("class")
    return isinstance(classes, list) and not _MACHINERY_CLASSES.isdisjoint(classes)


def _is_empty(tag: Tag) -> bool:
    """Nothing left inside but whitespace and ``<br>`` (children are already pruned)."""
    for child in tag.children:
        if isinstance(child, Tag):
            if child.name != "br":
                return False
        elif isinstance(child, NavigableString) and child.strip():
            return False
    return True


def clean_page_html(
    html: str, *, page_url: str, rewrite_link: Callable[[str], str] | None = None
) -> str:
    """The article HTML of a rendered page, without wiki machinery, with absolute links.

    ``page_url`` is the page's address on the wiki itself, which relative links are resolved
    against. ``rewrite_link``, if given, then maps each absolute link (to send readers of
    other wiki pages to the same public addresses as the documents).
    """
    soup = BeautifulSoup(html, "lxml")
    body = soup.body
    if body is None:
        return ""
    # One walk of the tree; every pass then works on this list, in document order. Tags
    # removed or unwrapped on the way are remembered by id (the list keeps them alive, so
    # ids stay unique): bs4's ``Tag.decomposed`` searches a live tag's whole subtree for a
    # child named ``_decomposed``, which was a quarter of the cleaning time.
    nodes = list(body.descendants)
    tags = [node for node in nodes if isinstance(node, Tag)]
    gone: set[int] = set()
    for node in nodes:
        if isinstance(node, Comment):
            node.extract()
    _drop_machinery(tags, gone)
    _absolute_links(tags, gone, page_url, rewrite_link)
    # Reverse document order visits children before their parents, so emptiness cascades.
    for tag in reversed([tag for tag in tags if id(tag) not in gone]):
        if tag.name in _PRUNABLE and _is_empty(tag):
            tag.decompose()
    return "".join(str(child) for child in body.children).strip()


def _drop_machinery(tags: list[Tag], gone: set[int]) -> None:
    for tag in tags:
        if id(tag) in gone:
            continue  # inside machinery removed already
        if _is_machinery(tag):
            gone.add(id(tag))
            gone.update(id(node) for node in tag.descendants if isinstance(node, Tag))
            tag.decompose()
        elif tag.name == "div" and "mw-parser-output" in (tag.get("class") or []):
            gone.add(id(tag))
            tag.unwrap()


def _absolute_links(
    tags: list[Tag], gone: set[int], page_url: str, rewrite_link: Callable[[str], str] | None
) -> None:
    for link in [tag for tag in tags if tag.name == "a" and id(tag) not in gone]:
        classes: list[str] = list(link.get("class") or [])
        href = link.get("href")
        if "new" in classes or not isinstance(href, str) or not href.strip():
            # A link to a page that does not exist (or to nowhere) helps no reader.
            gone.add(id(link))
            link.unwrap()
            continue
        absolute = urljoin(page_url, href.strip())
        link["href"] = rewrite_link(absolute) if rewrite_link is not None else absolute
    for image in [tag for tag in tags if tag.name == "img" and id(tag) not in gone]:
        src = image.get("src")
        if isinstance(src, str):
            image["src"] = urljoin(page_url, src.strip())
        # Alternate resolutions point at thumbnails on the wiki; one absolute src is enough.
        del image["srcset"]
