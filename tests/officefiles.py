"""Real attachment files for tests, made by the libraries that write them (no binary fixtures).

Each maker returns the file's bytes: a Word document with a heading, a list and a table, a
deck, a workbook, a PDF with a text layer (written through PDFium), a scan-like PDF with no
text (an image, through Pillow), an encrypted PDF (pypdf), a PDF of many blank pages, and a
zip bomb dressed as a Word document.
"""

from __future__ import annotations

import ctypes
import io
import zipfile


def docx_file(*, title: str | None = "Onboarding guide", words: str = "First day") -> bytes:
    """A Word document: a heading, a paragraph, a bulleted list and a two-by-two table."""
    import docx

    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    document.add_heading("Welcome", 1)
    document.add_paragraph(f"{words}: meet\ufffd the team.")
    document.add_paragraph("Laptop", style="List Bullet")
    document.add_paragraph("Badge", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for (row, col), text in {(0, 0): "Plan", (0, 1): "Price", (1, 0): "Pro", (1, 1): "42"}.items():
        table.cell(row, col).text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx_file() -> bytes:
    """A deck of two slides: a titled one with bullets and speaker notes, and a table."""
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Quarterly review"
    frame = slide.placeholders[1].text_frame
    frame.text = "Revenue up"
    frame.add_paragraph().text = "Churn down"
    slide.notes_slide.notes_text_frame.text = "Say thanks to support."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Targets"
    shape = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1))
    for (row, col), text in {(0, 0): "Team", (0, 1): "Goal", (1, 0): "EMEA", (1, 1): "7"}.items():
        shape.table.cell(row, col).text = text
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def xlsx_file() -> bytes:
    """A workbook: a price sheet, an empty sheet and a hidden one."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Prices"
    sheet.append(["Plan", "Price", None])
    sheet.append(["Pro", 42.0, None])
    sheet.append(["Team", 99.5, None])
    workbook.create_sheet("Empty")
    hidden = workbook.create_sheet("Secret")
    hidden.append(["internal cost", 7])
    hidden.sheet_state = "hidden"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def pdf_file(pages: list[str], *, title: str | None = None) -> bytes:
    """A PDF with a text layer: one line of Helvetica per page, written by PDFium."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument.new()
    for text in pages:
        page = document.new_page(595, 842)
        obj = raw.FPDFPageObj_NewTextObj(document.raw, b"Helvetica", 12.0)
        encoded = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
        raw.FPDFText_SetText(obj, ctypes.cast(encoded, ctypes.POINTER(raw.FPDF_WCHAR)))
        raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 72, 720)
        raw.FPDFPage_InsertObject(page.raw, obj)
        raw.FPDFPage_GenerateContent(page.raw)
        page.close()
    out = io.BytesIO()
    document.save(out)
    document.close()
    data = out.getvalue()
    if title is not None:
        import pypdf

        writer = pypdf.PdfWriter(clone_from=io.BytesIO(data))
        writer.add_metadata({"/Title": title})
        titled = io.BytesIO()
        writer.write(titled)
        data = titled.getvalue()
    return data


def blank_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` empty pages."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(200, 200).close()
    out = io.BytesIO()
    document.save(out)
    document.close()
    return out.getvalue()


def scanned_pdf() -> bytes:
    """A PDF whose only page is a picture (of text, as a scanner makes it): no text layer."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(image).text((20, 80), "Signed contract, page 1", fill="black")
    out = io.BytesIO()
    image.save(out, "PDF")
    return out.getvalue()


def encrypted_pdf() -> bytes:
    """A PDF with text that opens only with a password."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf_file(["Top secret salaries"])))
    writer.encrypt("open-sesame", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb_docx(unpacked_mib: int = 300) -> bytes:
    """A ZIP archive shaped like a Word document whose body unpacks to ``unpacked_mib`` MiB."""
    out = io.BytesIO()
    chunk = b"<w:t>" + b" " * (1024 * 1024) + b"</w:t>"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(unpacked_mib):
                member.write(chunk)
    return out.getvalue()
