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

from bs4 import BeautifulSoup, Tag
from bs4.element import Comment, NavigableString

from syncd.connectors.confluence.html import BLOCK_TAGS, TagIndex, keep_apart, text_of

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


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class")
    return value if isinstance(value, list) else ([value] if isinstance(value, str) else [])


def _children(tag: Tag, *names: str) -> list[Tag]:
    return [child for child in tag.children if isinstance(child, Tag) and child.name in names]


def _replace(tags: TagIndex, old: Tag, new: Tag) -> None:
    """Put ``new`` in place of ``old`` and destroy what is left of ``old``."""
    old.replace_with(new)
    tags.remove(old)  # so that no later pass finds its leftovers


def drop_chrome(main: Tag, tags: TagIndex) -> None:
    """Remove comments, scripts, styles, forms, the TOC and hidden widgets."""
    for node in list(main.descendants):
        if isinstance(node, Comment):
            node.extract()
    for tag in tags.named(*_DROPPED_TAGS) + tags.classed(*_DROPPED_CLASSES):
        if tags.alive(tag):
            tags.remove(tag)


def _blank(node: object) -> bool:
    """Whether a node shows nothing: whitespace, or an element with neither text nor media."""
    if isinstance(node, Tag):
        return not node.get_text().strip() and node.find(["img", "table", "pre"]) is None
    return not str(node).strip()


def _lone_heading(widget: Tag) -> Tag | None:
    """The heading just before ``widget`` when nothing else follows it in its section."""
    before = widget.previous_sibling
    while before is not None and _blank(before):
        before = before.previous_sibling
    if not isinstance(before, Tag) or before.name not in _HEADINGS:
        return None
    after = widget.next_sibling
    while after is not None and _blank(after):
        after = after.next_sibling
    if after is None or (isinstance(after, Tag) and after.name in _HEADINGS):
        return before
    return None


def drop_widgets(tags: TagIndex) -> None:
    """Remove dynamic widgets (activity feeds, contributor lists) and the heading above one."""
    found = tags.classed(*_WIDGET_CLASSES)
    found += [
        tag
        for tag in tags.named("div", "span", "table", "ul")
        if str(tag.get("data-macro-name") or "") in _WIDGET_MACROS
    ]
    for widget in found:
        if not tags.alive(widget):
            continue
        heading = _lone_heading(widget)
        tags.remove(widget)
        if heading is not None:
            tags.remove(heading)


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


def _code_block(soup: BeautifulSoup, text: str, language: str | None) -> Tag:
    pre = soup.new_tag("pre")
    code = soup.new_tag("code")
    if language:
        code["class"] = f"language-{language}"
    code.string = text
    pre.append(code)
    return pre


def convert_code(soup: BeautifulSoup, tags: TagIndex) -> None:
    """Code and noformat macros become ``<pre><code>``, keeping the language and the title."""
    for panel in tags.classed("code", "preformatted", name="div"):
        if not tags.alive(panel) or "panel" not in _classes(panel):
            continue
        pre = panel.find("pre")
        if not isinstance(pre, Tag):
            tags.remove(panel)
            continue
        params = str(pre.get("data-syntaxhighlighter-params") or " ".join(_classes(pre)))
        header = panel.find(class_=["codeHeader", "preformattedHeader"])
        block = _code_block(soup, pre.get_text(), code_language(params))
        if isinstance(header, Tag) and text_of(header):
            title = soup.new_tag("p")
            strong = soup.new_tag("strong")
            strong.string = text_of(header)
            title.append(strong)
            panel.insert_before(title)
        _replace(tags, panel, block)
    # Code blocks outside a panel (some exporters drop the wrapper).
    for pre in tags.named("pre"):
        params = str(pre.get("data-syntaxhighlighter-params") or " ".join(_classes(pre)))
        if "brush:" in params or "syntaxhighlighter-pre" in _classes(pre):
            _replace(tags, pre, _code_block(soup, pre.get_text(), code_language(params)))


def _blockquote(soup: BeautifulSoup, heading: str, body: Tag | None) -> Tag:
    quote = soup.new_tag("blockquote")
    head = soup.new_tag("p")
    strong = soup.new_tag("strong")
    strong.string = heading
    head.append(strong)
    quote.append(head)
    if body is not None:
        for child in list(body.contents):
            quote.append(child.extract())
    return quote


def convert_panels(soup: BeautifulSoup, tags: TagIndex) -> None:
    """Info, tip, note, warning and panel macros become blockquotes headed by kind and title."""
    for macro in tags.classed("confluence-information-macro", name="div"):
        kind = "Note"
        for name in _classes(macro):
            suffix = name.removeprefix("confluence-information-macro-")
            kind = _PANEL_KINDS.get(suffix, kind) if suffix != name else kind
        title = macro.find(class_="title")
        title_text = text_of(title) if isinstance(title, Tag) else ""
        body = macro.find(class_="confluence-information-macro-body")
        heading = f"{kind}: {title_text}" if title_text else kind
        _replace(tags, macro, _blockquote(soup, heading, body if isinstance(body, Tag) else None))
    for panel in tags.classed("panel", name="div"):
        if not tags.alive(panel):
            continue
        header = panel.find(class_="panelHeader")
        body = panel.find(class_="panelContent")
        heading = text_of(header) if isinstance(header, Tag) else ""
        if not heading:
            panel.unwrap()
            continue
        _replace(tags, panel, _blockquote(soup, heading, body if isinstance(body, Tag) else None))


def convert_expands(soup: BeautifulSoup, tags: TagIndex) -> None:
    """Expand macros become open ``<details>``: the hidden content is part of the page."""
    for container in tags.classed("expand-container", name="div"):
        control = container.find(class_="expand-control-text") or container.find(
            class_="expand-control"
        )
        content = container.find(class_="expand-content")
        details = soup.new_tag("details", attrs={"open": ""})
        summary = soup.new_tag("summary")
        summary.string = text_of(control) if isinstance(control, Tag) else "Details"
        details.append(summary)
        if isinstance(content, Tag):
            for child in list(content.contents):
                details.append(child.extract())
        _replace(tags, container, details)


def convert_task_lists(soup: BeautifulSoup, tags: TagIndex) -> None:
    """Inline task lists become items with a disabled checkbox, ticked when done."""
    for task_list in tags.classed("inline-task-list", name="ul"):
        for item in _children(task_list, "li"):
            box = soup.new_tag("input", attrs={"type": "checkbox", "disabled": ""})
            if "checked" in _classes(item):
                box["checked"] = ""
            item.insert(0, box)
            box.insert_after(NavigableString(" "))


def convert_emoticons(tags: TagIndex) -> None:
    """Emoticon images become their text, so the mood survives without the icon."""
    for image in tags.named("img"):
        src = str(image.get("src") or "")
        if "emoticon" not in _classes(image) and "/emoticons/" not in src:
            continue
        text = str(
            image.get("alt")
            or image.get("data-emoji-fallback")
            or image.get("data-emoticon-name")
            or ""
        )
        image.replace_with(NavigableString(text))


def convert_tables(soup: BeautifulSoup, tags: TagIndex) -> None:
    """Tables keep every cell; a leading row of header cells moves into ``<thead>``."""
    for colgroup in tags.named("colgroup"):
        tags.remove(colgroup)
    for table in tags.named("table"):
        if _children(table, "thead"):
            continue
        bodies = _children(table, "tbody")
        rows = _children(bodies[0] if bodies else table, "tr")
        if not rows:
            continue
        first = rows[0]
        cells = _children(first, "td", "th")
        if cells and all(cell.name == "th" for cell in cells):
            head = soup.new_tag("thead")
            head.append(first.extract())
            table.insert(0, head)


def unwrap_layouts(tags: TagIndex) -> None:
    """Page layouts, wrappers and sections give way to their content."""
    for tag in tags.classed(*_LAYOUT_CLASSES):
        if tag.name in BLOCK_TAGS:
            keep_apart(tag, block=True)  # text right in two cells must not become one word
        tag.unwrap()


def convert_macros(soup: BeautifulSoup, main: Tag) -> None:
    """Apply every macro rewrite, in the order that keeps their parts findable."""
    tags = TagIndex(main)
    drop_chrome(main, tags)
    drop_widgets(tags)
    convert_code(soup, tags)
    convert_panels(soup, tags)
    convert_expands(soup, tags)
    convert_task_lists(soup, tags)
    convert_emoticons(tags)
    convert_tables(soup, tags)
    unwrap_layouts(tags)
