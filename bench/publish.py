"""Publish throughput: a first sync of ``--docs`` new Markdown pages into the sandbox.

The sandbox runs in its own process with the rate limit and latency given. The rate is read
from the sandbox's request log: requests (or successful upserts) between the first and the
last request it logged, so syncd's start-up and listing do not count against it. With a rate
limit, the share of the ceiling (limit / window) and the share of 429 answers are reported,
with the requests of every 10-second window; the windows between the first and the last (the
ones the run fills from start to end) give the steady share of the limit.

Usage:
    python -m bench.publish --docs 5000 --rate-limit 1667             # throttled
    python -m bench.publish --docs 5000 --latency-ms 20 --concurrency 16  # unthrottled
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.harness import Sandbox, emit, markdown_source, run_syncd, write_config
from bench.harness import write_markdown_tree as write_tree

WINDOW_SECONDS = 10.0


def main() -> None:
    """Run the benchmark and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--rate-limit", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    sandbox = Sandbox(rate_limit=args.rate_limit, latency_ms=args.latency_ms)
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp, sandbox:
        folder = Path(tmp)
        tree = folder / "site"
        write_tree(tree, args.docs)
        config = write_config(
            folder, sandbox.url, [markdown_source(tree)], max_concurrency=args.concurrency
        )
        sandbox_cpu = sandbox.cpu_seconds()
        run = run_syncd(config)
        sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.report()["created"] == args.docs, run.report()
        stats = sandbox.command("stats")
        span = stats["last"] - stats["first"]
        upsert_span = stats["last_upsert"] - stats["first_upsert"]
        result = {
            "command": "python -m bench.publish " + " ".join(sys.argv[1:]),
            "docs": args.docs,
            "rate_limit": args.rate_limit,
            "latency_ms": args.latency_ms,
            "max_concurrency": args.concurrency,
            "syncd_wall_s": round(run.wall, 2),
            "syncd_cpu_s": round(run.cpu, 2),
            "syncd_cpu_ms_per_doc": round(1000 * run.cpu / args.docs, 2),
            "sandbox_cpu_s": round(sandbox_cpu, 2),
            "requests": stats["requests"],
            "by_status": stats["by_status"],
            "request_span_s": round(span, 2),
            "requests_per_s": round((stats["requests"] - 1) / span, 1),
            "upserts_per_s": round((stats["upserts_ok"] - 1) / upsert_span, 1),
        }
        if args.rate_limit:
            ceiling = args.rate_limit / WINDOW_SECONDS
            throttled = int(stats["by_status"].get("429", 0))
            result["ceiling_per_s"] = round(ceiling, 1)
            result["share_of_ceiling"] = round(result["requests_per_s"] / ceiling, 3)
            result["share_429"] = round(throttled / stats["requests"], 4)
            windows = sandbox.command("windows")
            # The first and last windows are cut by the run's start and end; the ones between
            # show the steady rate against the limit.
            full = [w["requests"] for w in windows[1:-1]]
            if full:
                result["full_windows_share_of_limit"] = round(
                    sum(full) / len(full) / args.rate_limit, 3
                )
            result["windows"] = windows
        emit("publish", result)


if __name__ == "__main__":
    main()
