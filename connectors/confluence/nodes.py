"""Edits of an lxml HTML tree that keep the words a reader sees.

In lxml the text after an element is that element's ``tail``: removing, replacing or moving
an element would take the words after it along unless the tail is handed over first. And
removing an element between two words (``end<img/>start``) would glue them into one. The
helpers here do both right; the macro rewrites of an exported page
(:mod:`~syncd.connectors.confluence.macros`) and the clean-up of every body
(:mod:`~syncd.connectors.confluence.tidy`) edit their trees through them.

The trees are lxml's plain elements, parsed by :data:`HTML_PARSER`: ``lxml.html``'s own
parser looks up a Python class for every element it hands out (a tenth of the clean-up's
CPU), and only for methods (``drop_tag``, ``text_content``) written here in a few lines.

Vocabulary: a *block* is an element that ends a line of text (:data:`BLOCK_TAGS`); an element
is *alive* while it is still under the root being edited (a removed ancestor takes it along).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from typing import cast

from lxml import etree
from lxml.etree import _Element as Element

# Elements that end a line of text: words on either side of their edges never run together.
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "div",
    "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
# Unicode punctuation a space never goes before (closing, final quote, ".,;:!?") or after.
_CLOSING = frozenset({"Pe", "Pf", "Po"})
_OPENING = frozenset({"Ps", "Pi"})


def spaced(left: str, right: str, *, block: bool) -> bool:
    """Whether the text ``left`` and the text ``right`` would want a space between them."""
    last, first = left[-1], right[0]
    if last.isspace() or first.isspace():
        return False
    if block:
        return True  # a line break separates whatever the characters
    return not (unicodedata.category(last) in _OPENING or unicodedata.category(first) in _CLOSING)


HTML_PARSER = etree.HTMLParser()
_STRING = etree.XPath("string()")


def parse_fragment(html: str) -> Element:
    """The ``body`` element of ``html`` parsed as a page's body: its content is the fragment."""
    root = etree.fromstring(f"<html><body>{html}</body></html>", HTML_PARSER)
    body = root.find("body")
    if body is None:  # the parser always makes one; this is for the type checker
        body = etree.SubElement(root, "body")
    return body


def new_element(tag: str, text: str | None = None, **attributes: str) -> Element:
    """A new element, to be put in a tree."""
    element = etree.Element(tag, attributes)
    element.text = text
    return element


def text_content(element: Element) -> str:
    """All the text inside ``element``, as it is (comments left out)."""
    return str(_STRING(element))


def drop_tree(element: Element) -> None:
    """Remove ``element`` and its content; the text after it stays."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        add_text_before(element, element.tail)
    parent.remove(element)


def drop_tag(element: Element) -> None:
    """Remove ``element``'s tags, its content and the text after it staying in place."""
    parent = element.getparent()
    if parent is None:
        return
    if element.text:
        add_text_before(element, element.text)
        element.text = None
    if element.tail:
        if len(element):
            last = element[-1]
            last.tail = (last.tail or "") + element.tail
        else:
            add_text_before(element, element.tail)
        element.tail = None
    index = parent.index(element)
    parent[index : index + 1] = list(element)  # the children move with their tails


def text_of(element: Element) -> str:
    """An element's text with whitespace runs collapsed, as a reader sees it."""
    return " ".join(" ".join(cast("Iterator[str]", element.itertext())).split())


def classes(element: Element) -> list[str]:
    """The element's class names."""
    return str(element.get("class") or "").split()


@functools.cache
def _class_query(names: tuple[str, ...]) -> etree.XPath:
    tests = " or ".join(
        f'contains(concat(" ", normalize-space(@class), " "), " {name} ")' for name in names
    )
    return etree.XPath(f"descendant::*[{tests}]")


def first_classed(root: Element, *names: str) -> Element | None:
    """The first descendant of ``root`` with any of these classes (one XPath, in C)."""
    found = cast("list[Element]", _class_query(names)(root))
    return found[0] if found else None


_WITH_CLASS = etree.XPath("descendant::*[@class]")


class ClassIndex:
    """The elements under a root by class name, in document order, from one query.

    Rewriting a page's macros asks for elements by class a dozen times; an XPath per
    question walked the whole page each time and was most of the cost of the rewrite.
    Elements created after the index are not in it, so no pass works on another's output;
    whether an indexed element is still in the tree is for the caller to ask (:func:`alive`).
    """

    def __init__(self, root: Element) -> None:
        self._by_class: dict[str, list[Element]] = {}
        self._position: dict[Element, int] = {}
        for position, element in enumerate(cast("list[Element]", _WITH_CLASS(root))):
            self._position[element] = position
            for name in dict.fromkeys(str(element.get("class")).split()):
                self._by_class.setdefault(name, []).append(element)

    def classed(self, *names: str, tag: str | None = None) -> list[Element]:
        """Indexed elements with any of these classes (and this tag name, if given)."""
        groups = [self._by_class[name] for name in names if name in self._by_class]
        if len(groups) == 1:
            found = list(groups[0])
        else:
            unique = {element: None for group in groups for element in group}
            found = sorted(unique, key=self._position.__getitem__)
        return found if tag is None else [element for element in found if element.tag == tag]


def alive(element: Element, root: Element) -> bool:
    """Whether ``element`` is still in the tree under ``root`` (not removed with an ancestor)."""
    node: Element | None = element
    while node is not None:
        if node is root:
            return True
        node = node.getparent()
    return False


def has_descendant(element: Element, *tags: str) -> bool:
    """Whether any element under ``element`` (not itself) has one of these tag names."""
    return next(element.iterdescendants(*tags), None) is not None


def _is_block(node: Element) -> bool:
    return isinstance(node.tag, str) and node.tag in BLOCK_TAGS


def _own_text(node: Element) -> str:
    return text_content(node) if isinstance(node.tag, str) else ""


def text_before(element: Element) -> str:
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


def text_after(element: Element) -> str:
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


def add_text_before(element: Element, text: str) -> None:
    """Put ``text`` right before ``element``, after whatever text is there already."""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
        return
    parent = element.getparent()
    if parent is not None:
        parent.text = (parent.text or "") + text


def append_text(element: Element, text: str) -> None:
    """Put ``text`` at the end of ``element``'s content."""
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def remove(element: Element) -> None:
    """Remove an element and everything in it; words on either side of it stay apart."""
    before = text_before(element)
    if before and not before[-1].isspace():
        after = text_after(element)
        if after and not after[0].isspace():
            add_text_before(element, " ")
    drop_tree(element)


def keep_apart(element: Element, *, block: bool = False) -> None:
    """Put a space on each side of ``element`` where words would otherwise touch it.

    For what stood apart on the page without a space: a file shown as a block thumbnail and
    now written as its name, a layout cell about to be unwrapped (``block``: a line break,
    whatever the punctuation).
    """
    inside = text_content(element)
    if not inside:
        return
    space = "\n" if block else " "
    before = text_before(element)
    if before and spaced(before, inside, block=block):
        add_text_before(element, space)
    after = text_after(element)
    if after and spaced(inside, after, block=block):
        element.tail = space + (element.tail or "")


def replace(old: Element, new: Element) -> None:
    """Put ``new`` where ``old`` is; the text after ``old`` stays where it was."""
    parent = old.getparent()
    if parent is None:
        return
    new.tail, old.tail = old.tail, None
    parent.replace(old, new)


def replace_with_text(element: Element, text: str) -> None:
    """Put ``text`` where ``element`` is, and the element out of the tree."""
    parent = element.getparent()
    if parent is None:
        return
    add_text_before(element, text + (element.tail or ""))
    element.tail = None
    parent.remove(element)


def detach(element: Element) -> Element:
    """Take ``element`` out of the tree to move it elsewhere; the text after it stays."""
    if element.tail:
        add_text_before(element, element.tail)
        element.tail = None
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)
    return element


def move_content(source: Element, target: Element) -> None:
    """Append everything inside ``source`` (text and elements) to ``target``."""
    if source.text:
        append_text(target, source.text)
        source.text = None
    for child in list(source):
        target.append(child)  # the tail (text after the child) moves with it
