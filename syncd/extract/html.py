"""Building a clean HTML body from extracted text: escaped, bounded, without stray characters.

Extractors add headings, paragraphs, lists, tables and sections; the builder escapes the
text, drops control characters (except tab and newline), U+FFFD replacement marks and
noncharacters, collapses runs of white space, leaves out what is empty, and stops with
:class:`~syncd.extract.errors.ExtractionFailed` once the body passes its size limit, so a
10,000-page PDF or a million-row sheet costs at most that much memory.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from syncd.extract.errors import ExtractionFailed

# C0 and C1 controls but tab/newline, U+FFFD, the BOM, private-use and noncharacters.
_UNWANTED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffd\ufffe\uffff\ue000-\uf8ff\ud800-\udfff]"
)
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """``text`` without unwanted characters, its white space collapsed to single spaces."""
    return _SPACES.sub(" ", _UNWANTED.sub("", text)).strip()


class Body:
    """An HTML body under construction, at most ``max_chars`` long."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._parts: list[str] = []
        self._size = 0
        self.text_chars = 0  # characters of text, markup not counted: 0 means no text
        # Open sections: (parts, size, text_chars) before it, and text_chars after its title.
        self._sections: list[tuple[int, int, int, int]] = []

    def _check(self, more: int) -> None:
        if self._size + more > self.max_chars:
            raise ExtractionFailed(
                f"has more text than a page may hold (over {self.max_chars // 1000} thousand"
                " characters of HTML)"
            )

    def _add(self, markup: str, text_chars: int = 0) -> None:
        self._check(len(markup))
        self._size += len(markup)
        self._parts.append(markup)
        self.text_chars += text_chars

    def heading(self, level: int, text: str) -> None:
        """An ``<hN>`` heading, if ``text`` has any."""
        if text := clean(text):
            self._add(f"<h{level}>{html.escape(text)}</h{level}>", len(text))

    def paragraph(self, text: str) -> None:
        """A ``<p>``, if ``text`` has any."""
        if text := clean(text):
            self._add(f"<p>{html.escape(text)}</p>", len(text))

    def items(self, texts: Iterable[str], *, ordered: bool = False) -> None:
        """A list of the non-empty ``texts``."""
        tag = "ol" if ordered else "ul"
        cleaned = [text for text in map(clean, texts) if text]
        if cleaned:
            inner = "".join(f"<li>{html.escape(text)}</li>" for text in cleaned)
            self._add(f"<{tag}>{inner}</{tag}>", sum(map(len, cleaned)))

    def table(self, rows: Iterable[Sequence[str]], *, header: bool = True) -> None:
        """A table of ``rows`` (the first one its header), without empty rows or columns."""
        kept: list[list[str]] = []
        for row in rows:
            cells = [clean(cell) for cell in row]
            if any(cells):
                kept.append(cells)
                # Count as it grows: a sheet of a million rows fails here, not at the end.
                self._check(sum(map(len, cells)))
        if not kept:
            return
        width = max(len(row) for row in kept)
        used = [i for i in range(width) if any(i < len(row) and row[i] for row in kept)]
        lines = ["<table>"]
        for number, row in enumerate(kept):
            cell = "th" if header and number == 0 and len(kept) > 1 else "td"
            values = (row[i] if i < len(row) else "" for i in used)
            lines.append("<tr>" + "".join(f"<{cell}>{html.escape(v)}</{cell}>" for v in values))
            lines.append("</tr>")
        lines.append("</table>")
        self._add("".join(lines), sum(len(cell) for row in kept for cell in row))

    def raw(self, markup: str, text_chars: int) -> None:
        """Markup made (and sanitised) elsewhere, holding ``text_chars`` characters of text."""
        self._add(markup, text_chars)

    def open_section(self, title: str | None = None) -> None:
        """Start a ``<section>``, with an ``<h2>`` when ``title`` has any text."""
        mark = (len(self._parts), self._size, self.text_chars)
        self._add("<section>")
        if title is not None:
            self.heading(2, title)
        self._sections.append((*mark, self.text_chars))

    def close_section(self) -> None:
        """End the section; one with no text but its title is left out."""
        parts, size, text_chars, titled = self._sections.pop()
        if self.text_chars == titled:
            del self._parts[parts:]
            self._size, self.text_chars = size, text_chars
            return
        self._add("</section>")

    def html(self) -> str:
        """The body so far."""
        return "".join(self._parts)
