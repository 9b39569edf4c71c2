"""Which PDF text extractor: PDFium (pypdfium2, the one syncd uses) and pdfminer.six against
poppler's ``pdftotext`` on real PDFs, for word agreement, CPU time and peak RSS.

Each extractor runs in a fresh process of this script on each file; agreement is difflib's
ratio between the word sequences of its text and of ``pdftotext -layout``. pdfminer.six is
not a dependency of syncd: install it by hand to include it (``pip install pdfminer.six``).

Usage: python -m bench.pdf_text FILE.pdf [FILE.pdf ...]
"""

from __future__ import annotations

import difflib
import json
import re
import resource
import subprocess
import sys
import time

from bench.harness import PYTHON, ROOT, emit


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def one(path: str, library: str) -> None:
    """Extract ``path`` with ``library`` in this process and print the figures."""
    started = time.process_time()
    if library == "pypdfium2":
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(path)
        text = "\n".join(
            document[n].get_textpage().get_text_bounded() for n in range(len(document))
        )
    else:
        from pdfminer.high_level import extract_text

        text = extract_text(path)
    cpu = time.process_time() - started
    reference = subprocess.run(
        ["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True
    ).stdout
    ours, theirs = words(text), words(reference)
    ratio = difflib.SequenceMatcher(None, theirs, ours, autojunk=False).ratio()
    print(json.dumps({
        "file": path.rsplit("/", 1)[-1], "library": library, "cpu_s": round(cpu, 2),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "words": len(ours), "pdftotext_words": len(theirs), "agreement": round(ratio, 3),
    }))  # fmt: skip


def main(paths: list[str]) -> None:
    rows = []
    for path in paths:
        for library in ("pypdfium2", "pdfminer"):
            done = subprocess.run(
                [PYTHON, "-m", "bench.pdf_text", "one", path, library],
                capture_output=True, text=True, check=False, cwd=ROOT,
            )  # fmt: skip
            if done.returncode == 0:
                rows.append(json.loads(done.stdout))
        # pdftotext's own CPU time (the children's totals would mix in the runs above).
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%U %S %M", "pdftotext", path, "/dev/null"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        user, system, peak_kib = done.stderr.split()[-3:]
        rows.append({"file": path.rsplit("/", 1)[-1], "library": "pdftotext",
                     "cpu_s": round(float(user) + float(system), 2),
                     "peak_rss_mib": int(peak_kib) // 1024})  # fmt: skip
    emit("pdf-text", {"rows": rows})


if __name__ == "__main__":
    if sys.argv[1] == "one":
        one(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
