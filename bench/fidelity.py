"""Content fidelity per corpus: every real tree and export beside the project, every page.

What is measured, and how the expected content is read without the connectors' code, is in
``tests/connectors/fidelity.py``; ``tests/connectors/test_fidelity_real.py`` holds each page
to it. This prints one line per corpus (pages, words, word recall: the lowest page and all
words together, tables equal, code blocks equal, pages with a leak) as JSON.

Usage: python -m bench.fidelity [FIXTURES]   (default: ../shared/fixtures beside the project)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tests.connectors.fidelity import PageResult, measure_all

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def summary(results: list[PageResult]) -> list[dict[str, object]]:
    """One record per corpus, in the order measured."""
    corpora = list(dict.fromkeys(r.corpus for r in results))
    rows: list[dict[str, object]] = []
    for corpus in corpora:
        pages = [r for r in results if r.corpus == corpus]
        words = sum(r.expected_words for r in pages)
        kept = sum(r.recall * r.expected_words for r in pages)
        rows.append({
            "corpus": corpus,
            "pages": len(pages),
            "words": words,
            "recall_min": round(min(r.recall for r in pages), 4),
            "recall_all": round(kept / words, 4) if words else 1.0,
            "pages_below_98": sum(1 for r in pages if r.recall < 0.98),
            "tables_equal": f"{sum(r.tables[1] for r in pages)}/{sum(r.tables[0] for r in pages)}",
            "code_expected": sum(r.code[0] for r in pages),
            "code_published": sum(r.code[1] for r in pages),
            "pages_code_differs": sum(1 for r in pages if not r.code_equal),
            "pages_leaking": sum(1 for r in pages if r.leaks),
        })  # fmt: skip
    return rows


def main() -> None:
    """Measure every fixture and print the per-corpus figures."""
    fixtures = Path(sys.argv[1]) if len(sys.argv) > 1 else _DEFAULT
    with tempfile.TemporaryDirectory() as scratch:
        results = measure_all(fixtures, Path(scratch))
    for row in summary(results):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
