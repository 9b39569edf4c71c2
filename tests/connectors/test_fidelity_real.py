"""Every page of every real tree and export keeps its words, tables and code, and leaks nothing.

The measurements are defined in :mod:`tests.connectors.fidelity`; ``python -m bench.fidelity``
prints the same figures per corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.connectors.fidelity import PageResult, measure_all

MIN_RECALL = 0.98
MIN_PAGES = {  # pages each corpus publishes, so that a corpus read as empty cannot pass
    "markdown-hugo-docsy": 40,
    "markdown-docusaurus-frontmatter": 14,
    "confluence-html-coding-cli-2021/space1": 4,
    # One page of each of these two has an empty #main-content: excluded as empty.
    "confluence-html-coding-cli-2021/Confluence-space-export-231543-81.html.zip": 4,
    "confluence-html-meridius-2016": 3,
    "confluence-html-coding-cli-2021/*-demo.html": 4,
}


@pytest.fixture(scope="module")
def results(shared_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> list[PageResult]:
    """Every page of every real fixture, measured once for all the tests here."""
    return measure_all(shared_fixtures, tmp_path_factory.mktemp("fidelity"))


def test_every_corpus_is_measured(results: list[PageResult]) -> None:
    """Each real tree and export publishes at least the pages it is known to have."""
    counts = {corpus: sum(1 for r in results if r.corpus == corpus) for corpus in MIN_PAGES}
    for corpus, minimum in MIN_PAGES.items():
        assert counts[corpus] >= minimum, (corpus, counts[corpus])


def test_word_recall_of_every_page(results: list[PageResult]) -> None:
    """At least 98% of the words a reader sees on the source page are in the published body."""
    low = [(r.corpus, r.page, round(r.recall, 4)) for r in results if r.recall < MIN_RECALL]
    assert not low


def test_tables_are_equal_row_by_row_and_cell_by_cell(results: list[PageResult]) -> None:
    """Every table has the same rows and cells as the source shows."""
    assert sum(r.tables[0] for r in results) > 0
    assert not [(r.corpus, r.page) for r in results if not r.tables_equal]


def test_code_blocks_are_equal_in_count_and_content(results: list[PageResult]) -> None:
    """Every code block, template expressions included, is published exactly once as written."""
    assert sum(r.code[0] for r in results) > 100
    assert not [(r.corpus, r.page, r.code) for r in results if not r.code_equal]


def test_no_body_carries_chrome_template_syntax_or_server_links(results: list[PageResult]) -> None:
    """No page metadata, footer, template tag in prose, relative URL or link into the server."""
    assert not [(r.corpus, r.page, r.leaks) for r in results if r.leaks]
