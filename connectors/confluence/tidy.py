"""The clean-up of a converted storage-format body, on one lxml tree.

A storage-format or wiki-markup body converted to HTML (by the XML and live connectors) gets
the same clean-up as an exported page's ``#main-content`` (``links.rewrite_links`` then
``html.tidy_body``): user mentions become names, links and images are made absolute or
removed, presentational attributes and wrappers (``span``, ``font``, ``col``) go, and so do
blocks left without content. Those work on BeautifulSoup trees, which an exported page needs
for its macros; a converted body needs none of that, and here it is parsed once by lxml and
walked a handful of times: 8.7 -> 1.6 ms of CPU for a 10 KB body (``bench/render_cpu.py``);
the BeautifulSoup clean-up had been three quarters of the CPU of rendering such a page.
"""

from __future__ import annotations

import functools
from html import escape

from lxml import etree
from lxml import html as lxml_html
from lxml.html import HtmlElement as Element

from syncd.connectors.confluence.html import _CONTENT_TAGS, _KEPT_ATTRIBUTES, BLOCK_TAGS, _spaced
from syncd.connectors.confluence.links import LinkContext, _alias, resolve

_UNWRAPPED = ("span", "font", "col")
_MENTIONS = frozenset({"confluence-userlink", "user-mention"})


def clean_converted(converted: str, links: LinkContext) -> str:
    """The converted HTML with links absolute and presentational leftovers removed."""
    if not converted.strip():
        return ""
    root = lxml_html.fragment_fromstring(converted, create_parent="div")
    _user_mentions(root)
    _rewrite_links(root, links)
    for element in root.iter():
        if isinstance(element.tag, str):
            kept = _KEPT_ATTRIBUTES.get(element.tag, set())
            attributes = element.attrib
            names = list(attributes)
            wanted = sorted(name for name in names if name in kept)
            # Sorted, as BeautifulSoup writes them, and set again: a value-less attribute
            # (``<details open>``) is then written with its empty value, as before.
            if names:
                values = [(name, attributes[name]) for name in wanted]
                attributes.clear()
                for name, value in values:
                    attributes[name] = value
    etree.strip_tags(root, *_UNWRAPPED)
    # Innermost first, so that emptiness propagates to the blocks around.
    for block in reversed([node for node in root.iter("p", "div") if node is not root]):
        if _alive(block, root) and not block.text_content().strip() and not _has_content(block):
            _remove(block)
    head = escape(root.text or "", quote=False)
    return (head + "".join(_serialize(child) for child in root)).strip()


def _serialize(element: Element) -> str:
    return etree.tostring(element, encoding="unicode", method="html")


def _text_of(element: Element) -> str:
    """An element's text with whitespace runs collapsed, as a reader sees it."""
    return " ".join(" ".join(element.itertext()).split())


def _alive(element: Element, root: Element) -> bool:
    """Whether ``element`` is still in the tree under ``root`` (not removed with an ancestor)."""
    node: Element | None = element
    while node is not None:
        if node is root:
            return True
        node = node.getparent()
    return False


def _has_content(block: Element) -> bool:
    return any(
        isinstance(node.tag, str) and node.tag in _CONTENT_TAGS for node in block.iterdescendants()
    )


def _has_image(element: Element) -> bool:
    return next(element.iterdescendants("img"), None) is not None


def _classes(element: Element) -> set[str]:
    return set(str(element.get("class") or "").split())


def _user_mentions(root: Element) -> None:
    """User links become the person's name, without the link to the profile."""
    for link in list(root.iter("a")):
        if _classes(link) & _MENTIONS and _alive(link, root):
            name = _text_of(link) or str(link.get("data-username") or "")
            tail = link.tail
            link.clear()
            link.text, link.tail = name, tail
            link.drop_tag()


def _rewrite_links(root: Element, links: LinkContext) -> None:
    """Make every link and image absolute, or remove what cannot be (``links.rewrite_links``)."""
    for image in list(root.iter("img")):
        target = resolve(str(image.get("src") or ""), image.get, links)
        if target is None:
            _remove(image)
            continue
        image.set("src", target)
        alias = _alias(image.get)
        if alias and not image.get("alt"):
            image.set("alt", alias)
    for link in list(root.iter("a")):
        if not _alive(link, root):
            continue
        href = link.get("href")
        label = functools.partial(_text_of, link)
        target = resolve(href, link.get, links, label) if href is not None else None
        if target is None:
            if _text_of(link) or _has_image(link):
                link.drop_tag()
            else:
                _remove(link)
            continue
        link.set("href", target)
        if not _text_of(link) and not _has_image(link):
            # The view-file macro's link holds only a thumbnail removed above.
            alias = _alias(link.get)
            if alias is None:
                _remove(link)
                continue
            _append_text(link, alias)
        if "confluence-embedded-file" in _classes(link):
            _keep_apart(link)


def _append_text(element: Element, text: str) -> None:
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def _is_block(node: Element) -> bool:
    return isinstance(node.tag, str) and node.tag in BLOCK_TAGS


def _own_text(node: Element) -> str:
    return node.text_content() if isinstance(node.tag, str) else ""


def _text_before(element: Element) -> str:
    """The text just before ``element`` on the same line: up to a block edge."""
    node = element
    while True:
        previous = node.getprevious()
        if previous is None:
            parent = node.getparent()
            if parent is None:
                return ""
            if parent.text:
                return str(parent.text)
            if _is_block(parent):
                return ""
            node = parent
            continue
        if previous.tail:
            return str(previous.tail)
        if _is_block(previous):
            return ""
        text = _own_text(previous)
        if text:
            return text
        node = previous


def _text_after(element: Element) -> str:
    """The text just after ``element`` on the same line: up to a block edge."""
    node = element
    while True:
        if node.tail:
            return str(node.tail)
        following = node.getnext()
        if following is None:
            parent = node.getparent()
            if parent is None or _is_block(parent):
                return ""
            node = parent
            continue
        if _is_block(following):
            return ""
        text = _own_text(following)
        if text:
            return text
        node = following


def _space_before(element: Element) -> None:
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + " "
        return
    parent = element.getparent()
    if parent is not None:
        parent.text = (parent.text or "") + " "


def _remove(element: Element) -> None:
    """Remove an element and everything in it; words on either side of it stay apart."""
    before = _text_before(element)
    if before and not before[-1].isspace():
        after = _text_after(element)
        if after and not after[0].isspace():
            _space_before(element)
    element.drop_tree()


def _keep_apart(element: Element) -> None:
    """A space on each side of ``element`` where words would otherwise touch it."""
    inside = element.text_content()
    if not inside:
        return
    before = _text_before(element)
    if before and _spaced(before, inside, block=False):
        _space_before(element)
    after = _text_after(element)
    if after and _spaced(inside, after, block=False):
        element.tail = " " + (element.tail or "")
