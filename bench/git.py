"""Git sources: first sync, no-op and one-file change of a repository of ``--docs`` pages.

Generates the usual Markdown corpus, commits it and pushes it to a bare repository, then
syncs it as a git source (``file://``, so the fetch is git's own work without a network):

* the first sync (fetch, list, read every blob, publish);
* the fetch alone: the same ``git fetch`` syncd runs, of the unchanged ref, into its cache;
* no-op syncs, as one-shot processes, and inside one resident process (as the daemon makes
  them) each paired with the fetch alone just before it: the target is the fetch plus at
  most 50 ms;
* the same no-op of the same files read as a folder (one ``stat`` per file), for the ratio;
* one-file changes: edit one page, commit, push, sync (one update expected).

Usage: python -m bench.git [--docs 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    PYTHON,
    SOURCE_URL,
    Sandbox,
    emit,
    markdown_page,
    markdown_source,
    page_path,
    run_syncd,
    run_timed,
    write_config,
    write_markdown_tree,
)

_GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=_GIT_ENV, check=True, capture_output=True, text=True
    ).stdout


def _git_source(url: str) -> dict[str, Any]:
    return {
        "name": "docs",
        "connector": "markdown",
        "url": SOURCE_URL,
        "max_delete_fraction": 0.5,
        "options": {"git": {"url": url, "ref": "main"}, "base_url": SOURCE_URL + "/"},
    }


def _paired(config: Path, fetch_argv: list[str], repeat: int) -> None:
    """In one resident process: alternately the fetch alone and a no-op sync; prints both.

    Pairs taken back to back, so that a loaded machine slows both sides of a pair alike.
    """
    from syncd.app import App
    from syncd.config.loading import load_config
    from syncd.log import configure

    configure(level="warning", fmt="json")
    fetches: list[float] = []
    syncs: list[float] = []
    with App.open(load_config(config)) as app:
        app.sync()
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(fetch_argv, check=True, env=_GIT_ENV)
            fetches.append(time.perf_counter() - started)
            started = time.perf_counter()
            outcome = app.sync()
            syncs.append(time.perf_counter() - started)
            assert outcome.exit_code == 0, outcome
    print(json.dumps({"fetch": fetches, "sync": syncs}))


def _ms(values: list[float]) -> list[float]:
    return [round(v * 1000, 1) for v in values]


def main() -> None:
    """Run the benchmark and print its result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--paired", nargs=2, metavar=("CONFIG", "FETCH_JSON"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.paired:
        _paired(Path(args.paired[0]), json.loads(args.paired[1]), args.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="syncd-bench-git-") as tmp, Sandbox() as sandbox:
        root = Path(tmp)
        work, bare = root / "work", root / "docs.git"
        write_markdown_tree(work, args.docs)
        _git("init", "--quiet", "--initial-branch=main", str(work))
        _git("add", "--all", cwd=work)
        _git("commit", "--quiet", "-m", "corpus", cwd=work)
        _git("init", "--quiet", "--bare", str(bare))
        _git("push", "--quiet", str(bare), "main", cwd=work)

        git_dir = root / "git"
        git_dir.mkdir()
        config = write_config(git_dir, sandbox.url, [_git_source(bare.as_uri())])
        full = run_syncd(config)
        assert full.returncode == 0, full.stderr[-2000:]
        assert full.report()["created"] == args.docs, full.report()

        cache = git_dir / "syncd-cache" / "docs" / "repo.git"
        fetch_argv = ["git", "--git-dir", str(cache), "fetch", "--quiet", "--no-tags"]
        fetch_argv += ["--no-write-fetch-head", "--depth=1", bare.as_uri()]
        fetch_argv += ["+refs/heads/main:refs/syncd/head"]
        fetches, noops, requests = [], [], []
        for _ in range(args.repeat):
            fetches.append(run_timed(fetch_argv)[0])
            sandbox.command("reset")
            noop = run_syncd(config)
            assert noop.returncode == 0, noop.stderr[-2000:]
            assert (noop.report()["created"], noop.report()["updated"]) == (0, 0)
            requests.append(sandbox.command("stats")["requests"])
            noops.append(noop.wall)
        sandbox.command("reset")
        paired_argv = [PYTHON, "-m", "bench.git", "--repeat", str(args.repeat * 2)]
        _, _, out = run_timed([*paired_argv, "--paired", str(config), json.dumps(fetch_argv)])
        paired = json.loads(out)
        resident = paired["sync"]
        beyond = [s - f for s, f in zip(paired["sync"], paired["fetch"], strict=True)]
        assert sandbox.command("stats")["requests"] == 0

        folder_dir = root / "folder"
        folder_dir.mkdir()
        folder_config = write_config(folder_dir, sandbox.url, [markdown_source(work)])
        assert run_syncd(folder_config).returncode == 0
        _, _, out = run_timed(
            [PYTHON, "-m", "bench.resident", str(folder_config), str(args.repeat)]
        )
        folder_resident = json.loads(out)

        changes, change_cpu = [], []
        for i in range(args.repeat):
            page_path(work, i).write_text(markdown_page(i, revision=i + 1), encoding="utf-8")
            _git("commit", "--quiet", "-am", f"edit {i}", cwd=work)
            _git("push", "--quiet", str(bare), "main", cwd=work)
            change = run_syncd(config)
            assert change.returncode == 0, change.stderr[-2000:]
            report = change.report()
            assert (report["updated"], report["created"], report["deleted"]) == (1, 0, 0), report
            changes.append(change.wall)
            change_cpu.append(change.cpu)

        resident_noop = statistics.median(resident)
        emit(
            "git",
            {
                "command": f"python -m bench.git --docs {args.docs} --repeat {args.repeat}",
                "docs": args.docs,
                "first_sync_wall_s": round(full.wall, 2),
                "first_sync_cpu_s": round(full.cpu, 2),
                "first_sync_max_rss_mb": round(full.max_rss_mb, 1),
                "fetch_alone_ms": _ms(fetches),
                "noop_one_shot_ms": _ms(noops),
                "noop_requests": requests,
                "paired_fetch_alone_ms": _ms(paired["fetch"]),
                "noop_resident_ms": _ms(resident),
                "noop_resident_minus_paired_fetch_ms": _ms(beyond),
                "noop_resident_minus_fetch_median_ms": round(statistics.median(beyond) * 1000, 1),
                "folder_noop_resident_ms": _ms(folder_resident),
                "folder_over_git_noop_resident": round(
                    statistics.median(folder_resident) / resident_noop, 2
                ),
                "one_file_change_ms": _ms(changes),
                "one_file_change_cpu_ms": _ms(change_cpu),
            },
        )


if __name__ == "__main__":
    main()
