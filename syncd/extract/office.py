"""Word, PowerPoint and Excel files (Office Open XML) through python-docx, python-pptx and
openpyxl.

* Word: headings by their paragraph style (``Title``, ``Heading 1``...), lists from list
  styles or numbering, tables as tables, in document order.
* PowerPoint: one ``<section>`` per slide, titled by its title placeholder; text boxes top to
  bottom, tables, and the speaker notes.
* Excel: one ``<section>`` per visible sheet, its used cells as a table (values, not formulas:
  the values Excel saved), the first row as the header.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from typing import Any

from syncd.extract.html import Body, clean


def extract_docx(data: bytes, body: Body) -> str | None:
    """Add a Word document's text to ``body``; its title property, if set."""
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    # Paragraph.style resolves the default style by scanning every style, for every paragraph
    # (measured: 2 ms each, 10.7 s for 5,400 paragraphs): names are looked up once instead.
    style_names = {style.style_id: style.name or "" for style in document.styles}
    items: list[str] = []
    ordered = False

    def flush() -> None:
        if items:
            body.items(items, ordered=ordered)
            items.clear()

    # Not document.iter_inner_content(): its XPath union ("./w:p | ./w:tbl") sorts its
    # result in a way that grows with the square of the paragraphs (3.7 s for 24,000).
    paragraph_tag, table_tag = qn("w:p"), qn("w:tbl")
    for element in document.element.body.iterchildren(paragraph_tag, table_tag):
        if element.tag == table_tag:
            flush()
            rows = Table(element, document).rows
            body.table([_text(cell._tc) for cell in row.cells] for row in rows)
            continue
        block = Paragraph(element, document)
        style = style_names.get(_style_id(block), "")
        level = _heading_level(style)
        if level is not None:
            flush()
            body.heading(level, _text(block._p))
        elif style.startswith("List") or _numbered(block):
            is_ordered = "Number" in style
            if items and is_ordered != ordered:
                flush()
            ordered = is_ordered
            items.append(_text(block._p))
        else:
            flush()
            body.paragraph(_text(block._p))
    flush()
    return clean(document.core_properties.title or "") or None


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 1
    name, _, number = style.partition(" ")
    if name == "Heading" and number.isdigit():
        return min(int(number) + 1, 6)  # the page's title is the <h1>
    return None


def _text(element: Any) -> str:
    """The text of a paragraph or table cell element: its runs' text, tabs and breaks as
    spaces, paragraphs apart.

    One pass of lxml's C iterator: python-docx's ``.text`` runs two XPath queries per
    paragraph and run, which grew to most of a large document's reading time.
    """
    from docx.oxml.ns import qn

    t, tab, br, p = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:p")
    parts: list[str] = []
    for node in element.iter(t, tab, br, p):
        if node.tag == t:
            parts.append(node.text or "")
        else:
            parts.append(" ")
    return "".join(parts)


def _style_id(paragraph: Any) -> str:
    properties = paragraph._p.pPr  # the style id as written, without python-docx's lookup
    if properties is None or properties.pStyle is None:
        return ""
    return str(properties.pStyle.val)


def _numbered(paragraph: Any) -> bool:
    properties = paragraph._p.pPr  # python-docx has no public accessor for numbering
    return properties is not None and properties.numPr is not None


def extract_pptx(data: bytes, body: Body) -> str | None:
    """Add each slide of a deck to ``body``; the deck's title property, if set."""
    import pptx

    deck = pptx.Presentation(io.BytesIO(data))
    for number, slide in enumerate(deck.slides, start=1):
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text if title_shape is not None else ""
        body.open_section(clean(title) or f"Slide {number}")
        title_id = title_shape.shape_id if title_shape is not None else None
        shapes = [shape for shape in slide.shapes if shape.shape_id != title_id]
        for shape in sorted(_flat(shapes), key=lambda s: (s.top or 0, s.left or 0)):
            if getattr(shape, "has_table", False) and shape.has_table:
                body.table([cell.text for cell in row.cells] for row in shape.table.rows)
            elif shape.has_text_frame:
                texts = [p.text for p in shape.text_frame.paragraphs]
                if sum(1 for text in texts if clean(text)) > 1:
                    body.items(texts)
                else:
                    body.paragraph(" ".join(texts))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text
            if clean(notes):
                body.heading(3, "Notes")
                for line in notes.splitlines():
                    body.paragraph(line)
        body.close_section()
    return clean(deck.core_properties.title or "") or None


def _flat(shapes: list[Any]) -> Iterator[Any]:
    """Shapes, with the members of groups in place of the groups."""
    for shape in shapes:
        if shape.shape_type is not None and int(shape.shape_type) == 6:  # MSO_SHAPE_TYPE.GROUP
            yield from _flat(list(shape.shapes))
        else:
            yield shape


def extract_xlsx(data: bytes, body: Body) -> str | None:
    """Add each visible sheet to ``body`` as a table; the workbook's title property, if set."""
    import openpyxl

    # read_only streams rows instead of building every cell object first.
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            if sheet.sheet_state != "visible":
                continue
            body.open_section(sheet.title)
            rows = sheet.iter_rows(values_only=True)
            body.table([_cell_text(value) for value in row] for row in rows)
            body.close_section()
        title = workbook.properties.title
    finally:
        workbook.close()
    return clean(title or "") or None


def _cell_text(value: object) -> str:
    """A cell's value as Excel would show it, near enough: 3.0 as 3, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
