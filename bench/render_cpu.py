"""CPU per page of converting the bench's 10 KB storage-format bodies, stage by stage.

The bodies are those of ``bench.confluence_xml`` (paragraphs, page links by title, images,
code, an info panel, a table, a task list). For each body, in one process and one run:

convert     the storage tree to HTML (``StorageRenderer``, lxml)
clean bs4   the clean-up the XML and live connectors used until 2026-12 (BeautifulSoup:
            ``links.rewrite_links`` + ``html.tidy_body``, still what an HTML export gets)
clean lxml  the same clean-up on one lxml tree (``tidy.clean_converted``), what they use now
sanitize    the allowlist every page passes (``render.sanitize.clean_html``, nh3)

Both clean-ups run on the same converted HTML, alternately, and their sanitized outputs are
compared (``identical`` counts the bodies where they agree). CPU is ``time.process_time``.

Usage: python -m bench.render_cpu [--pages 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench.confluence_xml import _body
from bench.harness import emit
from syncd.connectors.confluence.html import parse_html, tidy_body
from syncd.connectors.confluence.links import LinkContext, rewrite_links
from syncd.connectors.confluence.storage import RenderState, StorageContext, StorageRenderer
from syncd.connectors.confluence.storage_macros import render_macro
from syncd.connectors.confluence.tidy import clean_converted
from syncd.render.sanitize import clean_html

BASE = "https://wiki.example.com"


def _bs4_clean(converted: str, links: LinkContext) -> str:
    main = parse_html(f"<div>{converted}</div>".encode()).find("div")
    if main is None:
        return ""
    rewrite_links(main, links)
    return tidy_body(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    titles = [f"Page {n} of the handbook" for n in range(args.pages)]
    bodies = [_body(rng, titles, 10_000) for _ in range(args.pages)]
    links = LinkContext(
        page_id="1",
        base_url=BASE,
        page_ids=frozenset(str(n) for n in range(args.pages)),
        page_url=lambda page_id: f"{BASE}/pages/viewpage.action?pageId={page_id}",
    )
    ctx = StorageContext(
        page_id="1",
        space_key="S0",
        base_url=BASE,
        page_url=links.page_url,
        download_url=links.download_url,
        find_page=lambda _space, title: title.split()[1],
        page_exists=lambda _page_id: True,
        user_name=lambda key: f"user {key}",
        load=lambda _page_id: None,
    )
    stages: dict[str, list[float]] = {"convert": [], "clean bs4": [], "clean lxml": []}
    stages["sanitize"] = []
    identical = 0
    for _ in range(args.rounds):
        totals = dict.fromkeys(stages, 0.0)
        identical = 0
        for body in bodies:
            start = time.process_time()
            converted = StorageRenderer(ctx, macros=render_macro, state=RenderState()).render_body(
                body
            )
            converted_at = time.process_time()
            old = _bs4_clean(converted, links)
            old_at = time.process_time()
            new = clean_converted(converted, links)
            new_at = time.process_time()
            published = clean_html(new)
            end = time.process_time()
            totals["convert"] += converted_at - start
            totals["clean bs4"] += old_at - converted_at
            totals["clean lxml"] += new_at - old_at
            totals["sanitize"] += end - new_at
            identical += published == clean_html(old)
        for stage, total in totals.items():
            stages[stage].append(total / len(bodies) * 1000)
    medians = {stage: round(statistics.median(values), 3) for stage, values in stages.items()}
    emit(
        "render_cpu",
        {
            "pages": args.pages,
            "rounds": args.rounds,
            "ms_per_page_median": medians,
            "bs4_over_lxml": round(medians["clean bs4"] / medians["clean lxml"], 2),
            "identical_after_sanitize": f"{identical}/{len(bodies)}",
        },
    )


if __name__ == "__main__":
    main()
