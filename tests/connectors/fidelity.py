"""Content fidelity of published pages, measured against an extraction made without our code.

For each page of a real tree or export, the *expected* content is read straight from the
source by other tools than the connectors use: Markdown with markdown-it-py (not cmark-gfm),
Confluence HTML with lxml (not BeautifulSoup), each with the few rules of the site generator
written out again here. The *published* content is the body the connector produced. Per page:

word recall
    The share of the expected main-content words (``\\w+`` runs, case folded, counted with
    their repeats) found in the published body.
tables
    Every table, row by row, cell texts with whitespace collapsed: equal lists.
code blocks
    Every code block's text (lines without trailing blanks): equal multisets, so the count
    and the content, template expressions included, are the same.
leaks
    Chrome (page metadata, footer, attachments list), template syntax left in prose, URLs
    that are not absolute, and links into the source server's own screens.

Helpers only; the tests are in ``test_fidelity_real.py`` and the figures come from
``python -m bench.fidelity``.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import textwrap
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
from markdown_it import MarkdownIt

from syncd.connectors.base import Document, DocumentExcluded, DocumentRef, SourceInfo
from syncd.connectors.confluence.connector import (
    ConfluenceExportConnector,
    ConfluenceExportOptions,
)
from syncd.connectors.markdown.connector import MarkdownConnector, MarkdownOptions

SITE = "https://wiki.example.com"
DOCS = "https://www.example.org/docs"
MARKDOWN_TREES = ("markdown-hugo-docsy", "markdown-docusaurus-frontmatter")
CODING = "confluence-html-coding-cli-2021"
CONFLUENCE_EXPORTS = (
    f"{CODING}/space1",
    f"{CODING}/Confluence-space-export-231543-81.html.zip",
    "confluence-html-meridius-2016",
    f"{CODING}/*-demo.html",  # single exported pages, read as one export
)

_WORD = re.compile(r"\w+")
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl",
    "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul",
})  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class Content:
    """What a reader gets from one page: its words, tables and code blocks."""

    words: Counter[str]
    tables: list[list[list[str]]]
    code: Counter[str]


@dataclasses.dataclass(slots=True)
class PageResult:
    """The measurements of one page."""

    corpus: str
    page: str
    recall: float
    expected_words: int
    tables: tuple[int, int]  # (expected, equal)
    code: tuple[int, int]  # (expected, published)
    code_equal: bool
    tables_equal: bool
    leaks: list[str]


# -- reading HTML the way a reader sees it ---------------------------------------------------


def _text(element: Any) -> str:
    """The text of an element with every block edge a line break (so cells never join)."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        block = isinstance(node.tag, str) and node.tag in _BLOCKS
        if block:
            parts.append("\n")
        if isinstance(node.tag, str) and node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if block:
            parts.append("\n")

    walk(element)
    return "".join(parts)


def _cells(text: str) -> str:
    return " ".join(text.split())


def _code_text(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip("\n")


def content_of(root: Any) -> Content:
    """The words, tables and code blocks under an lxml element."""
    for dropped in root.xpath(".//script|.//style|.//noscript|.//template"):
        dropped.drop_tree()
    tables = [
        [[_cells(_text(cell)) for cell in row.xpath("./td|./th")] for row in table.xpath(".//tr")]
        for table in root.xpath(".//table")
    ]
    code = Counter(_code_text(pre.text_content()) for pre in root.xpath(".//pre"))
    return Content(Counter(_WORD.findall(_text(root).lower())), tables, code)


def published_content(document: Document) -> Content:
    """The content of a published body."""
    return content_of(lxml.html.fragment_fromstring(document.body, create_parent="div"))


# -- Markdown: markdown-it-py plus the site generators' rules ---------------------------------

_MARKDOWN_IT = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_FRONT_MATTER = re.compile(
    r"\A(?:---\n.*?\n(?:---|\.\.\.)|\+\+\+\n.*?\n\+\+\+)[ \t]*(?:\n|\Z)", re.S
)
_ESCAPED = re.compile(r"\{\{([<%])\s*/\*(.*?)\*/\s*([>%])\}\}", re.S)
_SHORTCODE = re.compile(r"\{\{[<%].*?[>%]\}\}", re.S)
_LIQUID = re.compile(r"\{%.*?%\}", re.S)
_ACTION = re.compile(r"\{\{.*?\}\}", re.S)
_COMMENT_PAIR = re.compile(r"\{\{[<%]\s*comment\s*[>%]\}\}.*?\{\{[<%]\s*/comment\s*[>%]\}\}", re.S)
_INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_HEADING_ID = re.compile(r"^(\s{0,3}#.*?)\s*\{[#.][^}]*\}\s*$", re.M)
_PANE = re.compile(r"\{\{[<%]\s*tabpane\b(.*?)[>%]\}\}(.*?)\{\{[<%]\s*/\s*tabpane\s*[>%]\}\}", re.S)
_TAB = re.compile(r"\{\{[<%]\s*(/)?\s*tab\b(.*?)(/)?\s*[>%]\}\}", re.S)


def _in_code(text: str) -> str:
    """Hugo in code: shortcodes run (we cannot: dropped), escaped ones print, ``{{ }}`` stays."""
    marks: list[str] = []

    def keep(match: re.Match[str]) -> str:
        marks.append("{{" + match[1] + match[2] + match[3] + "}}")
        return f"\x00{len(marks) - 1}\x00"

    text = _SHORTCODE.sub("", _ESCAPED.sub(keep, text))
    text = _LIQUID.sub("", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: marks[int(m[1])], text)


_PROSE_TOKEN = re.compile(
    r"(?P<tag>\{\{[<%].*?[>%]\}\})|(?P<code>(`+)(?!`).+?(?<!`)(?P=_ticks)(?!`))".replace(
        "(`+)", "(?P<_ticks>`+)"
    ),
    re.S,
)


def _in_prose(text: str) -> str:
    """Every template tag goes from prose; inline code spans follow the rules of code.

    Hugo reads a shortcode before any Markdown, so one starting before a code span wins.
    """
    out, last = [], 0
    for token in _PROSE_TOKEN.finditer(text):
        out.append(_ACTION.sub("", _LIQUID.sub("", text[last : token.start()])))
        out.append("" if token["tag"] else _in_code(token[0]))
        last = token.end()
    out.append(_ACTION.sub("", _LIQUID.sub("", text[last:])))
    return "".join(out)


_FOOTNOTE_DEFINITION = re.compile(r"^[ \t]*\[\^([^\]\s]+)\]:[ \t]?", re.M)
_FOOTNOTE_REFERENCE = re.compile(r"\[\^([^\]\s]+)\](?!:)")


def _footnotes(text: str) -> str:
    """GFM footnotes as a reader sees them: references numbered in order, definitions' text.

    A definition's label goes, and its lines indented four more than the label come back to
    the label's indentation, as the footnote's paragraphs.
    """
    defined = set(_FOOTNOTE_DEFINITION.findall(text))
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        if match[1] not in defined:
            return match[0]
        return str(numbers.setdefault(match[1], len(numbers) + 1))

    lines: list[str] = []
    inside: int | None = None  # the indentation of the definition being read
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        if _FOOTNOTE_DEFINITION.match(line):
            inside = indent
            lines.append(_FOOTNOTE_DEFINITION.sub(" " * indent, line))
        elif inside is not None and line.strip() and indent >= inside + 4:
            lines.append(line[4:])
        else:
            inside = inside if not line.strip() else None
            lines.append(line)
    return _FOOTNOTE_REFERENCE.sub(number, "\n".join(lines))


def _flag(args: str, key: str) -> bool:
    return re.search(rf"\b{key}\s*=\s*\"?true\b", args) is not None


def _tab_block(pane_args: str, args: str, inner: str) -> str | None:
    """The code block a Docsy tab shows, or None when it shows Markdown or nothing."""
    text_tab = _flag(args, "text") or (
        _flag(pane_args, "text") and not re.search(r"\btext\s*=\s*false", args)
    )
    has_lang = re.search(r"\blang\s*=", args + pane_args) or _flag(pane_args, "langEqualsHeader")
    body = textwrap.dedent(inner.strip("\n")).rstrip()
    one_fence = re.fullmatch(r"(`{3,}|~{3,})[^\n]*\n.*\n\1[`~]*", body, re.S)
    if text_tab or _flag(args, "disabled") or (one_fence and not has_lang):
        return None
    return _code_text(_in_code(body))


def _code_tabs(text: str, code_lines: set[int]) -> tuple[list[str], set[int]]:
    """Docsy tab panes: the code block each code tab shows, and the lines those tabs hold."""
    blocks: list[str] = []
    covered: set[int] = set()
    for pane in _PANE.finditer(text):
        if text.count("\n", 0, pane.start()) in code_lines:
            continue
        opened: re.Match[str] | None = None
        for tab in _TAB.finditer(pane[2]):
            if not tab[1]:
                opened = None if tab[3] else tab
                continue
            if opened is not None:
                inner = pane[2][opened.end() : tab.start()]
                block = _tab_block(pane[1], opened[2], inner)
                if block is not None:
                    blocks.append(block)
                    first = text.count("\n", 0, pane.start(2) + opened.end())
                    covered.update(range(first, first + inner.count("\n") + 1))
            opened = None
    return blocks, covered


def expected_markdown(path: Path) -> Content:
    """The content a reader of the built site sees on the page of one Markdown file."""
    text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    text = _FRONT_MATTER.sub("", text, count=1)
    text = _COMMENT_PAIR.sub("", text)
    tokens = _MARKDOWN_IT.parse(text)
    code_lines = {
        line
        for token in tokens
        if token.type in ("fence", "code_block") and token.map
        for line in range(*token.map)
    }
    tab_blocks, tab_lines = _code_tabs(text, code_lines)
    code = Counter(tab_blocks)
    for token in tokens:
        if token.type in ("fence", "code_block") and token.map and token.map[0] not in tab_lines:
            code[_code_text(_in_code(token.content))] += 1
    # Prose lines lose their template tags; code lines keep what code keeps.
    lines = text.split("\n")
    pieces: list[str] = []
    run: list[str] = []
    for number, line in enumerate(lines):
        if number in code_lines:
            if run:
                pieces.append(_in_prose("\n".join(run)))
            run = []
            pieces.append(_in_code(line))
        else:
            run.append(line)
    pieces.append(_in_prose("\n".join(run)))
    prepared = _footnotes(_HEADING_ID.sub(r"\1", "\n".join(pieces)))
    html = _MARKDOWN_IT.render(prepared)
    rendered = content_of(lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div"))
    return Content(rendered.words, rendered.tables, code)


def markdown_pages(root: Path) -> Iterator[tuple[str, Document]]:
    """Every page the connector publishes from a tree: (path, document)."""
    connector = MarkdownConnector(
        MarkdownOptions(path=root), source=SourceInfo(name="docs", url=f"{DOCS}/")
    )
    for ref in connector.list():
        try:
            yield ref.id, connector.fetch(ref)
        except DocumentExcluded:
            continue


# -- Confluence HTML: lxml over #main-content -------------------------------------------------

# Activity feeds, contributor lists, the attachments macro's upload form, the TOC, hidden
# macro parameters: what the server drew at export time, not what the author wrote.
_WIDGETS = (
    "recently-updated",
    "plugin-contributors",
    "plugin_attachments_upload_container",
    "toc-macro",
    "hidden",
)
_HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _blank(node: Any) -> bool:
    return not node.text_content().strip() and not node.xpath(".//img|.//table|.//pre")


def _drop_widget(widget: Any) -> None:
    """Drop a widget, and the heading just above it when nothing else is under that heading."""
    before = widget.getprevious()
    while before is not None and _blank(before) and before.tag not in _HEADING_TAGS:
        before = before.getprevious()
    after = widget.getnext()
    while after is not None and _blank(after):
        after = after.getnext()
    lone = (after is None and not (widget.tail or "").strip()) or (
        after is not None and after.tag in _HEADING_TAGS
    )
    if before is not None and before.tag in _HEADING_TAGS and lone:
        before.drop_tree()
    widget.drop_tree()


_PAGE_ID = re.compile(r"(?:^|_)(\d+)\.html$")


def expected_confluence(page_html: bytes) -> Content:
    """The content of a page's ``#main-content``, without dynamic widgets and the TOC."""
    tree = lxml.html.document_fromstring(page_html.decode("utf-8", errors="replace"))
    main = tree.xpath('//*[@id="main-content"]')[0]
    for name in _WIDGETS:
        for widget in main.xpath(f'.//*[contains(concat(" ", @class, " "), " {name} ")]'):
            if widget.getparent() is not None:
                _drop_widget(widget)
    # A file embedded with the view-file macro shows as a card of its own.
    for card in main.xpath('.//*[contains(@class, "confluence-embedded-file")]'):
        card.tail = " " + (card.tail or "")
    return content_of(main)


def confluence_export(fixtures: Path, name: str, scratch: Path) -> tuple[Path, dict[str, bytes]]:
    """The export to read for a corpus name, and each page's HTML by page id, read with zipfile."""
    if name.endswith("*-demo.html"):
        folder = scratch / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        for number, source in enumerate(sorted((fixtures / CODING).glob("*-demo.html")), 9001):
            shutil.copyfile(source, folder / f"{source.stem}_{number}.html")
        path = folder
    else:
        path = fixtures / name
    pages: dict[str, bytes] = {}
    if path.is_dir():
        for file in path.iterdir():
            if match := _PAGE_ID.search(file.name):
                pages[match[1]] = file.read_bytes()
    else:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.count("/") == 1 and (match := _PAGE_ID.search(member.rsplit("/", 1)[1])):
                    pages[match[1]] = archive.read(member)
    return path, pages


def confluence_pages(path: Path) -> Iterator[tuple[str, Document]]:
    """Every page the connector publishes from an export: (page id, document)."""
    connector = ConfluenceExportConnector(
        ConfluenceExportOptions(path=path), source=SourceInfo(name="wiki", url=SITE)
    )
    try:
        for ref in connector.list():
            try:
                yield ref.id, connector.fetch(DocumentRef(id=ref.id, version=ref.version))
            except DocumentExcluded:  # an empty or restricted page publishes nothing
                continue
    finally:
        connector.close()


# -- leaks ---------------------------------------------------------------------------------------

CHROME = ("Document generated by", "Created by", "last modified", "Attachments:", "Space Details")
_SERVER_SCREEN = re.compile(
    r"/(?:display/~|people/|users/|plugins/|rest/|s/|download/(?:resources|thumbnails|temp)/"
    r"|images/icons/)|(?<!viewpage)\.action\b"
)
_PROSE_TEMPLATE = ("{{<", "{{%", "{%", "{{&lt;")


def leaks(document: Document, *, markdown: bool) -> list[str]:
    """What in a published body should not be there."""
    found: list[str] = []
    root = lxml.html.fragment_fromstring(document.body, create_parent="div")
    for pre in root.xpath(".//pre|.//code"):
        pre.drop_tree()
    prose = _text(root)
    found += [f"chrome {chrome!r}" for chrome in CHROME if not markdown and chrome in prose]
    found += [f"template {syntax!r}" for syntax in _PROSE_TEMPLATE if markdown and syntax in prose]
    full = lxml.html.fragment_fromstring(document.body, create_parent="div")
    for url in full.xpath(".//@href|.//@src"):
        if not str(url).startswith(("https://", "http://", "mailto:")):
            found.append(f"relative URL {url!r}")
        elif _SERVER_SCREEN.search(str(url).split("?", 1)[0]):
            found.append(f"server link {url!r}")
    return found


def measure(
    corpus: str, page: str, expected: Content, document: Document, *, markdown: bool
) -> PageResult:
    """Compare one published page with what its source shows."""
    published = published_content(document)
    total = sum(expected.words.values())
    kept = sum((expected.words & published.words).values())
    equal_tables = sum(
        1 for table, other in zip(expected.tables, published.tables, strict=False) if table == other
    )
    return PageResult(
        corpus=corpus,
        page=page,
        recall=kept / total if total else 1.0,
        expected_words=total,
        tables=(len(expected.tables), equal_tables),
        code=(sum(expected.code.values()), sum(published.code.values())),
        code_equal=expected.code == published.code,
        tables_equal=expected.tables == published.tables,
        leaks=leaks(document, markdown=markdown),
    )


def measure_all(fixtures: Path, scratch: Path) -> list[PageResult]:
    """Every page of every real fixture, measured."""
    results: list[PageResult] = []
    for tree in MARKDOWN_TREES:
        root = fixtures / tree
        for ref_id, document in markdown_pages(root):
            expected = expected_markdown(root / ref_id)
            results.append(measure(tree, ref_id, expected, document, markdown=True))
    for name in CONFLUENCE_EXPORTS:
        path, sources = confluence_export(fixtures, name, scratch)
        for page_id, document in confluence_pages(path):
            expected = expected_confluence(sources[page_id])
            results.append(measure(name, page_id, expected, document, markdown=False))
    return results
