"""No-op sync: the run after a full one, against the floor of reading and hashing every file.

Generates ``--docs`` Markdown pages, runs one full sync into the sandbox (its own process,
unthrottled), then alternates ``--repeat`` times: the floor (``bench/floor.py`` reads and
SHA-256s every file) and a no-op ``syncd sync``, both as fresh processes on a warm page cache.
Reports medians, their ratio and the requests the no-op runs made (the sandbox's request log).
Then the same no-op inside one resident process (``bench/resident.py``), as the daemon makes
it on every tick once its start-up is paid.

The import floor is a bare Python process that only imports the libraries a run of syncd
cannot do without (SQLAlchemy with its ORM, pydantic, httpx, structlog, click, PyYAML),
measured in the same rounds: what any one-shot process built on them pays before it reads a
file. SQLAlchemy alone (``import sqlalchemy``, the engine and the SQL expression language
without the ORM) is timed the same way: the state database cannot be read without it.

Usage: python -m bench.noop [--docs 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from bench.harness import (
    PYTHON,
    ROOT,
    Sandbox,
    emit,
    markdown_source,
    run_syncd,
    run_timed,
    write_config,
    write_markdown_tree,
)

#: What a run cannot do without: the state database, the configuration, Intercom, the logs,
#: the command line and the configuration file.
LIBRARIES = ("sqlalchemy.orm", "pydantic", "httpx", "structlog.stdlib", "click", "yaml")


def main() -> None:
    """Run the benchmark and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp, Sandbox() as sandbox:
        folder = Path(tmp)
        tree = folder / "site"
        write_markdown_tree(tree, args.docs)
        config = write_config(folder, sandbox.url, [markdown_source(tree)])
        full = run_syncd(config)
        assert full.returncode == 0, full.stderr[-2000:]
        assert full.report()["created"] == args.docs
        floor_argv = [PYTHON, str(ROOT / "bench" / "floor.py"), str(tree)]
        imports_argv = [PYTHON, "-c", f"import {', '.join(LIBRARIES)}"]
        sqlalchemy_argv = [PYTHON, "-c", "import sqlalchemy"]
        imports: list[float] = []
        sqlalchemy: list[float] = []
        run_timed(floor_argv)  # warm the page cache with every file's content
        floors: list[float] = []
        noops: list[float] = []
        cpus: list[float] = []
        rss: list[float] = []
        requests: list[int] = []
        for _ in range(args.repeat):
            wall, _, out = run_timed(floor_argv)
            assert int(out.split()[0]) == args.docs
            floors.append(wall)
            imports.append(run_timed(imports_argv)[0])
            sqlalchemy.append(run_timed(sqlalchemy_argv)[0])
            sandbox.command("reset")
            noop = run_syncd(config)
            assert noop.returncode == 0, noop.stderr[-2000:]
            report = noop.report()
            assert (report["created"], report["updated"]) == (0, 0), report
            requests.append(sandbox.command("stats")["requests"])
            noops.append(noop.wall)
            cpus.append(noop.cpu)
            rss.append(noop.max_rss_mb)
        floor, syncd = statistics.median(floors), statistics.median(noops)
        sandbox.command("reset")
        _, _, out = run_timed([PYTHON, "-m", "bench.resident", str(config), str(args.repeat)])
        resident = json.loads(out)
        # Each run confirms its Content Import Source with one request (the resident one too).
        resident_requests = sandbox.command("stats")["requests"]
        emit(
            "noop",
            {
                "command": f"python -m bench.noop --docs {args.docs} --repeat {args.repeat}",
                "docs": args.docs,
                "full_sync_wall_s": round(full.wall, 2),
                "full_sync_cpu_s": round(full.cpu, 2),
                "floor_wall_s": [round(x, 3) for x in floors],
                "noop_wall_s": [round(x, 3) for x in noops],
                "noop_cpu_s": [round(x, 3) for x in cpus],
                "noop_max_rss_mb": [round(x, 1) for x in rss],
                "ratio_median": round(syncd / floor, 2),
                "import_floor_wall_s": [round(x, 3) for x in imports],
                "import_floor_ratio_median": round(statistics.median(imports) / floor, 2),
                "import_sqlalchemy_wall_s": [round(x, 3) for x in sqlalchemy],
                "import_sqlalchemy_ratio_median": round(statistics.median(sqlalchemy) / floor, 2),
                "resident_noop_wall_s": [round(x, 3) for x in resident],
                "resident_ratio_median": round(statistics.median(resident) / floor, 2),
                "requests_per_noop": requests,
                "resident_requests": resident_requests,
            },
        )


if __name__ == "__main__":
    main()
