"""CPU per page of a full sync on real content, per connector, the Intercom write included.

Intercom accepts 1,667 calls per 10 s, 6 ms a page: a full sync (a first one, or
``--full-resync``) that spends more CPU per page than that is bound by syncd, not by Intercom.
This measures the whole ``syncd sync`` process (CPU from ``wait4``; the sandbox is another
process) on corpora built from the real trees and exports beside the project
(``../shared/fixtures``), each cycled to about ``--pages`` pages:

markdown-docsy        the Docsy user guide (Hugo), copied into as many sub-folders as needed
markdown-docusaurus   the Docusaurus front-matter tree, the same way
confluence-html       both real "Export space > HTML" exports, their page files copied
                      under new ids within each export
confluence-xml        every storage-format body of the real XML exports (5.9 and 3.4.7 site
                      backups and the loose ``entities.xml`` files), cycled into one export
confluence-xml-10k    the 10 KB storage bodies of ``bench.confluence_xml`` (links, images,
                      code, a panel, a table, a task list), one export

For each: a first sync, a ``--full-resync`` (every page rendered and sent again) and a no-op
sync, as fresh processes. CPU per page is ``(cpu(full resync) - cpu(no-op)) / pages``: the
no-op carries start-up, listing, the source check and the tracker snapshot, which a full
resync pays too, so what remains is each page's fetch, render, hash, upsert and record.

Usage: python -m bench.render_real [--pages 2000] [--corpus NAME ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import shutil
import statistics
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from bench.confluence_xml import _body
from bench.harness import ROOT, SOURCE_URL, Sandbox, emit, run_syncd, write_config
from tests.connectors.confluence_xml_builder import XmlExportBuilder

FIXTURES = ROOT.parent / "shared" / "fixtures"


def _copies(pages_per_copy: int, wanted: int) -> int:
    return max(1, -(-wanted // max(1, pages_per_copy)))


def _markdown(folder: Path, fixture: str, wanted: int) -> tuple[list[dict[str, Any]], int]:
    src = FIXTURES / fixture
    per_copy = sum(1 for p in src.rglob("*.md") if "includes" not in p.parts)
    tree = folder / fixture
    for n in range(_copies(per_copy, wanted)):
        shutil.copytree(src, tree / f"copy-{n:03d}")
    source = {
        "name": "docs",
        "connector": "markdown",
        "url": SOURCE_URL,
        "max_delete_fraction": 0.5,
        "options": {"path": str(tree), "base_url": SOURCE_URL + "/"},
    }
    return [source], 0


def _html_copies(export: Path, dest: Path, copies: int) -> int:
    """``export`` with each page file ``copies`` times in one folder, the page ids made
    unique per copy (``Title_123.html`` -> ``Title_123007.html``) and links to the page
    files rewritten to match; the pages written."""
    shutil.copytree(export, dest)
    names = [p.name for p in export.glob("*.html") if p.name != "index.html"]
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))

    def renamed(name: str, k: int) -> str:
        stem = name.removesuffix(".html")
        return f"{stem}{k:03d}.html"

    for k in range(1, copies):
        for name in names:
            text = (export / name).read_text(encoding="utf-8", errors="surrogateescape")
            text = pattern.sub(lambda m, k=k: renamed(m.group(0), k), text)  # type: ignore[misc]
            path = dest / renamed(name, k)
            path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return len(names) * copies


def _confluence_html(folder: Path, wanted: int) -> tuple[list[dict[str, Any]], int]:
    coding = FIXTURES / "confluence-html-coding-cli-2021"
    with zipfile.ZipFile(coding / "Confluence-space-export-231543-81.html.zip") as archive:
        archive.extractall(folder / "coding-cli")
    top = [p for p in (folder / "coding-cli").iterdir() if p.is_dir()]
    exports = [FIXTURES / "confluence-html-meridius-2016", top[0] if len(top) == 1 else folder]
    per_copy = sum(sum(1 for _ in e.glob("*.html")) - 1 for e in exports)
    copies = _copies(per_copy, wanted)
    sources: list[dict[str, Any]] = []
    for k, export in enumerate(exports):
        dest = folder / "html" / f"export-{k}"
        _html_copies(export, dest, copies)
        sources.append({
            "name": f"space-{k}",
            "connector": "confluence_export",
            "url": f"https://wiki.example.com/{k}",
            "max_delete_fraction": 0.5,
            "options": {"path": str(dest)},
        })  # fmt: skip
    return sources, 0


def _storage_bodies() -> list[str]:
    """Every storage-format body of the real XML exports (BodyContent, bodyType 2)."""
    root = FIXTURES / "confluence-xml-xwiki-contrib"
    blobs: list[bytes] = []
    for archive in sorted(root.glob("*.zip")):
        with zipfile.ZipFile(archive) as z:
            blobs += [z.read(n) for n in z.namelist() if n.endswith("entities.xml")]
    blobs += [p.read_bytes() for p in sorted(root.rglob("entities.xml"))]
    bodies: list[str] = []
    for blob in blobs:
        for _, obj in etree.iterparse(io.BytesIO(blob), tag="object"):
            if obj.get("class") != "BodyContent":
                continue
            props = {p.get("name"): (p.text or "") for p in obj.findall("property")}
            if props.get("bodyType") == "2" and props.get("body", "").strip():
                bodies.append(props["body"])
    return bodies


def _xml_export(
    folder: Path, bodies: Iterator[str], pages: int
) -> tuple[list[dict[str, Any]], int]:
    builder = XmlExportBuilder()
    builder.space("1", "DOC", "Documentation")
    for n in range(pages):
        builder.page(str(1000 + n), f"Page {n} of the handbook", next(bodies))
    path = builder.write_zip(folder / "export.zip")
    source = {
        "name": "space",
        "connector": "confluence_export",
        "url": "https://wiki.example.com",
        "max_delete_fraction": 0.5,
        "options": {"path": str(path)},
    }
    return [source], 0


def _cycle(items: list[str]) -> Iterator[str]:
    while True:
        yield from items


def build(name: str, folder: Path, wanted: int) -> list[dict[str, Any]]:
    """The sources of corpus ``name``, written under ``folder``."""
    if name == "markdown-docsy":
        return _markdown(folder, "markdown-hugo-docsy", wanted)[0]
    if name == "markdown-docusaurus":
        return _markdown(folder, "markdown-docusaurus-frontmatter", wanted)[0]
    if name == "confluence-html":
        return _confluence_html(folder, wanted)[0]
    if name == "confluence-xml":
        return _xml_export(folder, _cycle(_storage_bodies()), wanted)[0]
    if name == "confluence-xml-10k":
        rng = random.Random(7)
        titles = [f"Page {n} of the handbook" for n in range(wanted)]
        bodies = (_body(rng, titles, 10_000) for _ in range(wanted))
        return _xml_export(folder, bodies, wanted)[0]
    raise SystemExit(f"unknown corpus {name!r}")


CORPORA = (
    "markdown-docsy",
    "markdown-docusaurus",
    "confluence-html",
    "confluence-xml",
    "confluence-xml-10k",
)


def measure(name: str, wanted: int, repeat: int) -> dict[str, Any]:
    """First sync, then ``repeat`` pairs of full resync and no-op; the per-page medians."""
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp, Sandbox() as sandbox:
        folder = Path(tmp)
        sources = build(name, folder / "corpus", wanted)
        config = write_config(folder, sandbox.url, sources)
        first = run_syncd(config)
        assert first.returncode == 0, first.stderr[-3000:]
        pages = sum(s["created"] for s in json.loads(first.stdout)["sources"])
        resyncs: list[float] = []
        noops: list[float] = []
        for _ in range(repeat):
            full = run_syncd(config, "--full-resync")
            assert full.returncode == 0, full.stderr[-3000:]
            noop = run_syncd(config)
            assert noop.returncode == 0, noop.stderr[-3000:]
            resyncs.append(full.cpu)
            noops.append(noop.cpu)
        per_page = [(f - n) / pages for f, n in zip(resyncs, noops, strict=True)]
        return {
            "corpus": name,
            "sources": len(sources),
            "pages": pages,
            "first_sync_cpu_s": round(first.cpu, 2),
            "full_resync_cpu_s": [round(c, 2) for c in resyncs],
            "noop_cpu_s": [round(c, 2) for c in noops],
            "cpu_ms_per_page": [round(1000 * p, 2) for p in per_page],
            "cpu_ms_per_page_median": round(1000 * statistics.median(per_page), 2),
        }


def main() -> None:
    """Measure each corpus and print one JSON record per corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", nargs="+", choices=CORPORA, default=list(CORPORA))
    args = parser.parse_args()
    if not FIXTURES.is_dir():
        raise SystemExit(f"the real fixtures are expected at {FIXTURES}")
    for name in args.corpus:
        result = measure(name, args.pages, args.repeat)
        result["command"] = (
            f"python -m bench.render_real --pages {args.pages} --repeat {args.repeat} "
            f"--corpus {name}"
        )
        emit("render_real", result)


if __name__ == "__main__":
    main()
