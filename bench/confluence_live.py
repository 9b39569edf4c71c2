"""The live Confluence connector: first sync of N pages, a no-op, edits; requests and CPU.

The Confluence stand-in of the tests (``tests/confluence_server.py``, Cloud REST v2 + v1 CQL,
or Data Center v1) serves one space of N generated pages in a tree (50 top-level pages, the
rest below them), each about 4 KB of storage format (paragraphs with page links by title and
mentions of 20 people, a code macro, an info panel, a table). It runs in this process; syncd
runs as ``sync --json`` child processes (CPU and RSS from ``wait4``), the Intercom sandbox in
its own process. Runs:

first   every page listed, fetched, rendered and upserted
no-op   nothing changed: ids and versions only, no Intercom request
edits   ``--edits`` pages edited: their bodies only

For each: wall and CPU seconds, CPU ms per page fetched, peak RSS, and requests made to
Confluence (by kind) and to Intercom.

Usage: python -m bench.confluence_live [--pages 5000] [--deployment cloud|datacenter]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import Run, Sandbox, emit, run_syncd, write_config
from tests.confluence_server import EMAIL, TOKEN, StandIn

SPACE = "BENCH"
PEOPLE = 20


def _body(rng: random.Random, titles: list[str]) -> str:
    parts = [
        '<ac:structured-macro ac:name="info"><ac:parameter ac:name="title">Owners</ac:parameter>'
        "<ac:rich-text-body><p>Kept up to date by the platform team.</p></ac:rich-text-body>"
        "</ac:structured-macro>"
    ]
    while sum(map(len, parts)) < 4000:
        title = rng.choice(titles)
        parts.append(
            "<p>The <strong>deployment pipeline</strong> builds every commit; read "
            f'<ac:link><ri:page ri:content-title="{title}"/></ac:link> first. Ask '
            f'<ac:link><ri:user ri:account-id="person-{rng.randrange(PEOPLE)}"/></ac:link>.</p>'
        )
        if rng.randrange(4) == 0:
            parts.append(
                '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">python'
                "</ac:parameter><ac:plain-text-body><![CDATA[def deploy(env):\n    return run(env)"
                "\n]]></ac:plain-text-body></ac:structured-macro>"
            )
        if rng.randrange(6) == 0:
            parts.append(
                "<table><tr><th>Step</th><th>Who</th></tr><tr><td>1</td><td>CI</td></tr></table>"
            )
    return "".join(parts)


def seed(site: StandIn, count: int) -> None:
    """One space of ``count`` pages: 50 top-level pages, the rest spread below them."""
    rng = random.Random(24)
    site.add_space(SPACE, "Benchmark space")
    for person in range(PEOPLE):
        site.users[f"person-{person}"] = f"Person {person}"
    titles = [f"Page {n}" for n in range(count)]
    top: list[str] = []
    for number, title in enumerate(titles):
        parent = rng.choice(top) if top and number >= 50 else None
        page = site.add_page(SPACE, title, _body(rng, titles), parent=parent)
        if number < 50:
            top.append(page.id)


def _kinds(site: StandIn) -> dict[str, int]:
    kinds: collections.Counter[str] = collections.Counter()
    for path, _ in site.requests:
        rest = path.removeprefix(site.prefix)
        if rest.startswith("/api/v2/spaces/") and rest.endswith(("/pages", "/blogposts")):
            kinds["listing"] += 1
        elif rest == "/rest/api/content/search":
            kinds["cql"] += 1
        elif rest.startswith(("/api/v2/pages/", "/api/v2/blogposts/")) or (
            rest.startswith("/rest/api/content/") and rest.count("/") == 4
        ):
            kinds["body"] += 1
        elif rest == "/rest/api/content":
            kinds["listing"] += 1
        elif "restriction" in rest:
            kinds["restriction"] += 1
        elif rest == "/rest/api/user":
            kinds["user"] += 1
        else:
            kinds["other"] += 1
    return dict(kinds)


def _measure(name: str, run: Run, site: StandIn, sandbox: Sandbox) -> dict[str, Any]:
    assert run.returncode == 0, run.stderr[-2000:]
    report = run.report()
    fetched = int(report.get("created", 0)) + int(report.get("updated", 0))
    fetched += int(report.get("unchanged_after_fetch", 0) or 0)
    intercom = sandbox.command("stats")
    result = {
        "run": name,
        "wall_s": round(run.wall, 2),
        "cpu_s": round(run.cpu, 2),
        "max_rss_mb": round(run.max_rss_mb, 1),
        "pages_written": fetched,
        "cpu_ms_per_page_written": round(1000 * run.cpu / fetched, 2) if fetched else None,
        "confluence_requests": len(site.requests),
        "confluence_by_kind": _kinds(site),
        "intercom_requests": intercom["requests"],
        "report": {k: v for k, v in report.items() if isinstance(v, int)},
    }
    site.requests.clear()
    sandbox.command("reset")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--deployment", choices=["cloud", "datacenter"], default="cloud")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as temp,
        StandIn(args.deployment) as site,
        Sandbox() as sandbox,
    ):
        seed(site, args.pages)
        options: dict[str, Any] = {
            "site": site.site,
            "deployment": args.deployment,
            "spaces": [SPACE],
            "token": "${CONFLUENCE_TOKEN}",
        }
        if args.deployment == "cloud":
            options["email"] = EMAIL
        source = {
            "name": "confluence",
            "connector": "confluence",
            "url": site.site,
            "max_delete_fraction": 0.5,
            "options": options,
        }
        config = write_config(Path(temp), sandbox.url, [source])
        os.environ["CONFLUENCE_TOKEN"] = TOKEN
        results = [_measure("first", run_syncd(config), site, sandbox)]
        results.append(_measure("no-op", run_syncd(config), site, sandbox))
        rng = random.Random(7)
        for page_id in rng.sample(sorted(site.pages), args.edits):
            site.edit(page_id, site.pages[page_id].body + "<p>Edited.</p>")
        results.append(_measure(f"{args.edits} edits", run_syncd(config), site, sandbox))
        emit(
            "confluence_live", {"pages": args.pages, "deployment": args.deployment, "runs": results}
        )


if __name__ == "__main__":
    main()
