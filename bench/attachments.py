"""Attachments: CPU and peak RSS of extracting PDF and Word files, per MB, and a whole run
with hostile files present.

extract
    Text-only PDFs (written through PDFium, 40 lines of text per page, about 1,100 pages per
    MB) of 0.25 to 1.5 MB, and Word documents (paragraphs, a table every 50 paragraphs, about
    48,000 paragraphs per MB) of 0.25 to 1 MB. Each file is read
    once by :func:`syncd.extract.extract` in a fresh process of this script; the figures are
    that extraction worker's CPU time and peak RSS (``RUSAGE_CHILDREN``), and the wall time
    including the worker's start.
run
    `syncd sync` of a Markdown folder holding ten 0.5 MB (550-page) PDFs, ten Word files,
    a truncated and an encrypted PDF, a zip bomb posing as a DOCX, a Word file named .xlsx
    and a 10,000-page PDF. Peak RSS is the kernel's ``ru_maxrss`` of the syncd process and
    its workers (the largest of them, not their sum: one worker runs at a time, beside
    syncd).

Usage: python -m bench.attachments [extract|run]
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import PYTHON, ROOT, Sandbox, emit, markdown_source, run_syncd, write_config
from tests import officefiles

LINE = "Refunds are issued within thirty days of purchase to the original payment method {n}."


def pdf_of(megabytes: float) -> bytes:
    """A text PDF of about ``megabytes`` MB."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument.new()
    size, pages = 0, 0
    while size < megabytes * 1e6:
        page = document.new_page(595, 842)
        for line in range(40):
            obj = raw.FPDFPageObj_NewTextObj(document.raw, b"Helvetica", 9.0)
            text = LINE.format(n=pages * 40 + line)
            encoded = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
            raw.FPDFText_SetText(obj, ctypes.cast(encoded, ctypes.POINTER(raw.FPDF_WCHAR)))
            raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 40, 800 - line * 19)
            raw.FPDFPage_InsertObject(page.raw, obj)
        raw.FPDFPage_GenerateContent(page.raw)
        page.close()
        pages += 1
        size += 920  # measured: PDFium compresses a page of 40 lines to about 920 bytes
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_of(megabytes: float) -> bytes:
    """A Word document of about ``megabytes`` MB (text compresses: many paragraphs)."""
    import docx

    document = docx.Document()
    count = int(megabytes * 48000)  # measured: text compresses to about 21 bytes a paragraph
    for n in range(count):
        document.add_paragraph(LINE.format(n=n) + f" Ticket {n * 7919 % 100003}.")
        if n % 50 == 49:
            table = document.add_table(rows=3, cols=3)
            for row in table.rows:
                for cell in row.cells:
                    cell.text = f"{n}"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def one(path: str, file_type: str) -> None:
    """Extract one file in this process and print the worker's figures."""
    from syncd.extract import Limits, extract

    data = Path(path).read_bytes()
    started = time.monotonic()
    limits = Limits(max_bytes=10**9, max_chars=10**9, seconds=600, memory_bytes=1 << 30)
    result = extract(data, file_type, limits=limits)
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "mb": round(len(data) / 1e6, 2),
        "wall_s": round(wall, 2),
        "worker_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "worker_peak_rss_mib": round(usage.ru_maxrss / 1024),
        "html_chars": len(result.html),
    }))  # fmt: skip


def bench_extract() -> None:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        # Text-only PDFs are the densest text per MB: 1.5 MB is already 1,600 pages.
        for file_type, make, sizes in (
            ("pdf", pdf_of, (0.25, 0.5, 1.5)),
            ("docx", docx_of, (0.25, 0.5, 1)),
        ):
            for megabytes in sizes:
                path = Path(folder) / f"sample.{file_type}"
                path.write_bytes(make(megabytes))
                out = subprocess.run(
                    [PYTHON, "-m", "bench.attachments", "one", str(path), file_type],
                    capture_output=True, text=True, check=True, cwd=ROOT,
                ).stdout  # fmt: skip
                row = {"type": file_type, **json.loads(out)}
                row["cpu_s_per_mb"] = round(row["worker_cpu_s"] / row["mb"], 2)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    emit("attachments-extract", {"rows": rows})


def bench_run() -> None:
    with tempfile.TemporaryDirectory() as folder, Sandbox() as sandbox:
        site = Path(folder) / "site"
        site.mkdir()
        (site / "index.md").write_text("# Home\n\nAttachments below.\n", encoding="utf-8")
        pdf, word = pdf_of(0.5), officefiles.docx_file()
        for n in range(10):
            (site / f"policy-{n}.pdf").write_bytes(pdf)
            (site / f"guide-{n}.docx").write_bytes(word)
        hostile = {
            "truncated.pdf": pdf[:-5000],
            "encrypted.pdf": officefiles.encrypted_pdf(),
            "bomb.docx": officefiles.zip_bomb_docx(),
            "lying.xlsx": word,
            "huge.pdf": officefiles.blank_pdf(10_000),
        }
        for name, data in hostile.items():
            (site / name).write_bytes(data)
        source = markdown_source(site)
        source["options"]["attachments"] = {"types": ["pdf", "docx", "xlsx"]}
        config = write_config(Path(folder), sandbox.url, [source])
        first = run_syncd(config)
        second = run_syncd(config)
        emit(
            "attachments-run",
            {
                "first": {"exit": first.returncode, "wall_s": round(first.wall, 1),
                          "cpu_s": round(first.cpu, 1), "peak_rss_mib": round(first.max_rss_mb),
                          "report": {k: v for k, v in first.report().items()
                                     if k in ("created", "failed", "excluded", "exclusions")},
                          "failures": [f["error"] for f in first.report()["failures"]]},
                "no_op": {"exit": second.returncode, "wall_s": round(second.wall, 2),
                          "cpu_s": round(second.cpu, 2),
                          "peak_rss_mib": round(second.max_rss_mb)},
            },
        )  # fmt: skip


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "extract"
    if what == "one":
        one(sys.argv[2], sys.argv[3])
    elif what == "run":
        bench_run()
    else:
        bench_extract()
