"""Removing many pages at once: a retired section's pages deleted, with Intercom's latency.

Generates ``--docs`` Markdown pages, publishes them into the sandbox (its own process, with
``--latency-ms`` added to every answer, as a far-away API has), removes all but ``--keep`` of
the files and times the ``syncd sync --allow-mass-delete`` that deletes their pages, ``--repeat``
times. Reports the run's wall time, CPU, and pages deleted per second.

Usage: python -m bench.deletes [--docs 1000] [--keep 10] [--latency-ms 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from bench.harness import (
    Sandbox,
    emit,
    markdown_source,
    page_path,
    run_syncd,
    write_config,
    write_markdown_tree,
)


def main() -> None:
    """Run the benchmark and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--keep", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(args.repeat):
        with (
            tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp,
            Sandbox(rate_limit=0, latency_ms=args.latency_ms) as sandbox,
        ):
            folder = Path(tmp)
            tree = folder / "site"
            write_markdown_tree(tree, args.docs)
            config = write_config(folder, sandbox.url, [markdown_source(tree)])
            first = run_syncd(config)
            assert first.returncode == 0, first.stderr[-2000:]
            for index in range(args.keep, args.docs):
                page_path(tree, index).unlink()
            for empty in sorted(tree.iterdir()):
                if empty.is_dir() and not any(empty.iterdir()):
                    shutil.rmtree(empty)
            run = run_syncd(config, "--allow-mass-delete")
            assert run.returncode == 0, run.stderr[-2000:]
            assert run.report()["deleted"] == args.docs - args.keep, run.report()
            walls.append(run.wall)
            cpus.append(run.cpu)
    deleted = args.docs - args.keep
    emit(
        "deletes",
        {
            "command": (
                f"python -m bench.deletes --docs {args.docs} --keep {args.keep}"
                f" --latency-ms {args.latency_ms:g} --repeat {args.repeat}"
            ),
            "deleted": deleted,
            "latency_ms": args.latency_ms,
            "wall_s": [round(x, 2) for x in walls],
            "cpu_s": [round(x, 2) for x in cpus],
            "deletes_per_s_median": round(deleted / statistics.median(walls), 1),
        },
    )


if __name__ == "__main__":
    main()
