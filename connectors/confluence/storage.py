"""Confluence storage format (the XHTML-based XML of ``bodyType`` 2) turned into plain HTML.

A body is parsed as XML, after the repairs real exports need
(:mod:`~syncd.connectors.confluence.storage_xml`). Then every element is rendered by
:class:`StorageRenderer` (the storage elements, links and images) and the macro renderer it
is given (:func:`syncd.connectors.confluence.storage_macros.render_macro`). Plain XHTML keeps its
structure without styles or classes; every ``ac:``/``ri:``/``at:`` element is consumed:
rendered as what it means, unwrapped to its content, or dropped. Links and images come out
absolute: pages through the index of the export, attachments as
``{base_url}/download/attachments/{pageId}/{file name}``.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from lxml import etree

from syncd.connectors.confluence.storage_xml import AC, AT, RI, StorageError, parse_storage

__all__ = ["AC", "AT", "RI", "StorageError", "StorageRenderer", "parse_storage"]

_AC_PREFIX, _RI_PREFIX = f"{{{AC}}}", f"{{{RI}}}"
_RESOURCE_PREFIXES = (_RI_PREFIX, f"{{{AT}}}")
_LINK_BODY, _PLAIN_LINK_BODY = f"{_AC_PREFIX}link-body", f"{_AC_PREFIX}plain-text-link-body"
_RI_USER = f"{_RI_PREFIX}user"

# Plain XHTML kept as it is (attributes filtered); other plain tags give way to their content.
_KEPT_TAGS = frozenset({
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "b", "em", "i", "u",
    "s", "del", "ins", "sub", "sup", "code", "pre", "blockquote", "table", "thead", "tbody",
    "tfoot", "tr", "th", "td", "caption", "a", "div", "dl", "dt", "dd", "figure",
    "figcaption", "small", "kbd", "q", "abbr", "mark", "details", "summary", "section",
})  # fmt: skip
_VOID_TAGS = frozenset({"br", "hr", "img"})
_DROPPED_TAGS = frozenset({"colgroup", "col", "script", "style", "template", "object", "embed"})
_KEPT_ATTRIBUTES = {
    "a": ("href", "title"),
    "img": ("src", "alt", "title", "width", "height"),
    "td": ("colspan", "rowspan"),
    "th": ("colspan", "rowspan", "scope"),
    "ol": ("start",),
}
# Kept tags written without attributes (lower case as found): their HTML is their content.
_BARE_TAGS = _KEPT_TAGS - _KEPT_ATTRIBUTES.keys() - {"time"}
# Emoticon names Confluence stores, as the characters readers know (XWiki's table).
EMOTICONS = {
    "smile": "\U0001f642", "sad": "\U0001f61e", "cheeky": "\U0001f61b", "laugh": "\U0001f603",
    "wink": "\U0001f609", "thumbs-up": "\U0001f44d", "thumbs-down": "\U0001f44e",
    "information": "\u2139\ufe0f", "tick": "\u2705", "cross": "\u274c", "warning": "\u26a0\ufe0f",
    "plus": "\u2795", "minus": "\u2796", "question": "\u2753", "light-on": "\U0001f4a1",
    "light-off": "\U0001f4a1", "yellow-star": "\u2b50", "red-star": "\u2b50",
    "green-star": "\u2b50", "blue-star": "\u2b50", "heart": "\u2764\ufe0f",
    "broken-heart": "\U0001f494",
}  # fmt: skip


@functools.cache  # called for every element read; the names are few
def ac(name: str) -> str:
    """The qualified name of an ``ac:`` element or attribute."""
    return f"{{{AC}}}{name}"


@functools.cache
def ri(name: str) -> str:
    """The qualified name of an ``ri:`` element or attribute."""
    return f"{{{RI}}}{name}"


def first_child(element: etree._Element, tag: str) -> etree._Element | None:
    """The first child with this tag (``find`` without its path parser: one per element)."""
    return next(element.iterchildren(tag), None)


def child_text(element: etree._Element, tag: str) -> str | None:
    """The text of the first child with this tag; None without one."""
    found = first_child(element, tag)
    return None if found is None else (found.text or "")


_SPECIAL = re.compile("[&<>\"']")
_MARKUP = re.compile("[&<>]")


def esc(text: str | None) -> str:
    """Text escaped for HTML."""
    if not text or _SPECIAL.search(text) is None:  # most text has nothing to escape
        return text or ""
    return html.escape(text, quote=True)


def _esc_text(text: str) -> str:
    # Text between tags: quotes need no escaping there, and this runs for every text node.
    if _MARKUP.search(text) is None:
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def all_text(element: etree._Element) -> str:
    """All the text inside an element, as it is."""
    return "".join(text for text in element.itertext() if isinstance(text, str))


def text_of(element: etree._Element) -> str:
    """An element's text, whitespace runs collapsed."""
    return " ".join(all_text(element).split())


@dataclasses.dataclass(frozen=True, slots=True)
class StorageContext:
    """What rendering one page's body needs from the export around it.

    ``find_page(space key, title)`` and ``page_exists(id)`` answer from the index of published
    pages; ``load(page id)`` gives another page's body for ``include`` (None when it has none).
    """

    page_id: str
    space_key: str
    base_url: str
    page_url: Callable[[str], str]
    download_url: Callable[[str, str], str]
    find_page: Callable[[str, str], str | None]
    page_exists: Callable[[str], bool]
    user_name: Callable[[str], str | None]
    load: Callable[[str], tuple[str, str] | None]  # page id -> (storage body, space key)

    def for_page(self, page_id: str, space_key: str) -> StorageContext:
        """The same context for another page (an included one)."""
        return dataclasses.replace(self, page_id=page_id, space_key=space_key)


@dataclasses.dataclass(slots=True)
class RenderState:
    """Shared by a page and the pages it includes: the include guard and what was dropped."""

    including: list[str] = dataclasses.field(default_factory=list)
    includes: int = 0  # includes expanded so far, at any depth
    included_chars: int = 0  # the text of the bodies they brought in
    dropped: set[str] = dataclasses.field(default_factory=set)
    notes: list[str] = dataclasses.field(default_factory=list)


MacroRenderer = Callable[["StorageRenderer", etree._Element], str]


class StorageRenderer:
    """Renders one page's storage-format tree as HTML; ``macros`` renders each macro."""

    def __init__(
        self, ctx: StorageContext, *, macros: MacroRenderer, state: RenderState | None = None
    ) -> None:
        self.ctx = ctx
        self.macros = macros
        self.state = state or RenderState()

    def nested(self, ctx: StorageContext) -> StorageRenderer:
        """A renderer for another page rendered inside this one (an include)."""
        return StorageRenderer(ctx, macros=self.macros, state=self.state)

    def render_body(self, body: str) -> str:
        """The HTML of a whole storage-format body."""
        return self.children(parse_storage(body))

    def children(self, element: etree._Element) -> str:
        """The HTML of an element's content: its text, its children and their tails."""
        text = element.text
        parts = [_esc_text(text)] if text else []
        node, plain = self.node, self._plain
        for child in element:
            tag = child.tag
            if tag[0] == "{":
                parts.append(node(child))
            elif tag in _BARE_TAGS and not len(child):
                # The most common element, a word in bold or a short paragraph, rendered here.
                inner = child.text
                parts.append(f"<{tag}>{_esc_text(inner) if inner else ''}</{tag}>")
            else:
                parts.append(plain(tag.lower(), child))
            tail = child.tail
            if tail:
                parts.append(_esc_text(tail))
        return "".join(parts)

    def node(self, element: etree._Element) -> str:
        """The HTML of one element (its tail excluded)."""
        tag = element.tag  # the parser drops comments and processing instructions
        if tag[0] != "{":
            return self._plain(tag.lower(), element)
        if tag.startswith(_AC_PREFIX):
            return self._ac(tag[len(_AC_PREFIX) :], element)
        if tag.startswith(_RESOURCE_PREFIXES):
            return ""  # resources are read by their link or image; templates drop
        return self.children(element)  # Word's o:p and the like

    def _plain(self, tag: str, element: etree._Element) -> str:
        if tag in _DROPPED_TAGS:
            return ""
        if tag == "time":
            return esc(element.get("datetime")) or self.children(element)
        if tag not in _KEPT_TAGS and tag not in _VOID_TAGS:
            return self.children(element)
        kept = _KEPT_ATTRIBUTES.get(tag)
        attributes = (
            "".join(f' {name}="{esc(element.get(name))}"' for name in kept if element.get(name))
            if kept
            else ""
        )
        if tag in _VOID_TAGS:
            return f"<{tag}{attributes}/>" if tag != "img" or element.get("src") else ""
        return f"<{tag}{attributes}>{self.children(element)}</{tag}>"

    def _ac(self, local: str, element: etree._Element) -> str:  # noqa: PLR0911 - one exit per element kind
        if local in ("structured-macro", "macro"):
            return self.macros(self, element)
        if local == "link":
            return self.link(element)
        if local == "image":
            return self.image(element)
        if local == "task-list":
            tasks = [child for child in element if child.tag == ac("task")]
            return f"<ul>{''.join(self.task(task) for task in tasks)}</ul>"
        if local == "task":
            return f"<ul>{self.task(element)}</ul>"
        if local == "emoticon":
            name = element.get(ac("name")) or ""
            return esc(element.get(ac("emoji-fallback")) or EMOTICONS.get(name, f"({name})"))
        if local in ("adf-extension", "adf-node"):
            fallback = first_child(element, ac("adf-fallback"))
            return self.children(fallback) if fallback is not None else ""
        if local in ("placeholder", "parameter", "default-parameter", "adf-mark", "adf-attribute",
                     "task-id", "task-uuid", "task-status"):  # fmt: skip
            return ""
        if local == "plain-text-body":
            return f"<pre><code>{esc(element.text)}</code></pre>"
        # layout, layout-section, layout-cell, inline-comment-marker, rich-text-body, caption,
        # adf-fallback, link-body and anything newer: their content, without the wrapper.
        return self.children(element)

    def task(self, task: etree._Element) -> str:
        """One task of a task list: a disabled checkbox, ticked when complete, and its body."""
        status = (child_text(task, ac("task-status")) or "").strip()
        checked = ' checked=""' if status == "complete" else ""
        body = first_child(task, ac("task-body"))
        content = self.children(body) if body is not None else ""
        return f'<li><input type="checkbox" disabled=""{checked}/> {content}</li>'

    # Resources: what a link or an image points at.

    def resource(self, element: etree._Element) -> etree._Element | None:
        """The first ``ri:`` child of a link, image or macro parameter."""
        for child in element:
            if isinstance(child.tag, str) and child.tag.startswith(_RI_PREFIX):
                return child
        return None

    def page_target(self, resource: etree._Element) -> str | None:
        """The published page a ``ri:page``/``ri:blog-post``/``ri:content-entity`` names."""
        if resource.tag == ri("content-entity"):
            page_id = (resource.get(ri("content-id")) or "").strip()
            return page_id if self.ctx.page_exists(page_id) else None
        title = resource.get(ri("content-title"))
        if not title or title == "@self":
            return self.ctx.page_id
        space = resource.get(ri("space-key")) or self.ctx.space_key
        return self.ctx.find_page(space, title)

    def _missing_page_url(self, resource: etree._Element) -> str:
        """A Confluence URL by space and title, for pages this export does not publish."""
        space = resource.get(ri("space-key")) or self.ctx.space_key
        title = resource.get(ri("content-title")) or ""
        day = resource.get(ri("posting-day"))
        dated = f"{day.replace('-', '/')}/" if day and resource.tag == ri("blog-post") else ""
        return f"{self.ctx.base_url}/display/{quote(space, safe='')}/{dated}{quote_plus(title)}"

    def attachment_url(self, resource: etree._Element) -> str | None:
        """The download URL of a ``ri:attachment``, on its own page or the one it names."""
        name = resource.get(ri("filename"))
        if not name:
            return None
        container = self.ctx.page_id
        owner = self.resource(resource)
        if owner is not None:
            found = self.page_target(owner)
            if found is None:
                return None
            container = found
        return self.ctx.download_url(container, name)

    def resource_url(  # noqa: PLR0911 - one exit per kind of resource
        self, resource: etree._Element, anchor: str | None
    ) -> tuple[str | None, str]:
        """(URL or None, default label) of a link's resource."""
        fragment = f"#{quote(anchor, safe='')}" if anchor else ""
        tag = resource.tag
        if tag in (ri("page"), ri("blog-post"), ri("content-entity")):
            label = resource.get(ri("content-title")) or ""
            found = self.page_target(resource)
            if found is not None:
                return f"{self.ctx.page_url(found)}{fragment}", label
            if tag == ri("content-entity"):
                return None, label
            return f"{self._missing_page_url(resource)}{fragment}", label
        if tag == ri("attachment"):
            return self.attachment_url(resource), resource.get(ri("filename")) or ""
        if tag == ri("url"):
            value = (resource.get(ri("value")) or "").strip()
            return value or None, value
        if tag == ri("space"):
            key = resource.get(ri("space-key")) or ""
            return f"{self.ctx.base_url}/display/{quote(key, safe='')}", key
        if tag == ri("shortcut"):
            return None, f"{resource.get(ri('key')) or ''}:{resource.get(ri('parameter')) or ''}"
        return None, ""

    def user(self, resource: etree._Element) -> str:
        """The name of the person a ``ri:user`` names."""
        for attribute in ("userkey", "username", "account-id"):
            value = resource.get(ri(attribute))
            if value:
                name = self.ctx.user_name(value)
                if name:
                    return name
                if attribute == "username":
                    return value
        return "a user"

    def link(self, element: etree._Element) -> str:
        """An ``ac:link``: an anchor to its resource, a person's name, or its text."""
        body = plain = resource = None
        for child in element:  # one pass for what three searches found: the first of each
            tag = child.tag
            if tag == _LINK_BODY:
                body = child if body is None else body
            elif tag == _PLAIN_LINK_BODY:
                plain = child if plain is None else plain
            elif resource is None and isinstance(tag, str) and tag.startswith(_RI_PREFIX):
                resource = child
        label = (
            self.children(body)
            if body is not None
            else esc(plain.text)
            if plain is not None
            else ""
        )
        if resource is not None and resource.tag == _RI_USER:
            return label if label.strip() else esc(self.user(resource))
        anchor = element.get(ac("anchor"))
        if resource is None:
            if not anchor:
                return label
            href: str | None = f"{self.ctx.page_url(self.ctx.page_id)}#{quote(anchor, safe='')}"
            default = anchor
        else:
            href, default = self.resource_url(resource, anchor)
        text = label if label.strip() else esc(default)
        if href is None:
            return text
        return f'<a href="{esc(href)}">{text}</a>'

    def image(self, element: etree._Element) -> str:
        """An ``ac:image``: an ``<img>`` of the attachment or URL, with its caption."""
        resource = self.resource(element)
        src, name = (None, "") if resource is None else self.resource_url(resource, None)
        if resource is not None and resource.tag == ri("url"):
            name = ""  # an address says nothing to a reader
        alt = element.get(ac("alt")) or element.get(ac("title")) or name
        caption = first_child(element, ac("caption"))
        caption_html = self.children(caption) if caption is not None else ""
        if src is None:
            return esc(alt) if alt else caption_html
        width = element.get(ac("width"))
        size = f' width="{esc(width)}"' if width and width.isdigit() else ""
        image = f'<img src="{esc(src)}" alt="{esc(alt)}"{size}/>'
        if caption_html.strip():
            return f"<figure>{image}<figcaption>{caption_html}</figcaption></figure>"
        return image
