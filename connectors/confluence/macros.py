"""Rendered Confluence macros in an export, turned into plain HTML that keeps their meaning.

An export holds Confluence's *view* HTML: macros are already rendered into ``div``\\ s with
Atlassian classes and inline styles that mean nothing once the stylesheet is gone. Each
function here rewrites one kind in place, inside ``#main-content``:

code block          ``div.code.panel`` / ``pre.syntaxhighlighter-pre`` (language in the
                    ``brush:`` parameter) -> ``<pre><code class="language-x">``
noformat            ``div.preformatted.panel`` -> ``<pre><code>``
info/tip/note/      ``div.confluence-information-macro-*`` and ``div.panel`` -> a blockquote
warning, panel      opening with its kind and title in bold
expand              ``div.expand-container`` -> ``<details open>``, content kept
task list           ``ul.inline-task-list`` -> list items with a disabled checkbox
page layout         ``contentLayout2 / columnLayout / cell / innerCell`` (and the older section
                    and column macros) -> their content, unwrapped
table               ``div.table-wrap`` unwrapped; a leading row of ``th`` becomes ``thead``
emoticon            ``img.emoticon`` -> its text (``(smile)``, or the emoji)
table of contents   dropped: it only repeats the headings
dynamic widgets     recently-updated (the "Recent space activity" feed), contributors,
                    contributors-summary, change history, popular and recently used labels,
                    favourite pages: dropped, with a heading left with nothing under it;
                    they showed who changed what when the export was made, a stale feed of
                    links into the server that answers no question
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.etree import _Element as Element

from syncd.connectors.confluence.nodes import (
    BLOCK_TAGS,
    ClassIndex,
    alive,
    classes,
    detach,
    drop_tag,
    first_classed,
    has_descendant,
    keep_apart,
    move_content,
    new_element,
    remove,
    replace,
    replace_with_text,
    text_content,
    text_of,
)

_DROPPED_TAGS = [
    "script", "style", "noscript", "template", "link", "meta", "form", "iframe", "object",
    "embed", "button", "select", "textarea", "input", "label", "svg", "canvas",
]  # fmt: skip
# Chrome and interactive leftovers rendered into bodies: the TOC repeats the headings; the
# attachments macro renders an upload form; "hidden" parts are macro parameters and widgets.
_DROPPED_CLASSES = [
    "toc-macro", "client-side-toc-macro", "plugin_attachments_upload_container", "hidden",
    "aui-icon", "confluence-information-macro-icon", "expand-icon", "code-toolbar",
]  # fmt: skip
# Macros that render what the server knew when exporting, not what the author wrote.
_WIDGET_CLASSES = [
    "recently-updated", "recently-updated-social", "recently-updated-concise",
    "plugin-contributors", "contributors-summary", "plugin_contributors",
]  # fmt: skip
_WIDGET_MACROS = frozenset({
    "recently-updated", "recently-updated-dashboard", "recent-space-activity", "contributors",
    "contributors-summary", "space-contributors", "popular-labels", "related-labels",
    "change-history", "recently-used-labels", "favpages",
})  # fmt: skip
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LAYOUT_CLASSES = [
    "contentLayout2", "contentLayout", "columnLayout", "cell", "innerCell",
    "sectionColumnWrapper", "sectionMacro", "sectionMacroRow", "columnMacro", "table-wrap",
    "confluence-embedded-file-wrapper", "tablesorter-header-inner",
]  # fmt: skip
_PANEL_KINDS = {"information": "Info", "info": "Info", "tip": "Tip", "note": "Note"}
_PANEL_KINDS["warning"] = "Warning"
_BRUSH = re.compile(r"(?:^|;)\s*brush:\s*([^;\s]+)")
# Confluence's SyntaxHighlighter brush names, where they differ from the usual language names.
_BRUSH_LANGUAGES = {
    "js": "javascript", "py": "python", "yml": "yaml", "vb": "vbnet", "html/xml": "xml",
    "actionscript3": "actionscript", "bash": "bash", "shell": "bash", "c#": "csharp",
    "c++": "cpp", "jscript": "javascript", "ps": "powershell",
}  # fmt: skip
_PLAIN_BRUSHES = {"text", "plain", "none", "plaintext"}


def _children(element: Element, *names: str) -> list[Element]:
    return [child for child in element if child.tag in names]


def drop_chrome(main: Element, index: ClassIndex) -> None:
    """Remove comments, scripts, styles, forms, the TOC and hidden widgets."""
    etree.strip_elements(main, etree.Comment, with_tail=False)
    for element in [*main.iterdescendants(*_DROPPED_TAGS), *index.classed(*_DROPPED_CLASSES)]:
        if alive(element, main):
            remove(element)


def _blank(element: Element) -> bool:
    """Whether an element shows nothing: neither text nor media."""
    return not text_content(element).strip() and not has_descendant(element, "img", "table", "pre")


def _lone_heading(widget: Element) -> Element | None:
    """The heading just before ``widget`` when nothing else follows it in its section."""
    node = widget
    while True:
        before = node.getprevious()
        parent = node.getparent()
        gap = before.tail if before is not None else parent.text if parent is not None else None
        if (gap or "").strip() or before is None:
            return None  # words, or the start of the section, before the widget
        if not _blank(before):
            break
        node = before
    if before.tag not in _HEADINGS:
        return None
    node = widget
    while True:
        if (node.tail or "").strip():
            return None
        after = node.getnext()
        if after is None:
            return before
        if not _blank(after):
            return before if after.tag in _HEADINGS else None
        node = after


def drop_widgets(main: Element, index: ClassIndex) -> None:
    """Remove dynamic widgets (activity feeds, contributor lists) and the heading above one."""
    found = index.classed(*_WIDGET_CLASSES)
    found += [
        element
        for element in main.iterdescendants("div", "span", "table", "ul")
        if str(element.get("data-macro-name") or "") in _WIDGET_MACROS
    ]
    for widget in found:
        if not alive(widget, main):
            continue
        heading = _lone_heading(widget)
        remove(widget)
        if heading is not None:
            remove(heading)


def code_language(params: str) -> str | None:
    """The language of a code block from its SyntaxHighlighter parameters, if it names one."""
    match = _BRUSH.search(params)
    if match is None:
        return None
    brush = match[1].lower()
    if brush in _PLAIN_BRUSHES:
        return None
    language = _BRUSH_LANGUAGES.get(brush, brush)
    return re.sub(r"[^a-z0-9_+-]", "", language) or None


def _code_block(text: str, language: str | None) -> Element:
    pre = new_element("pre")
    code = new_element("code", text, **({"class": f"language-{language}"} if language else {}))
    pre.append(code)
    return pre


def _code_params(pre: Element) -> str:
    return str(pre.get("data-syntaxhighlighter-params") or " ".join(classes(pre)))


def convert_code(main: Element, index: ClassIndex) -> None:
    """Code and noformat macros become ``<pre><code>``, keeping the language and the title."""
    for panel in index.classed("code", "preformatted", tag="div"):
        if not alive(panel, main) or "panel" not in classes(panel):
            continue
        pre = next(panel.iterdescendants("pre"), None)
        if pre is None:
            remove(panel)
            continue
        params = _code_params(pre)
        header = first_classed(panel, "codeHeader", "preformattedHeader")
        block = _code_block(text_content(pre), code_language(params))
        if header is not None and text_of(header):
            title = new_element("p")
            title.append(new_element("strong", text_of(header)))
            panel.addprevious(title)
        replace(panel, block)
    # Code blocks outside a panel (some exporters drop the wrapper).
    for pre in list(main.iterdescendants("pre")):
        params = _code_params(pre)
        if "brush:" in params or "syntaxhighlighter-pre" in classes(pre):
            replace(pre, _code_block(text_content(pre), code_language(params)))


def _blockquote(heading: str, body: Element | None) -> Element:
    quote = new_element("blockquote")
    head = new_element("p")
    head.append(new_element("strong", heading))
    quote.append(head)
    if body is not None:
        move_content(body, quote)
    return quote


def convert_panels(main: Element, index: ClassIndex) -> None:
    """Info, tip, note, warning and panel macros become blockquotes headed by kind and title."""
    for macro in index.classed("confluence-information-macro", tag="div"):
        if not alive(macro, main):
            continue
        kind = "Note"
        for name in classes(macro):
            suffix = name.removeprefix("confluence-information-macro-")
            kind = _PANEL_KINDS.get(suffix, kind) if suffix != name else kind
        title = first_classed(macro, "title")
        title_text = text_of(title) if title is not None else ""
        body = first_classed(macro, "confluence-information-macro-body")
        heading = f"{kind}: {title_text}" if title_text else kind
        replace(macro, _blockquote(heading, body))
    for panel in index.classed("panel", tag="div"):
        if not alive(panel, main):
            continue
        header = first_classed(panel, "panelHeader")
        heading = text_of(header) if header is not None else ""
        if not heading:
            drop_tag(panel)
            continue
        replace(panel, _blockquote(heading, first_classed(panel, "panelContent")))


def convert_expands(main: Element, index: ClassIndex) -> None:
    """Expand macros become open ``<details>``: the hidden content is part of the page."""
    for container in index.classed("expand-container", tag="div"):
        if not alive(container, main):
            continue
        control = first_classed(container, "expand-control-text")
        if control is None:
            control = first_classed(container, "expand-control")
        content = first_classed(container, "expand-content")
        details = new_element("details", open="")
        details.append(
            new_element("summary", text_of(control) if control is not None else "Details")
        )
        if content is not None:
            move_content(content, details)
        replace(container, details)


def convert_task_lists(main: Element, index: ClassIndex) -> None:
    """Inline task lists become items with a disabled checkbox, ticked when done."""
    for task_list in index.classed("inline-task-list", tag="ul"):
        if not alive(task_list, main):
            continue
        for item in _children(task_list, "li"):
            box = new_element("input", type="checkbox", disabled="")
            if "checked" in classes(item):
                box.set("checked", "")
            box.tail = " " + (item.text or "")
            item.text = None
            item.insert(0, box)


def convert_emoticons(main: Element) -> None:
    """Emoticon images become their text, so the mood survives without the icon."""
    for image in list(main.iterdescendants("img")):
        src = str(image.get("src") or "")
        if "emoticon" not in classes(image) and "/emoticons/" not in src:
            continue
        text = str(
            image.get("alt")
            or image.get("data-emoji-fallback")
            or image.get("data-emoticon-name")
            or ""
        )
        replace_with_text(image, text)


def convert_tables(main: Element) -> None:
    """Tables keep every cell; a leading row of header cells moves into ``<thead>``."""
    for colgroup in list(main.iterdescendants("colgroup")):
        remove(colgroup)
    for table in list(main.iterdescendants("table")):
        if _children(table, "thead"):
            continue
        bodies = _children(table, "tbody")
        rows = _children(bodies[0] if bodies else table, "tr")
        if not rows:
            continue
        first = rows[0]
        cells = _children(first, "td", "th")
        if cells and all(cell.tag == "th" for cell in cells):
            head = new_element("thead")
            head.append(detach(first))
            table.insert(0, head)


def unwrap_layouts(main: Element, index: ClassIndex) -> None:
    """Page layouts, wrappers and sections give way to their content."""
    for element in index.classed(*_LAYOUT_CLASSES):
        if not alive(element, main):
            continue
        if element.tag in BLOCK_TAGS:
            keep_apart(element, block=True)  # text right in two cells must not become one word
        drop_tag(element)


def convert_macros(main: Element) -> None:
    """Apply every macro rewrite, in the order that keeps their parts findable."""
    index = ClassIndex(main)
    drop_chrome(main, index)
    drop_widgets(main, index)
    convert_code(main, index)
    convert_panels(main, index)
    convert_expands(main, index)
    convert_task_lists(main, index)
    convert_emoticons(main)
    convert_tables(main)
    unwrap_layouts(main, index)
