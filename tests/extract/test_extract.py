"""Extraction: real Office, PDF and text files into clean HTML, hostile files failing alone."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from syncd.extract import Limits, extract
from syncd.extract.errors import ExtractionFailed, NoText
from syncd.extract.runner import Stopped
from tests import officefiles
from tests.conftest import missing

LIMITS = Limits()


def test_word_document_keeps_headings_lists_tables_and_its_title() -> None:
    """A .docx becomes headings, paragraphs, a list and a table; its title property is kept."""
    result = extract(officefiles.docx_file(), "docx", limits=LIMITS)
    assert result.title == "Onboarding guide"
    assert result.html == (
        "<h2>Welcome</h2><p>First day: meet the team.</p>"
        "<ul><li>Laptop</li><li>Badge</li></ul>"
        "<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Pro</td><td>42</td></tr></table>"
    )


def test_deck_is_one_section_per_slide_with_notes_and_tables() -> None:
    """Each slide is a section titled by its title; bullets, notes and tables are kept."""
    result = extract(officefiles.pptx_file(), "PPTX", limits=LIMITS)
    assert result.html == (
        "<section><h2>Quarterly review</h2><ul><li>Revenue up</li><li>Churn down</li></ul>"
        "<h3>Notes</h3><p>Say thanks to support.</p></section>"
        "<section><h2>Targets</h2><table><tr><th>Team</th><th>Goal</th></tr>"
        "<tr><td>EMEA</td><td>7</td></tr></table></section>"
    )


def test_workbook_sheets_are_tables_without_empty_or_hidden_sheets() -> None:
    """Visible sheets become tables of their values; empty and hidden sheets are left out."""
    result = extract(officefiles.xlsx_file(), "xlsx", limits=LIMITS)
    assert result.html == (
        "<section><h2>Prices</h2><table><tr><th>Plan</th><th>Price</th></tr>"
        "<tr><td>Pro</td><td>42</td></tr><tr><td>Team</td><td>99.5</td></tr></table></section>"
    )
    assert "internal cost" not in result.html


def test_pdf_is_one_section_per_page_with_its_metadata_title() -> None:
    """A PDF's text layer is read page by page; the document's Title is its title."""
    data = officefiles.pdf_file(["Refunds within 30 days.", "Call us <any> day."], title="Policy")
    result = extract(data, "pdf", limits=LIMITS)
    assert result.title == "Policy"
    assert result.html == (
        "<section><h2>Page 1</h2><p>Refunds within 30 days.</p></section>"
        "<section><h2>Page 2</h2><p>Call us &lt;any&gt; day.</p></section>"
    )


def test_pdf_text_agrees_with_pdftotext(tmp_path: Path) -> None:
    """The words PDFium reads are the words poppler's pdftotext reads."""
    if shutil.which("pdftotext") is None:
        missing("pdftotext not found: apt-get install poppler-utils")
    data = officefiles.pdf_file(["Escalate billing tickets to tier two", "Naïve café"])
    path = tmp_path / "a.pdf"
    path.write_bytes(data)
    reference = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    html = extract(data, "pdf", limits=LIMITS).html
    words = re.sub(r"<h2>Page \d+</h2>|<[^>]+>", " ", html).split()
    assert words == reference.split()


def test_text_attachment_of_the_real_export_is_clean(shared_fixtures: Path) -> None:
    """The text file attached in the real Confluence export keeps its Chinese, loses nothing."""
    path = next((shared_fixtures / "confluence-html-coding-cli-2021").rglob("65616.txt"))
    result = extract(path.read_bytes(), "txt", limits=LIMITS)
    assert "无人爱苦" in result.html
    assert result.html.startswith("<p>Lorem Ipsum &quot;Neque porro")
    assert "\ufffd" not in result.html


def test_control_characters_and_replacement_marks_are_dropped() -> None:
    """Bytes that are not text in any encoding never reach a page."""
    data = "Tab\there\x01 and \ufffd mark\u0085\n\nSecond block".encode()
    result = extract(data, "txt", limits=LIMITS)
    assert result.html == "<p>Tab here and mark</p><p>Second block</p>"


def test_markdown_attachment_is_rendered_and_titled_by_its_heading() -> None:
    """A .md attachment is rendered as Markdown; its first heading is its title."""
    result = extract(b"# Runbook\n\n- restart\n- check\n", "md", limits=LIMITS)
    assert result.title == "Runbook"
    assert "<li>restart</li>" in result.html


def test_scanned_pdf_has_no_text() -> None:
    """A PDF that is a picture of text is 'no text', not an empty page."""
    with pytest.raises(NoText, match="no text"):
        extract(officefiles.scanned_pdf(), "pdf", limits=LIMITS)


@pytest.mark.parametrize(
    ("data", "file_type", "message"),
    [
        pytest.param(officefiles.encrypted_pdf, "pdf", "encrypted PDF", id="encrypted"),
        pytest.param(
            lambda: officefiles.pdf_file(["Cut short"])[:-200], "pdf", "truncated", id="cut"
        ),
        pytest.param(lambda: b"%PDF-1.7\n1 0 obj garbage\n%%EOF", "pdf", "damaged", id="junk"),
        pytest.param(
            lambda: officefiles.blank_pdf(10_000), "pdf", "has 10000 pages", id="10k-pages"
        ),
        pytest.param(officefiles.zip_bomb_docx, "docx", "would unpack to 300 MiB", id="zip-bomb"),
        pytest.param(
            officefiles.docx_file,
            "xlsx",
            "not an Excel workbook (its content is a Word",
            id="docx-named-xlsx",
        ),
        pytest.param(
            officefiles.scanned_pdf,
            "docx",
            "not a Word document (its content is a PDF)",
            id="pdf-named-docx",
        ),
        pytest.param(
            lambda: b"\x89PNG\r\n\x1a\n\x00\x00",
            "pdf",
            "its content is binary data",
            id="png-named-pdf",
        ),
        pytest.param(
            lambda: b"PK\x03\x04 not really a zip", "pptx", "damaged ZIP", id="broken-zip"
        ),
    ],
)
def test_hostile_files_fail_alone_with_a_named_reason(
    data: object, file_type: str, message: str
) -> None:
    """Each hostile file is an ExtractionFailed that says what is wrong, never a crash."""
    assert callable(data)
    with pytest.raises(ExtractionFailed, match=re.escape(message)):
        extract(data(), file_type, limits=LIMITS)


def test_file_over_max_bytes_is_not_read() -> None:
    """A file bigger than max_bytes fails before a worker starts."""
    with pytest.raises(ExtractionFailed, match="has 2001 bytes \\(at most 2000"):
        extract(b"x" * 2001, "txt", limits=Limits(max_bytes=2000))


def test_memory_limit_stops_a_reader_that_needs_more() -> None:
    """A file that needs more memory than the worker may have fails, named, and the worker
    ends; the caller's memory is untouched."""
    data = ("word " * 4_000_000).encode()  # 20 MB of text: several copies on the way to HTML
    limits = Limits(memory_bytes=96 * 1024 * 1024, max_chars=100_000_000, max_bytes=10**8)
    with pytest.raises(ExtractionFailed, match="memory"):
        extract(data, "txt", limits=limits)


def test_too_much_text_fails_instead_of_a_giant_page() -> None:
    """A body past max_chars fails, saying so."""
    with pytest.raises(ExtractionFailed, match="more text than a page may hold"):
        extract(b"word\n\n" * 10_000, "txt", limits=Limits(max_chars=5_000))


def test_stop_ends_the_worker_within_seconds() -> None:
    """A run that stops kills the worker it waits for, and says it stopped."""
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    started = time.monotonic()
    data = ("word " * 2_000_000).encode()

    def read_until_stopped() -> None:
        for _ in range(20):  # each read takes a while; the stop lands during one of them
            extract(data, "txt", limits=Limits(max_chars=10**9), stop=stop)

    with pytest.raises(Stopped):
        read_until_stopped()
    timer.cancel()
    assert time.monotonic() - started < 30
