"""Plain text and Markdown files.

Text is UTF-8 (a byte-order mark is dropped); a file that is not falls back to Windows-1252,
which accepts any byte, so an old Notepad file reads as its author saw it. Plain text becomes
one paragraph per blank-line-separated block; Markdown is rendered as a Markdown page is.
"""

from __future__ import annotations

import re

from syncd.extract.errors import ExtractionFailed
from syncd.extract.html import _UNWANTED, Body, clean

_BLOCKS = re.compile(r"\n\s*\n")
_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def decode(data: bytes) -> str:
    """The text of ``data`` (see the module docstring)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def extract_text(data: bytes, body: Body) -> str | None:
    """Add a text file's paragraphs to ``body``; text files have no title of their own."""
    for block in _BLOCKS.split(decode(data).replace("\r\n", "\n")):
        body.paragraph(block)
    return None


def extract_markdown(data: bytes, body: Body) -> str | None:
    """Render a Markdown file into ``body``; its first level-1 heading is its title."""
    from syncd.render.content import markdown_to_html, sanitize_html

    text = _UNWANTED.sub("", decode(data))
    if len(text) > body.max_chars:
        raise ExtractionFailed(f"has more than {body.max_chars // 1000} thousand characters")
    html = sanitize_html(markdown_to_html(text))
    plain = clean(re.sub(r"<[^>]+>", " ", html))
    body.raw(html, len(plain))
    match = _HEADING.search(text)
    return clean(match.group(1)) if match else None
