"""The one-shot no-op of ``bench.noop`` side by side with a peer that also syncs incrementally.

The peer is LangChain's indexing API with its SQL record manager (``bench/peer_langchain.py``),
run with the peer's own Python, given as ``--peer-python`` (a throwaway virtualenv outside the
project: ``python -m venv /tmp/peer && /tmp/peer/bin/pip install 'langchain>=0.3,<0.4'
greenlet``); without it the peer is skipped. Same generated tree of Markdown files, same
machine, same run: a first sync (syncd into the sandbox) and a first indexing (the peer), then
``--repeat`` rounds of the floor (``bench/floor.py``), a ``syncd sync`` no-op and the peer's
no-op, alternately. Ratios are of medians within the run.

Usage: python -m bench.peer --docs 20000 --repeat 3 --peer-python /tmp/peer/bin/python
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


def main() -> None:
    """Run the benchmark and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-python", type=Path)
    args = parser.parse_args()
    peer = args.peer_python if args.peer_python and args.peer_python.exists() else None
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp, Sandbox() as sandbox:
        folder = Path(tmp)
        tree = folder / "site"
        write_markdown_tree(tree, args.docs)
        config = write_config(folder, sandbox.url, [markdown_source(tree)])
        full = run_syncd(config)
        assert full.returncode == 0, full.stderr[-2000:]
        peer_argv = [str(peer), str(ROOT / "bench" / "peer_langchain.py"), str(tree)]
        peer_argv.append(str(folder / "records.sqlite"))
        result: dict[str, object] = {
            "command": f"python -m bench.peer --docs {args.docs} --repeat {args.repeat}"
            + (" --peer-python PEER" if peer else ""),
            "docs": args.docs,
        }
        if peer is not None:
            wall, cpu, out = run_timed(peer_argv)
            result["peer_first_run"] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
            result["peer_first_result"] = json.loads(out)
        floor_argv = [PYTHON, str(ROOT / "bench" / "floor.py"), str(tree)]
        run_timed(floor_argv)  # warm the page cache
        floors: list[float] = []
        noops: list[float] = []
        peers: list[float] = []
        for _ in range(args.repeat):
            floors.append(run_timed(floor_argv)[0])
            noop = run_syncd(config)
            assert noop.returncode == 0, noop.stderr[-2000:]
            noops.append(noop.wall)
            if peer is not None:
                wall, _, out = run_timed(peer_argv)
                assert json.loads(out)["num_skipped"] == args.docs, out
                peers.append(wall)
        floor, syncd = statistics.median(floors), statistics.median(noops)
        result |= {
            "floor_wall_s": [round(x, 3) for x in floors],
            "syncd_noop_wall_s": [round(x, 3) for x in noops],
            "syncd_over_floor": round(syncd / floor, 2),
        }
        if peers:
            result |= {
                "peer_noop_wall_s": [round(x, 3) for x in peers],
                "peer_over_floor": round(statistics.median(peers) / floor, 2),
                "syncd_over_peer": round(syncd / statistics.median(peers), 2),
            }
        emit("peer", result)


if __name__ == "__main__":
    main()
