"""The clean-up of every Confluence body, on one lxml tree.

An exported page's ``#main-content`` (its macros rewritten by
:mod:`~syncd.connectors.confluence.macros`) and a storage-format or wiki-markup body converted
to HTML (by the XML and live connectors) get the same clean-up: user mentions become names,
links and images are made absolute or removed (:mod:`~syncd.connectors.confluence.links`),
presentational attributes and wrappers (``span``, ``font``, ``col``) go, and so do blocks left
without content. Each body is one lxml tree, walked a handful of times: 8.7 -> 1.6 ms of CPU
for a 10 KB body (``bench/render_cpu.py``) against the BeautifulSoup clean-up it replaced.
"""

from __future__ import annotations

import functools
from typing import cast

from lxml import etree
from lxml.etree import _Element as Element

from syncd.connectors.confluence.links import LinkContext, _alias, resolve
from syncd.connectors.confluence.nodes import (
    alive,
    append_text,
    classes,
    drop_tag,
    has_descendant,
    keep_apart,
    parse_fragment,
    remove,
    text_content,
    text_of,
)

# Attributes that carry meaning once Confluence's stylesheet is gone; all others are dropped.
_KEPT_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "input": {"type", "checked", "disabled"},
    "ol": {"start"},
    "details": {"open"},
}
_NOTHING_KEPT: frozenset[str] = frozenset()
_UNWRAPPED = ("span", "font", "col")
# What makes a block worth keeping even without text (a paragraph holding only <br/> is not).
_CONTENT_TAGS = ("img", "input", "table", "pre", "hr")
_WITH_ATTRIBUTES = etree.XPath("descendant-or-self::*[@*]")
_MENTIONS = frozenset({"confluence-userlink", "user-mention"})


def clean_converted(converted: str, links: LinkContext) -> str:
    """The converted HTML with links absolute and presentational leftovers removed."""
    if not converted.strip():
        return ""
    return clean_body(parse_fragment(converted), links)


def clean_body(root: Element, links: LinkContext) -> str:
    """Clean what is under ``root`` in place and serialize it (``root``'s own tag left out)."""
    _user_mentions(root)
    _rewrite_links(root, links)
    for element in cast("list[Element]", _WITH_ATTRIBUTES(root)):
        attributes = element.attrib
        kept = _KEPT_ATTRIBUTES.get(element.tag, _NOTHING_KEPT)
        # Sorted, as BeautifulSoup wrote them, and set again: a value-less attribute
        # (``<details open>``) is then written with its empty value, as before.
        items = attributes.items()
        values = sorted((name, value) for name, value in items if name in kept)
        if values == items and all(value for _, value in items):
            continue  # already so (a link with its href): nothing to write
        attributes.clear()
        for name, value in values:
            attributes[name] = value
    etree.strip_tags(root, *_UNWRAPPED)
    # Innermost first, so that emptiness propagates to the blocks around.
    for block in reversed(list(root.iterdescendants("p", "div"))):
        if _has_text(block):
            continue  # words of its own (most paragraphs): no need to look further
        if alive(block, root) and _blank(block):
            remove(block)
    # The root serialized whole, then its own tags cut off: one call into lxml, not one
    # per child; without attributes or a tail its tags are exactly these.
    root.attrib.clear()
    root.tail = None
    html = etree.tostring(root, encoding="unicode", method="html")
    return html[len(root.tag) + 2 : -(len(root.tag) + 3)].strip()


def is_empty(root: Element) -> bool:
    """Whether a (cleaned) body holds nothing to read: no text, image, table or media."""
    return _blank(root)


def _blank(block: Element) -> bool:
    return not text_content(block).strip() and not has_descendant(block, *_CONTENT_TAGS)


def _has_text(element: Element) -> bool:
    """Whether ``element`` holds any text a reader sees (``text_of`` would not be empty)."""
    text = element.text
    return bool(text and not text.isspace()) or bool(text_content(element).strip())


def _user_mentions(root: Element) -> None:
    """User links become the person's name, without the link to the profile."""
    for link in list(root.iter("a")):
        if _MENTIONS.intersection(classes(link)) and alive(link, root):
            name = text_of(link) or str(link.get("data-username") or "")
            tail = link.tail
            link.clear()
            link.text, link.tail = name, tail
            drop_tag(link)


def _rewrite_links(root: Element, links: LinkContext) -> None:
    """Make every link and image absolute, or remove what cannot be (``links.resolve``)."""
    for image in list(root.iter("img")):
        target = resolve(str(image.get("src") or ""), image.get, links)
        if target is None:
            remove(image)
            continue
        image.set("src", target)
        alias = _alias(image.get)
        if alias and not image.get("alt"):
            image.set("alt", alias)
    removed = False  # until a link is removed, every link is still in the tree
    for link in list(root.iter("a")):
        if removed and not alive(link, root):
            continue
        href = link.get("href")
        label = functools.partial(text_of, link)
        target = resolve(href, link.get, links, label) if href is not None else None
        if target is None:
            if _has_text(link) or has_descendant(link, "img"):
                drop_tag(link)
            else:
                remove(link)
                removed = True
            continue
        link.set("href", target)
        if not _has_text(link) and not has_descendant(link, "img"):
            # The view-file macro's link holds only a thumbnail removed above.
            alias = _alias(link.get)
            if alias is None:
                remove(link)
                removed = True
                continue
            append_text(link, alias)
        if "confluence-embedded-file" in classes(link):
            # Shown as a thumbnail block on the page, now a file name among words.
            keep_apart(link)
