"""CPU per page of converting the bench's 10 KB storage-format bodies, stage by stage.

The bodies are those of ``bench.confluence_xml`` (paragraphs, page links by title, images,
code, an info panel, a table, a task list). For each body, in one process and one run:

parse       the body repaired and parsed as XML (``storage.parse_storage``)
convert     the storage tree to HTML (``StorageRenderer``)
clean       links made absolute, leftovers removed, on one lxml tree (``tidy.clean_converted``)
sanitize    the allowlist every page passes (``render.sanitize.clean_html``, nh3)

CPU is ``time.process_time``. (Until 2026-12 the clean-up ran on BeautifulSoup, 5.5 times
the CPU of the lxml one; no Confluence body is cleaned that way any more.)

Usage: python -m bench.render_cpu [--pages 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench.confluence_xml import _body
from bench.harness import emit
from syncd.connectors.confluence.links import LinkContext
from syncd.connectors.confluence.storage import (
    RenderState,
    StorageContext,
    StorageRenderer,
    parse_storage,
)
from syncd.connectors.confluence.storage_macros import render_macro
from syncd.connectors.confluence.tidy import clean_converted
from syncd.render.sanitize import clean_html

BASE = "https://wiki.example.com"


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
    stages: dict[str, list[float]] = {"parse": [], "convert": [], "clean": [], "sanitize": []}
    for _ in range(args.rounds):
        totals = dict.fromkeys(stages, 0.0)
        for body in bodies:
            start = time.process_time()
            tree = parse_storage(body)
            parsed_at = time.process_time()
            renderer = StorageRenderer(ctx, macros=render_macro, state=RenderState())
            converted = renderer.children(tree)
            converted_at = time.process_time()
            cleaned = clean_converted(converted, links)
            cleaned_at = time.process_time()
            clean_html(cleaned)
            end = time.process_time()
            totals["parse"] += parsed_at - start
            totals["convert"] += converted_at - parsed_at
            totals["clean"] += cleaned_at - converted_at
            totals["sanitize"] += end - cleaned_at
        for stage, total in totals.items():
            stages[stage].append(total / len(bodies) * 1000)
    medians = {stage: round(statistics.median(values), 3) for stage, values in stages.items()}
    emit(
        "render_cpu",
        {
            "pages": args.pages,
            "rounds": args.rounds,
            "ms_per_page_median": medians,
            "ms_per_page_total": round(sum(medians.values()), 3),
        },
    )


if __name__ == "__main__":
    main()
