"""Docsy's tabbed panes, turned into the Markdown a reader of the page would copy.

tab pane
    ``{{< tabpane >}}`` ... ``{{< /tabpane >}}`` around ``{{< tab header="hugo.yaml"
    lang="yaml" >}}`` ... ``{{< /tab >}}`` (either delimiter, ``<`` or ``%``). On the site each
    tab shows its content as highlighted code in its language, or as Markdown when the tab
    (or the pane) says ``text=true``. Here every tab becomes its header as a short bold
    label, then its content: a fenced code block in the tab's ``lang`` (else the pane's, else
    the header when the pane says ``langEqualsHeader=true``), or the Markdown itself for a
    text tab (and for a tab of no language holding one fenced block: that block). A
    ``disabled`` tab is only a caption (``Configuration file:``): its label stays.
    A tab's header may also be its first positional argument (``{{< tab "Go" >}}``).

The content keeps its own indentation, less what all its lines share, and the whole takes
the indentation of the line the pane opens on, so that a pane inside a list item stays in
it. Panes inside code (an example of the shortcode) are left alone.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import textwrap
from collections.abc import Callable

_PANE = re.compile(
    r"\{\{([<%])\s*tabpane\b(?P<args>(?:(?!\*/).)*?)\s*[>%]\}\}(?P<body>.*?)"
    r"\{\{[<%]\s*/\s*tabpane\s*[>%]\}\}",
    re.DOTALL,
)
_TAB = re.compile(
    r"\{\{[<%]\s*(?:(?P<close>/)\s*tab\s*|tab\b(?P<args>(?:(?!\*/).)*?)(?P<self>/)?\s*)[>%]\}\}",
    re.DOTALL,
)
_NAMED = r"""\b{}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'/>%]+))"""
_POSITIONAL = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=/>%]+))(?=\s|$)""")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+$")
_BACKTICKS = re.compile(r"`{3,}")
_FENCE = re.compile(r"^(`{3,}|~{3,})[^`]*$")


@dataclasses.dataclass(frozen=True, slots=True)
class _Tab:
    """One tab of a pane: its arguments and the text between its tags (None: self-closing)."""

    args: str
    content: str | None


@functools.cache
def _named(key: str) -> re.Pattern[str]:
    """The pattern of the argument ``key``, compiled once (each tab asks for several)."""
    return re.compile(_NAMED.format(re.escape(key)))


def _value(args: str, key: str) -> str | None:
    if key not in args:
        return None  # most keys asked for are absent: no need for the pattern
    found = _named(key).search(args)
    value = next((group for group in found.groups() if group is not None), None) if found else None
    return value.strip() if value is not None else None


def _flag(args: str, key: str) -> bool | None:
    value = _value(args, key)
    return None if value is None else value.lower() == "true"


def _header(args: str) -> str | None:
    header = _value(args, "header")
    if header is None and (positional := _POSITIONAL.match(args)):
        header = next(group for group in positional.groups() if group is not None)
    return header or None


def _tabs(body: str) -> list[_Tab]:
    tabs: list[_Tab] = []
    open_args: str | None = None
    start = 0
    for match in _TAB.finditer(body):
        if match["close"]:
            if open_args is not None:
                tabs.append(_Tab(open_args, body[start : match.start()]))
            open_args = None
        elif match["self"]:
            tabs.append(_Tab(match["args"] or "", None))
        else:
            open_args, start = match["args"] or "", match.end()
    return tabs


def _content(text: str) -> list[str]:
    """A tab's lines: blank lines around it dropped, the indentation they all share removed."""
    return textwrap.dedent(text.strip("\n")).rstrip().split("\n")


def _one_fenced_block(lines: list[str]) -> bool:
    """Whether ``lines`` are exactly one fenced code block, opening fence to closing fence."""
    opening = _FENCE.match(lines[0])
    if opening is None or len(lines) < 2:
        return False
    fence = opening[1]
    closing = [i for i, line in enumerate(lines[1:], 1) if line.strip().startswith(fence)]
    return closing == [len(lines) - 1] and lines[-1].strip() == fence[0] * len(lines[-1].strip())


def _label(header: str) -> str:
    plain = " ".join(header.replace("**", "").replace("__", "").split())
    return f"**{plain}**"


def _tab_lines(tab: _Tab, pane_args: str) -> list[str]:
    header = _header(tab.args)
    lines = [_label(header), ""] if header else []
    if tab.content is None or _flag(tab.args, "disabled"):
        return lines
    text = _flag(tab.args, "text")
    if text is None:
        text = bool(_flag(pane_args, "text"))
    content = _content(tab.content)
    language = _value(tab.args, "lang") or _value(pane_args, "lang")
    if language is None and header and _flag(pane_args, "langEqualsHeader"):
        language = header
    if text or (language is None and _one_fenced_block(content)):
        # A tab of no language holding just a fenced block means that block, not the fence.
        return [*lines, *content, ""]
    fence = "`" * max([3, *(len(run) + 1 for run in _BACKTICKS.findall(tab.content))])
    info = (language or "").strip().lower().replace(" ", "")
    return [*lines, f"{fence}{info}", *content, fence, ""]


def convert_tabpanes(text: str, in_code: Callable[[int], bool]) -> str:
    """``text`` with every tab pane outside code written as labels and code blocks.

    ``in_code(offset)`` says whether the character at ``offset`` is inside a code block.
    """
    if "tabpane" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        if in_code(match.start()):
            return match[0]
        line_start = text.rfind("\n", 0, match.start()) + 1
        prefix = text[line_start : match.start()]
        lines: list[str] = []
        for tab in _tabs(match["body"]):
            lines.extend(_tab_lines(tab, match["args"]))
        while lines and not lines[-1]:
            lines.pop()
        if not prefix.strip():
            # After a blank line, so the first label does not join a paragraph above.
            indent, lead = prefix, "\n" + prefix
        elif _LIST_MARKER.match(prefix):
            indent, lead = " " * len(prefix), ""
        else:  # the pane opens mid-paragraph: it starts a block of its own
            indent = prefix[: len(prefix) - len(prefix.lstrip())]
            lead = "\n\n" + indent
        body = ("\n" + indent).join(lines)
        # Blank lines in code keep no trailing indentation; cmark reads them the same way.
        body = re.sub(r"\n[ \t]+(?=\n)", "\n", body)
        return f"{lead}{body}\n"

    return _PANE.sub(replace, text)
