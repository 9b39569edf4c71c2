"""PDF text through PDFium (pypdfium2): one ``<section>`` per page.

Chosen by measurement against poppler's ``pdftotext`` (see BENCHMARKS.md, "Attachments"):
PDFium agrees with it word for word on over 99% of the text, at about a tenth of
pdfminer.six's CPU time and two thirds of its memory, and ships as a wheel for Linux.

PDF has no paragraphs, only lines placed on a page; a line much shorter than the page's
longest ends a paragraph (the last line of a paragraph rarely fills the measure).
"""

from __future__ import annotations

import pypdfium2 as pdfium

from syncd.extract.errors import ExtractionFailed
from syncd.extract.html import Body, clean

MAX_PAGES = 2000  # a longer PDF is a book or a log dump, not help-centre content
_SHORT_LINE = 0.6


def extract(data: bytes, body: Body) -> str | None:
    """Add each page's text to ``body``; the document's own title, if it has one."""
    if b"%%EOF" not in data[-2048:]:
        # PDFium would rebuild what it can of a cut file and publish part of it as the whole.
        raise ExtractionFailed("is a truncated PDF (it does not end with %%EOF)")
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = str(exc).removeprefix("Failed to load document ").strip(" .()")
        if "password" in reason.lower():
            raise ExtractionFailed("is an encrypted PDF (it needs a password)") from None
        raise ExtractionFailed(f"is a damaged PDF ({reason})") from None
    try:
        pages = len(document)
        if pages > MAX_PAGES:
            raise ExtractionFailed(f"has {pages} pages (at most {MAX_PAGES} are read)")
        for number in range(pages):
            page = document[number]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_bounded()
                finally:
                    textpage.close()
            finally:
                page.close()
            body.open_section(f"Page {number + 1}" if pages > 1 else None)
            for paragraph in _paragraphs(text):
                body.paragraph(paragraph)
            body.close_section()
        title = document.get_metadata_dict(skip_empty=True).get("Title")
    finally:
        document.close()
    return clean(title) if title else None


def _paragraphs(text: str) -> list[str]:
    """The page's lines joined into paragraphs (see the module docstring)."""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    longest = max((len(line) for line in lines), default=0)
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if current and current[-1].endswith("-") and not current[-1].endswith(" -"):
            current[-1] = current[-1][:-1] + line  # a word hyphenated across two lines
        else:
            current.append(line)
        if len(line) < _SHORT_LINE * longest:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs
