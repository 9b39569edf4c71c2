"""Peak RSS of `syncd sync` for the largest pages it accepts, and the largest it reads.

Each case is a fresh source holding one small page and one big page, synced once into the
sandbox; the peak RSS is the kernel's ``ru_maxrss`` of the ``syncd sync`` process.

baseline
    Only the small page.
markdown_accepted, confluence_accepted
    A page rendering to just under ``intercom.max_page_bytes`` (2 MB by default): sent.
markdown_largest_read, confluence_largest_read
    A page file just under its connector's raw limit (Markdown 4 MiB, Confluence 3 MiB): read
    and converted, then refused as too large once rendered. Conversion happens before the
    rendered size is known, so this is the most one page can cost.
confluence_over_raw_limit
    A 40 MB page file: refused before it is parsed.

Usage: python -m bench.bigpage
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import SOURCE_URL, Sandbox, emit, markdown_source, run_syncd, write_config
from tests.connectors.confluence_builder import ExportBuilder

LIMIT = 2_000_000  # intercom.max_page_bytes, the default
MARKDOWN_RAW_LIMIT = 4 * 1024 * 1024  # the connectors' limits on one page's file
CONFLUENCE_RAW_LIMIT = 3 * 1024 * 1024
PARAGRAPH = (
    "<p>Paragraph {n} explains how the <strong>service</strong> handles a request, with a"
    ' <a href="https://example.com/{n}">link</a> and <code>inline_code({n})</code>.</p>\n'
)
MD_PARAGRAPH = (
    "Paragraph {n} explains how the **service** handles a request, with a"
    " [link](https://example.com/{n}) and `inline_code({n})`.\n\n"
)


def body(template: str, size: int) -> str:
    """Paragraphs of ``template`` up to about ``size`` bytes."""
    one = len(template.format(n=0))
    return "".join(template.format(n=n) for n in range(size // one))


def confluence(folder: Path, size: int | None) -> dict[str, Any]:
    export = ExportBuilder()
    export.add("1", "Small page")
    if size is not None:
        export.add("2", "Big page", body(PARAGRAPH, size))
    export.write_folder(folder / "export")
    return {
        "name": "docs",
        "connector": "confluence_export",
        "url": SOURCE_URL,
        "options": {"path": str(folder / "export"), "base_url": SOURCE_URL},
    }


def markdown(folder: Path, size: int) -> dict[str, Any]:
    site = folder / "site"
    site.mkdir()
    (site / "small.md").write_text("# Small\n\nA small page.\n", encoding="utf-8")
    (site / "big.md").write_text("# Big\n\n" + body(MD_PARAGRAPH, size), encoding="utf-8")
    return markdown_source(site)


def measure(folder: Path, source: dict[str, Any]) -> dict[str, Any]:
    with Sandbox() as sandbox:
        config = write_config(folder, sandbox.url, [source])
        run = run_syncd(config)
    report = run.report()
    big = next((path for path in folder.rglob("*") if path.name.startswith("Big")), None)
    if big is None:
        big = folder / "site" / "big.md"
    return {
        "page_file_mb": round(big.stat().st_size / 1e6, 2) if big.exists() else 0,
        "exit_code": run.returncode,
        "created": report["created"],
        "failed": [f["error"][:140] for f in report["failures"]],
        "max_rss_mb": round(run.max_rss_mb, 1),
        "wall_s": round(run.wall, 1),
    }


def main() -> None:
    """Run every case and print the results."""
    results: dict[str, Any] = {"command": "python -m bench.bigpage", "limit_bytes": LIMIT}
    cases = {
        "baseline": lambda f: confluence(f, None),
        "markdown_accepted": lambda f: markdown(f, int(LIMIT * 0.7)),
        "markdown_largest_read": lambda f: markdown(f, int(MARKDOWN_RAW_LIMIT * 0.88)),
        "confluence_accepted": lambda f: confluence(f, int(LIMIT * 0.9)),
        "confluence_largest_read": lambda f: confluence(f, int(CONFLUENCE_RAW_LIMIT * 0.93)),
        "confluence_over_raw_limit": lambda f: confluence(f, 40_000_000),
    }
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp:
        for name, make in cases.items():
            folder = Path(tmp) / name
            folder.mkdir()
            results[name] = measure(folder, make(folder))
            print(name, results[name], file=sys.stderr, flush=True)
    emit("bigpage", results)


if __name__ == "__main__":
    main()
