"""Peak RSS of the syncd process: a full first sync, then a no-op sync, at several sizes.

For each size, a fresh tree of small Markdown pages (~60 words each), a fresh state database
and a fresh sandbox process (unthrottled); the peak RSS of each ``syncd sync`` process is the
kernel's ``ru_maxrss`` for that process alone.

Usage: python -m bench.memory [--docs 10000 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import Sandbox, emit, markdown_source, run_syncd, write_config
from bench.harness import write_markdown_tree as write_tree


def measure(docs: int) -> dict[str, Any]:
    """Full and no-op sync of ``docs`` pages; their peak RSS and times."""
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp, Sandbox() as sandbox:
        folder = Path(tmp)
        tree = folder / "site"
        write_tree(tree, docs, words=40)
        config = write_config(folder, sandbox.url, [markdown_source(tree)])
        full = run_syncd(config)
        assert full.returncode == 0, full.stderr[-2000:]
        assert full.report()["created"] == docs, full.report()
        noop = run_syncd(config)
        assert noop.returncode == 0, noop.stderr[-2000:]
        return {
            "full_sync_max_rss_mb": round(full.max_rss_mb, 1),
            "full_sync_wall_s": round(full.wall, 1),
            "full_sync_cpu_s": round(full.cpu, 1),
            "noop_sync_max_rss_mb": round(noop.max_rss_mb, 1),
            "noop_sync_wall_s": round(noop.wall, 2),
        }


def main() -> None:
    """Run the benchmark and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, nargs="+", default=[10000, 100000])
    args = parser.parse_args()
    results: dict[str, Any] = {"command": "python -m bench.memory " + " ".join(sys.argv[1:])}
    for docs in args.docs:
        results[str(docs)] = measure(docs)
        print(docs, results[str(docs)], file=sys.stderr, flush=True)
    if len(args.docs) >= 2:
        small, large = results[str(args.docs[0])], results[str(args.docs[-1])]
        for kind in ("full_sync", "noop_sync"):
            ratio = large[f"{kind}_max_rss_mb"] / small[f"{kind}_max_rss_mb"]
            results[f"{kind}_rss_ratio"] = round(ratio, 2)
    emit("memory", results)


if __name__ == "__main__":
    main()
