"""Macros of the Confluence storage format (``ac:structured-macro``, older ``ac:macro``) as HTML.

Each macro becomes what it means to a reader, in the same shapes the HTML export's macros
take (:mod:`syncd.connectors.confluence.macros`), so a space read from either export reads
alike:

code, noformat, ...  ``<pre><code class="language-x">``, the title in bold before it
info/note/tip/       a blockquote opening with its kind and title in bold
warning/panel/alert
expand               ``<details open>``: its content is part of the page
status               its title, as text
excerpt              its content (nothing when ``hidden``)
include,             the included page's body (or its first excerpt), rendered in place;
excerpt-include      a page that includes itself, directly or not, is included once; a page
                     whose includes (at any depth) exceed :data:`MAX_INCLUDES` pages or
                     :data:`MAX_INCLUDED_CHARS` of included bodies fails with
                     :class:`ExpansionTooLarge`: ten pages each including the next ten times
                     expand to 10^10 copies from a 1 KB zip
jira (one issue)     the issue key; Jira queries are dropped
widget, view-file,   a link to the URL or the attachment
img
toc, children, ...   dropped: they list what the site holds at view time (:data:`DYNAMIC`)
anything else        its rich-text body, else its plain-text body as code, else nothing
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from urllib.parse import unquote

from lxml import etree

from syncd.connectors.confluence.macros import code_language
from syncd.connectors.confluence.storage import (
    StorageError,
    StorageRenderer,
    ac,
    all_text,
    esc,
    first_child,
    parse_storage,
    ri,
    text_of,
)

MAX_INCLUDE_DEPTH = 8
#: Includes one page may expand, counted at every depth, and the text they may bring in.
MAX_INCLUDES = 200
MAX_INCLUDED_CHARS = 3 * 1024 * 1024


class ExpansionTooLarge(StorageError):
    """A page's includes expand past :data:`MAX_INCLUDES` or :data:`MAX_INCLUDED_CHARS`."""


URI_ENCODED = "--uriencoded--"
CODE = frozenset({"code", "paste-code-macro", "noformat", "plantuml", "mathblock", "sql-query"})
PANELS = {"info": "Info", "note": "Note", "tip": "Tip", "warning": "Warning"}
_ALERT_KINDS = {"success": "Success", "info": "Info", "warning": "Warning", "error": "Error"}
# Macros whose output Confluence computes when the page is viewed (lists of pages, labels,
# searches, reports) or that only decorate: there is nothing in the body to keep.
DYNAMIC = frozenset({
    "toc", "toc-zone-marker", "children", "pagetree", "pagetreesearch", "recently-updated",
    "recently-updated-dashboard", "livesearch", "search", "popular-labels", "related-labels",
    "listlabels", "labels", "contentbylabel", "content-report-table", "blog-posts",
    "attachments", "gallery", "profile", "profile-picture", "create-from-template",
    "create-space-button", "tasks-report-macro", "page-index", "navmap", "network", "spaces",
    "favpages", "index", "anchor", "detailssummary", "pagetree-search", "space-details",
    "contributors", "contributors-summary", "change-history", "recently-used-labels",
    "global-reports", "im", "roadmap", "chart", "loremipsum",
})  # fmt: skip
VIEW_FILE = frozenset({
    "view-file", "viewfile", "viewpdf", "viewxls", "viewdoc", "viewppt", "multimedia",
})  # fmt: skip


def parameters(macro: etree._Element) -> dict[str, etree._Element]:
    """A macro's parameters by name; the unnamed one (and ``ac:default-parameter``) is ``""``."""
    found: dict[str, etree._Element] = {}
    for child in macro:
        if child.tag == ac("parameter"):
            found.setdefault((child.get(ac("name")) or "").strip(), child)
        elif child.tag == ac("default-parameter"):
            found.setdefault("", child)
    return found


def _text(params: dict[str, etree._Element], *names: str) -> str:
    for name in names:
        element = params.get(name)
        if element is not None and text_of(element):
            return text_of(element)
    return ""


@dataclasses.dataclass(frozen=True, slots=True)
class Macro:
    """One macro's parts."""

    name: str
    params: dict[str, etree._Element]
    rich: etree._Element | None
    plain: etree._Element | None

    def text(self, *names: str) -> str:
        """The text of the first of these parameters that has one."""
        return _text(self.params, *names)


def _expand(renderer: StorageRenderer, macro: Macro) -> str:
    title = esc(macro.text("title", "")) or "Details"
    body = renderer.children(macro.rich) if macro.rich is not None else ""
    return f"<details open><summary>{title}</summary>{body}</details>"


def _excerpt(renderer: StorageRenderer, macro: Macro) -> str:
    if macro.text("hidden").lower() == "true" or macro.rich is None:
        return ""
    return renderer.children(macro.rich)


def _status(renderer: StorageRenderer, macro: Macro) -> str:
    return esc(macro.text("title", "") or macro.text("colour"))


def _jira(renderer: StorageRenderer, macro: Macro) -> str:
    return esc(macro.text("key"))  # a single issue; a JQL table is nothing without Jira


def _math(renderer: StorageRenderer, macro: Macro) -> str:
    formula = macro.text("body", "")
    if formula.startswith(URI_ENCODED):  # the math macros' way of storing "+" and friends
        formula = unquote(formula.removeprefix(URI_ENCODED))
    return f"<code>{esc(formula)}</code>"


def _dropped(renderer: StorageRenderer, macro: Macro) -> str:
    return ""


def _other(renderer: StorageRenderer, macro: Macro) -> str:
    if macro.rich is not None:
        return renderer.children(macro.rich)
    if macro.plain is not None and (macro.plain.text or "").strip():
        return f"<pre><code>{esc(macro.plain.text)}</code></pre>"
    renderer.state.dropped.add(macro.name or "(unnamed)")
    return ""


Handler = Callable[[StorageRenderer, Macro], str]


def _handlers() -> dict[str, Handler]:
    table: dict[str, Handler] = dict.fromkeys(CODE, _code)
    table.update(dict.fromkeys([*PANELS, "panel", "alert"], _panel))
    table.update(dict.fromkeys(["include", "excerpt-include"], _include))
    table.update(dict.fromkeys(["jira", "jiraissues"], _jira))
    table.update(dict.fromkeys(["widget", "img", *VIEW_FILE], _linked))
    table.update(dict.fromkeys(DYNAMIC, _dropped))
    table.update(expand=_expand, excerpt=_excerpt, status=_status, mathinline=_math)
    return table


def render_macro(renderer: StorageRenderer, element: etree._Element) -> str:
    """The HTML a macro stands for (see the module docstring)."""
    macro = Macro(
        name=(element.get(ac("name")) or "").strip().lower(),
        params=parameters(element),
        rich=first_child(element, ac("rich-text-body")),
        plain=first_child(element, ac("plain-text-body")),
    )
    return HANDLERS.get(macro.name, _other)(renderer, macro)


def _code(renderer: StorageRenderer, macro: Macro) -> str:
    name, params, plain, rich = macro.name, macro.params, macro.plain, macro.rich
    if plain is not None:
        text = plain.text or ""
    elif rich is not None:
        text = all_text(rich)
    else:
        text = _text(params, "body")
    language = None
    if name not in ("noformat", "mathblock"):
        language = _text(params, "language", "lang", "") or (
            "plantuml" if name == "plantuml" else ""
        )
    language = code_language(f"brush: {language}") if language else None
    css = f' class="language-{language}"' if language else ""
    title = _text(params, "title")
    heading = f"<p><strong>{esc(title)}</strong></p>" if title else ""
    return f"{heading}<pre><code{css}>{esc(text.strip(chr(10)))}</code></pre>"


def _panel(renderer: StorageRenderer, macro: Macro) -> str:
    name, params, rich = macro.name, macro.params, macro.rich
    title = _text(params, "title")
    if name == "alert":
        kind: str | None = _ALERT_KINDS.get(_text(params, "type").lower(), "Note")
    else:
        kind = PANELS.get(name)
    heading = f"{kind}: {title}" if kind and title else kind or title
    head = f"<p><strong>{esc(heading)}</strong></p>" if heading else ""
    body = renderer.children(rich) if rich is not None else ""
    return f"<blockquote>{head}{body}</blockquote>"


def _linked(renderer: StorageRenderer, macro: Macro) -> str:
    """widget, img and view-file: a link (or image) to the URL or attachment they name."""
    name, params = macro.name, macro.params
    for key in ("url", "src", "name", ""):
        param = params.get(key)
        resource = renderer.resource(param) if param is not None else None
        if resource is None:
            continue
        if resource.tag == ri("attachment"):
            href, label = renderer.attachment_url(resource), resource.get(ri("filename")) or ""
        else:
            href, label = renderer.resource_url(resource, None)
        if href is None:
            return esc(label)
        if name == "img":
            return f'<img src="{esc(href)}" alt="{esc(_text(params, "alt") or label)}"/>'
        return f'<p><a href="{esc(href)}">{esc(label or href)}</a></p>'
    return ""


def _include(renderer: StorageRenderer, macro: Macro) -> str:  # noqa: PLR0911 - each way an include can fail exits
    """The included page's body, or its first excerpt; nothing on a cycle or a missing page."""
    name = macro.name
    param = macro.params.get("")
    if param is None:
        param = macro.params.get("page")
    if param is None:
        return ""
    link = first_child(param, ac("link"))
    resource = renderer.resource(link if link is not None else param)
    target = renderer.page_target(resource) if resource is not None else None
    state = renderer.state
    if target is None:
        title = text_of(param) or (
            resource.get(ri("content-title")) if resource is not None else ""
        )
        state.notes.append(f"{name}: page {title!r} is not in the export")
        return ""
    chain = [renderer.ctx.page_id, *state.including]
    if target in chain or len(state.including) >= MAX_INCLUDE_DEPTH:
        state.notes.append(f"{name}: page {target} includes itself; included once")
        return ""
    state.includes += 1
    if state.includes > MAX_INCLUDES:
        raise ExpansionTooLarge(
            f"its includes expand more than {MAX_INCLUDES} pages; no reader needs that"
        )
    loaded = renderer.ctx.load(target)
    if loaded is None:
        return ""
    body, space_key = loaded
    state.included_chars += len(body)
    if state.included_chars > MAX_INCLUDED_CHARS:
        raise ExpansionTooLarge(
            f"its includes bring in more than {MAX_INCLUDED_CHARS // (1024 * 1024)} MiB of"
            " included pages"
        )
    inner = renderer.nested(renderer.ctx.for_page(target, space_key))
    state.including.append(renderer.ctx.page_id)
    try:
        tree = parse_storage(body)
    except StorageError as exc:
        state.including.pop()
        state.notes.append(f"{name}: page {target} cannot be read: {exc}")
        return ""
    try:
        if name == "include":
            return inner.children(tree)
        for found in tree.iter(ac("structured-macro"), ac("macro")):
            if (found.get(ac("name")) or "").lower() == "excerpt":
                rich = first_child(found, ac("rich-text-body"))
                return inner.children(rich) if rich is not None else ""
        return ""
    finally:
        state.including.pop()


HANDLERS = _handlers()
