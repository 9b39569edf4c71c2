"""CPU time per changed document, for each connector, in the syncd process.

For each connector: publish ``N`` generated documents (a first sync), change every one of
them at the source, then time the sync that sends the updates, and a no-op sync after it.
The CPU per changed document is ``(cpu(update sync) - cpu(no-op sync)) / N``: the no-op run
carries start-up, migration check, listing and the tracker snapshot, so what remains is the
fetch, render, hash, upsert and record of each document. Everything runs as fresh
``python -m syncd sync`` processes; the sandbox (and the wiki) are other processes.

Corpora:

markdown
    Generated articles (front matter, list, table, links; ~1.3 KB each).
confluence
    A generated "Export space > HTML" folder (the test suite's export builder): pages in a
    tree, each with paragraphs, a table, a code macro, an info panel and links to siblings.
mediawiki
    A real private MediaWiki from the Debian packages (``tests/mediawiki_server.py``), pages
    written through its API; skipped with the reason when MediaWiki is not installed.
dokuwiki
    A real private DokuWiki from the Debian package (``tests/dokuwiki_server.py``), pages like
    the MediaWiki ones (a list, a table, a code block, links) written through its API; skipped
    with the reason when DokuWiki is not installed.

Usage: python -m bench.connectors [--markdown 2000] [--confluence 1000] [--mediawiki 200]
       [--dokuwiki 200]
"""

from __future__ import annotations

import argparse
import html
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import (
    SOURCE_URL,
    Sandbox,
    emit,
    markdown_page,
    markdown_source,
    page_path,
    run_syncd,
    write_config,
    write_markdown_tree,
)
from tests.connectors.confluence_builder import ExportBuilder

_CONFLUENCE_BODY = """<p>{intro}</p>
<h2>Steps</h2>
<ol><li>Open <a href="{sibling}">the sibling page</a>.</li>
<li>Press <strong>Save</strong>.</li></ol>
<div class="table-wrap"><table class="confluenceTable"><tbody>
<tr><th class="confluenceTh">Setting</th><th class="confluenceTh">Value</th></tr>
<tr><td class="confluenceTd">region</td><td class="confluenceTd">{n}</td></tr>
</tbody></table></div>
<div class="code panel pdl"><div class="codeContent panelContent pdl">
<pre class="syntaxhighlighter-pre" data-syntaxhighlighter-params="brush: bash; gutter: false">
syncd sync --source docs-{n}</pre></div></div>
<div class="confluence-information-macro confluence-information-macro-information">
<span class="aui-icon aui-icon-small aui-iconfont-info confluence-information-macro-icon">
</span><div class="confluence-information-macro-body"><p>Revision {revision}.</p></div></div>
"""


def confluence_export(folder: Path, count: int, *, revision: int) -> None:
    """Write a generated space export of ``count`` pages into ``folder``."""
    builder = ExportBuilder(space_key="BENCH", space_name="Bench")
    for n in range(count):
        parent = [] if n < 10 else [str(100000 + n // 10)]
        intro = html.escape(markdown_page(n, revision=revision).split("\n\n")[1])
        sibling = f"Page-{n + 1}_{100000 + n + 1}.html"
        body = _CONFLUENCE_BODY.format(intro=intro, sibling=sibling, n=n, revision=revision)
        builder.add(str(100000 + n), f"Page {n}", body, parents=parent)
    builder.write_folder(folder)


def measure(
    name: str,
    folder: Path,
    sandbox: Sandbox,
    source: dict[str, Any],
    count: int,
    change: Callable[[], None],
) -> dict[str, Any]:
    """First sync, change everything, update sync, no-op sync; the CPU figures."""
    run_dir = folder / f"run-{name}"
    run_dir.mkdir()
    config = write_config(run_dir, sandbox.url, [source])
    first = run_syncd(config)
    assert first.returncode == 0, first.stderr[-2000:]
    # A fresh wiki holds its Main Page too, so a source may list more than we wrote.
    assert first.report()["created"] >= count, first.report()
    change()
    update = run_syncd(config)
    assert update.returncode == 0, update.stderr[-2000:]
    changed = update.report()["updated"]
    assert changed >= count, update.report()
    noop = run_syncd(config)
    assert noop.returncode == 0, noop.stderr[-2000:]
    per_doc = (update.cpu - noop.cpu) / changed
    return {
        "docs": count,
        "changed": changed,
        "first_sync_cpu_s": round(first.cpu, 2),
        "update_sync_cpu_s": round(update.cpu, 2),
        "update_sync_wall_s": round(update.wall, 2),
        "noop_sync_cpu_s": round(noop.cpu, 2),
        "cpu_ms_per_changed_doc": round(1000 * per_doc, 2),
    }


def bench_markdown(folder: Path, sandbox: Sandbox, count: int) -> dict[str, Any]:
    """Markdown files."""
    tree = folder / "md"
    write_markdown_tree(tree, count)

    def change() -> None:
        for n in range(count):
            page_path(tree, n).write_text(markdown_page(n, revision=1), encoding="utf-8")

    return measure("markdown", folder, sandbox, markdown_source(tree), count, change)


def bench_confluence(folder: Path, sandbox: Sandbox, count: int) -> dict[str, Any]:
    """Pages of a Confluence HTML export folder."""
    export = folder / "export"
    confluence_export(export, count, revision=0)
    source = {
        "name": "space",
        "connector": "confluence_export",
        "url": "https://wiki.example.com",
        "options": {"path": str(export)},
    }
    return measure(
        "confluence",
        folder,
        sandbox,
        source,
        count,
        lambda: confluence_export(export, count, revision=1),
    )


def bench_mediawiki(folder: Path, sandbox: Sandbox, count: int) -> dict[str, Any]:
    """Pages of a real MediaWiki."""
    from tests.mediawiki_server import BOT_PASSWORD, BOT_USER, MediaWikiServer, missing_reason

    reason = missing_reason()
    if reason is not None:
        return {"skipped": reason}

    def text(n: int, revision: int) -> str:
        para = markdown_page(n, revision=revision).split("\n\n")[1]
        return (
            f"{para}\n\n== Steps ==\n# Open [[Page {n + 1}]].\n# Press '''Save'''.\n\n"
            '{| class="wikitable"\n! Setting !! Value\n|-\n| region || '
            f"{n}\n|}}\n\n<syntaxhighlight lang=bash>syncd sync</syntaxhighlight>\n"
        )

    root = folder / "wiki"
    root.mkdir()
    with MediaWikiServer(root) as wiki:
        for n in range(count):
            wiki.edit(f"Page {n}", text(n, 0))
        source = {
            "name": "wiki",
            "connector": "mediawiki",
            "url": SOURCE_URL + "/wiki",
            "options": {"api_url": wiki.api_url, "username": BOT_USER, "password": BOT_PASSWORD},
        }

        def change() -> None:
            for n in range(count):
                wiki.edit(f"Page {n}", text(n, 1))

        return measure("mediawiki", folder, sandbox, source, count, change)


def bench_dokuwiki(folder: Path, sandbox: Sandbox, count: int) -> dict[str, Any]:
    """Pages of a real DokuWiki."""
    from tests.dokuwiki_server import BOT_PASSWORD, BOT_USER, DokuWikiServer, missing_reason

    reason = missing_reason()
    if reason is not None:
        return {"skipped": reason}

    def text(n: int, revision: int) -> str:
        para = markdown_page(n, revision=revision).split("\n\n")[1]
        return (
            f"====== Page {n} ======\n{para}\n\n===== Steps =====\n"
            f"  - Open [[bench:page{n + 1}]].\n  - Press **Save**.\n\n"
            f"^ Setting ^ Value ^\n| region | {n} |\n\n<code bash>\nsyncd sync\n</code>\n"
        )

    root = folder / "dokuwiki"
    root.mkdir()
    with DokuWikiServer(root) as wiki:
        for n in range(count):
            wiki.edit(f"bench:page{n}", text(n, 0))
        source = {
            "name": "ops",
            "connector": "dokuwiki",
            "url": SOURCE_URL + "/dokuwiki",
            "options": {"base_url": wiki.base_url, "username": BOT_USER, "password": BOT_PASSWORD},
        }

        def change() -> None:
            for n in range(count):
                wiki.edit(f"bench:page{n}", text(n, 1))

        return measure("dokuwiki", folder, sandbox, source, count, change)


def main() -> None:
    """Run the benchmark and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", type=int, default=2000)
    parser.add_argument("--confluence", type=int, default=1000)
    parser.add_argument("--mediawiki", type=int, default=200)
    parser.add_argument("--dokuwiki", type=int, default=200)
    args = parser.parse_args()
    results: dict[str, Any] = {"command": "python -m bench.connectors " + " ".join(sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp, Sandbox() as sandbox:
        folder = Path(tmp)
        if args.markdown:
            results["markdown"] = bench_markdown(folder, sandbox, args.markdown)
            print("markdown", results["markdown"], file=sys.stderr, flush=True)
        if args.confluence:
            results["confluence"] = bench_confluence(folder, sandbox, args.confluence)
            print("confluence", results["confluence"], file=sys.stderr, flush=True)
        if args.mediawiki:
            results["mediawiki"] = bench_mediawiki(folder, sandbox, args.mediawiki)
            print("mediawiki", results["mediawiki"], file=sys.stderr, flush=True)
        if args.dokuwiki:
            results["dokuwiki"] = bench_dokuwiki(folder, sandbox, args.dokuwiki)
    emit("connectors", results)


if __name__ == "__main__":
    main()
