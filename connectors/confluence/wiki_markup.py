"""Confluence 3 wiki markup (``bodyType`` 0) as readable HTML: the common subset only.

Confluence 4 converted current pages to the storage format, so wiki markup is what very old
exports (and upgraded sites' old spaces) still hold. A faithful converter is a project of its
own; this one keeps what carries the text, so no page is ever published as raw markup:

headings        ``h1.`` to ``h6.``; ``bq.`` quotes; ``----`` rules
lists           ``*``, ``-`` and ``#`` items, nested by repeating the marker
tables          ``||header||`` and ``|cell|`` rows
blocks          ``{code}``/``{noformat}`` as code; ``{quote}``, ``{panel}``, ``{info}``,
                ``{note}``, ``{tip}``, ``{warning}`` as blockquotes
inline          ``*bold*``, ``_italic_``, ``{{monospace}}``, ``[text|http://...]`` links,
                ``\\\\`` line breaks
other macros    (``{toc}``, ``{pagetree}``, ``{section}``, ``{column}``...) dropped, their
                content kept
"""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"^h([1-6])\.\s+(.*)$")
_LIST = re.compile(r"^([*#-]+)\s+(.*)$")
_CODE_OPEN = re.compile(r"^\{(code|noformat)(?::([^}]*))?\}(.*)$")
_BLOCK = re.compile(r"^\{(quote|panel|info|note|tip|warning)(?::[^}]*)?\}$")
_MACRO = re.compile(r"\{[a-zA-Z][\w-]*(?::[^}]*)?\}")
_LINK = re.compile(r"\[([^\[\]|]*?)\|?([^\[\]|]*)\]")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_MONO = re.compile(r"\{\{(.+?)\}\}")
_IMAGE = re.compile(r"!([^!\s|]+)(?:\|[^!]*)?!")
_CELL = re.compile(r"((?:\[[^\]]*\]|[^|\[])+|(?<=\|)(?=\|))")
_KINDS = {"info": "Info", "note": "Note", "tip": "Tip", "warning": "Warning"}


def _link(match: re.Match[str], base_url: str) -> str:
    text, target = match[1], match[2]
    if not target:
        text, target = "", text
    target = target.strip()
    if re.match(r"^(https?://|mailto:)", target):
        return f'<a href="{target}">{text or target}</a>'
    return text or target.lstrip("^#")  # a page or attachment by name: its name


def inline(text: str, base_url: str) -> str:
    """Inline markup of one line as HTML (the line is escaped first)."""
    out = html.escape(text, quote=False)
    out = _MONO.sub(lambda m: f"<code>{m[1]}</code>", out)
    out = _IMAGE.sub("", out)
    out = _LINK.sub(lambda m: _link(m, base_url), out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _ITALIC.sub(r"<em>\1</em>", out)
    out = _MACRO.sub("", out)
    return out.replace("\\\\", "<br/>")


class _Writer:
    """Accumulates blocks: open paragraph, list stack, table."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.out: list[str] = []
        self.paragraph: list[str] = []
        self.lists: list[str] = []
        self.table: list[str] = []
        self.blocks: list[str] = []  # open {quote}/{panel}/... blocks, innermost last

    def flush(self) -> None:
        if self.paragraph:
            self.out.append(f"<p>{'<br/>'.join(self.paragraph)}</p>")
            self.paragraph = []
        while self.lists:
            self.out.append(f"</li></{self.lists.pop()}>")
        if self.table:
            self.out.append(f"<table><tbody>{''.join(self.table)}</tbody></table>")
            self.table = []

    def item(self, markers: str, text: str) -> None:
        if self.paragraph or self.table:
            lists, self.lists = self.lists, []
            self.flush()
            self.lists = lists
        depth = len(markers)
        kind = "ol" if markers[-1] == "#" else "ul"
        while len(self.lists) > depth or (len(self.lists) == depth and self.lists[-1] != kind):
            self.out.append(f"</li></{self.lists.pop()}>")
        if len(self.lists) == depth:
            self.out.append("</li>")
        while len(self.lists) < depth:
            self.out.append(f"<{kind}>")
            self.lists.append(kind)
        self.out.append(f"<li>{inline(text, self.base_url)}")

    def row(self, line: str) -> None:
        if not self.table:
            self.flush()
        header = line.startswith("||")
        # A cell ends at | or ||, but not inside a [text|url] link.
        cells = _CELL.findall(line.strip().replace("||", "|").strip("|"))
        tag = "th" if header else "td"
        self.table.append(
            "<tr>"
            + "".join(f"<{tag}>{inline(c.strip(), self.base_url)}</{tag}>" for c in cells)
            + "</tr>"
        )


def _code_block(writer: _Writer, lines: list[str], position: int, code: re.Match[str]) -> int:
    """Write a ``{code}``/``{noformat}`` block opened by ``code``; the line after it."""
    writer.flush()
    end = "{" + code[1] + "}"
    body: list[str] = [code[3]] if code[3] else []
    while position < len(lines) and end not in lines[position]:
        body.append(lines[position])
        position += 1
    if position < len(lines):
        body.append(lines[position].split(end, 1)[0])
        position += 1
    text = html.escape("\n".join(body).strip("\n"))
    writer.out.append(f"<pre><code>{text}</code></pre>")
    return position


def _block(writer: _Writer, kind: str) -> None:
    """Open or close a ``{quote}``-like block (the same tag does both)."""
    writer.flush()
    if kind in writer.blocks:
        writer.blocks.remove(kind)
        writer.out.append("</blockquote>")
    else:
        label = _KINDS.get(kind)
        head = f"<p><strong>{label}</strong></p>" if label else ""
        writer.out.append(f"<blockquote>{head}")
        writer.blocks.append(kind)


def _line(writer: _Writer, line: str) -> None:
    """Write one ordinary line: heading, quote, rule, list item, table row or text."""
    heading = _HEADING.match(line)
    listed = _LIST.match(line)
    if heading:
        writer.flush()
        level = heading[1]
        writer.out.append(f"<h{level}>{inline(heading[2], writer.base_url)}</h{level}>")
    elif line.startswith("bq. "):
        writer.flush()
        writer.out.append(f"<blockquote><p>{inline(line[4:], writer.base_url)}</p></blockquote>")
    elif line == "----":
        writer.flush()
        writer.out.append("<hr/>")
    elif listed and not (set(listed[1]) == {"-"} and len(listed[1]) > 1):
        writer.item(listed[1], listed[2])
    elif line.startswith("|"):
        writer.row(line)
    elif _MACRO.fullmatch(line):
        writer.flush()  # a macro alone on its line: layout or a dynamic list
    else:
        if writer.lists or writer.table:
            writer.flush()
        writer.paragraph.append(inline(line, writer.base_url))


def wiki_to_html(markup: str, *, base_url: str) -> str:
    """The HTML of a wiki-markup body (see the module docstring)."""
    writer = _Writer(base_url)
    lines = markup.replace("\r\n", "\n").split("\n")
    position = 0
    while position < len(lines):
        line = lines[position].strip()
        position += 1
        code = _CODE_OPEN.match(line)
        block = _BLOCK.match(line)
        if code:
            position = _code_block(writer, lines, position, code)
        elif block:
            _block(writer, block[1])
        elif not line:
            writer.flush()
        else:
            _line(writer, line)
    writer.flush()
    writer.out.extend("</blockquote>" for _ in writer.blocks)
    return "".join(writer.out)
