"""Reliability runs: SIGKILLs at random points, and a sandbox that fails and drops requests.

kill
    A 2,000-page Markdown tree. Twenty rounds: change the tree (edit 100 pages, add 10,
    delete 5; none before the first), start ``syncd sync`` and SIGKILL it: one kill in five
    after a random 0.05 to 0.6 s (start-up, listing), the others once the sandbox has
    answered a random number of this round's upserts, between 1 and the writes still due, so
    they land in the middle of the writes however fast those go. Then one run to completion.
faults
    The same tree against a sandbox answering 10% of requests with a 5xx and dropping 5% of
    connections (half before handling the request, half after, so the answer is lost but the
    write happened): a first sync, then a changed tree and a second sync.

restart
    The default settings (a two-minute lease): ten rounds of editing 40 pages, starting
    ``syncd sync`` and SIGKILLing it after a random 0.3 to 3 s; then one normal sync. No round
    may find its source locked by the killed run before it.

All end with the same checks: exactly one content import source for the URL; its pages are
exactly the pages the tree renders to (same external ids, titles, URLs and HTML, computed
here with the connector and :func:`syncd.render.content.render`); every row of the state database
points at the page the sandbox holds for it; and one more sync makes no request at all.

Usage: python -m bench.reliability [kill|faults|restart|both] [--docs 2000] [--kills 20]
[--rounds 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
import sqlite3
import sys
import tempfile
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
from syncd.connectors.base import DocumentExcluded, SourceInfo
from syncd.connectors.markdown.connector import MarkdownConnector, MarkdownOptions
from syncd.render import content

# Each kill round first changes the tree this much, so every restart has writes to make.
ROUND_EDITS, ROUND_ADDS, ROUND_DELETES = 100, 10, 5
EARLY_KILLS = 0.2  # the share of kills aimed at start-up and listing rather than the writes
RESTART_EDITS = 40  # pages edited before each round of the restart run


@dataclasses.dataclass(frozen=True)
class _Settings:
    """The page settings of the bench's source: available to the AI agent and the copilot."""

    ai_agent_availability: bool = True
    ai_copilot_availability: bool = True


EVERYWHERE = _Settings()


class Tree:
    """A generated Markdown tree and the changes made to it."""

    def __init__(self, root: Path, count: int, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.alive = set(range(count))
        self.revisions: dict[int, int] = {}
        self.next_index = count
        write_markdown_tree(root, count)

    def mutate(self, *, edits: int, adds: int, deletes: int) -> None:
        """Edit, add and delete pages at random."""
        for n in self.rng.sample(sorted(self.alive), edits):
            self.revisions[n] = self.revisions.get(n, 0) + 1
            page_path(self.root, n).write_text(
                markdown_page(n, revision=self.revisions[n]), encoding="utf-8"
            )
        for _ in range(adds):
            n = self.next_index
            self.next_index += 1
            page_path(self.root, n).parent.mkdir(parents=True, exist_ok=True)
            page_path(self.root, n).write_text(markdown_page(n), encoding="utf-8")
            self.alive.add(n)
        for n in self.rng.sample(sorted(self.alive), deletes):
            page_path(self.root, n).unlink()
            self.alive.discard(n)


def expected_pages(tree: Path) -> dict[str, dict[str, Any]]:
    """External id -> what the sandbox must hold, rendered the way syncd renders it."""
    options = MarkdownOptions(path=tree, base_url=SOURCE_URL + "/")
    connector = MarkdownConnector(options, source=SourceInfo(name="docs", url=SOURCE_URL))
    pages: dict[str, dict[str, Any]] = {}
    for ref in connector.list():
        try:
            document = connector.fetch(ref)
        except DocumentExcluded:
            continue
        external_id = document.external_id or ref.id
        payload = content.render(document, external_id=external_id, settings=EVERYWHERE)
        pages[external_id] = {
            "title": payload.title,
            "url": payload.url,
            "html_sha256": hashlib.sha256(payload.html.encode()).hexdigest(),
        }
    return pages


def check(sandbox: Sandbox, tree: Path, state_db: Path) -> dict[str, Any]:
    """Compare the sandbox with the tree and with the state database; the findings."""
    held = sandbox.command("pages")
    sources = [s for s in held["sources"] if s["url"] == SOURCE_URL]
    problems: list[str] = []
    if len(sources) != 1:
        problems.append(f"{len(sources)} content import sources for {SOURCE_URL}")
    source_ids = {s["id"] for s in sources}
    remote = [p for p in held["pages"] if p["source_id"] in source_ids]
    by_external: dict[str, dict[str, Any]] = {}
    for page in remote:
        if page["external_id"] in by_external:
            problems.append(f"duplicate page for {page['external_id']}")
        by_external[page["external_id"]] = page
    expected = expected_pages(tree)
    missing = sorted(set(expected) - set(by_external))
    extra = sorted(set(by_external) - set(expected))
    stale = sorted(
        ext
        for ext, want in expected.items()
        if ext in by_external and any(by_external[ext][key] != value for key, value in want.items())
    )
    for label, items in (("missing", missing), ("extra", extra), ("stale", stale)):
        if items:
            problems.append(f"{len(items)} {label} pages, e.g. {items[:3]}")
    with sqlite3.connect(state_db) as db:
        rows = db.execute(
            "SELECT ref_id, external_id, intercom_page_id FROM documents"
            " WHERE intercom_page_id IS NOT NULL"
        ).fetchall()
    wrong_rows = [
        ref
        for ref, ext, page_id in rows
        if ext not in by_external or by_external[ext]["id"] != page_id
    ]
    if wrong_rows:
        problems.append(
            f"{len(wrong_rows)} state rows not matching Intercom, e.g. {wrong_rows[:3]}"
        )
    if len(rows) != len(expected):
        problems.append(f"state holds {len(rows)} pages, the tree has {len(expected)}")
    return {
        "pages_expected": len(expected),
        "pages_held": len(remote),
        "sources": len(sources),
        "problems": problems,
    }


def settle(sandbox: Sandbox, config: Path, tree: Path) -> dict[str, Any]:
    """Check the end state, then prove one more sync has nothing to send (it only checks its
    Content Import Source)."""
    result = check(sandbox, tree, config.parent / "state.db")
    sandbox.command("reset")
    again = run_syncd(config)
    report = again.report()
    requests = sandbox.command("stats")["requests"]
    result["noop_after"] = {
        "exit_code": again.returncode,
        "created": report["created"],
        "updated": report["updated"],
        "deleted": report["deleted"],
        "requests": requests,
    }
    # One request: every run confirms its Content Import Source still exists.
    if again.returncode != 0 or requests > 1 or report["created"] + report["updated"]:
        result["problems"].append("the sync after the end state still had work to do")
    result["ok"] = not result["problems"]
    return result


def kill_run(folder: Path, docs: int, kills: int, rng: random.Random) -> dict[str, Any]:
    """Twenty SIGKILLs and restarts, then a completing run."""
    with Sandbox() as sandbox:
        tree = Tree(folder / "kill-site", docs, rng)
        config = write_config(folder, sandbox.url, [markdown_source(tree.root)])
        rounds = []
        backlog = docs  # writes the next run should have to make, about
        for number in range(kills):
            if number:
                tree.mutate(edits=ROUND_EDITS, adds=ROUND_ADDS, deletes=ROUND_DELETES)
                backlog += ROUND_EDITS + ROUND_ADDS
            before = sandbox.command("stats")["upserts_ok"]
            kill: dict[str, Any]
            if rng.random() < EARLY_KILLS:
                delay = rng.uniform(0.05, 0.6)
                kill = {"kill_after_s": round(delay, 3)}
                run = run_syncd(config, kill_after=delay)
            else:
                # A point in the middle of the writes, however fast they go.
                target = rng.randint(1, max(1, backlog - 1))
                kill = {"kill_after_upserts": target}

                def reached(target: int = target, before: int = before) -> bool:
                    done: int = sandbox.command("stats")["upserts_ok"] - before
                    return done >= target

                run = run_syncd(config, kill_when=reached)
            upserts = sandbox.command("stats")["upserts_ok"] - before
            backlog = max(0, backlog - upserts)
            rounds.append(
                {
                    **kill,
                    "killed": run.returncode == -9,
                    "exit_code": run.returncode,
                    "upserts_this_round": upserts,
                }
            )
        tree.mutate(edits=ROUND_EDITS, adds=ROUND_ADDS, deletes=ROUND_DELETES)
        final = run_syncd(config)
        result = settle(sandbox, config, tree.root)
        result.update(
            {
                "docs_initial": docs,
                "kills_landed": sum(r["killed"] for r in rounds),
                "rounds": rounds,
                "final_exit_code": final.returncode,
                "final_report": _counts(final.report()),
            }
        )
        if final.returncode != 0:
            result["problems"].append(f"the completing run exited {final.returncode}")
            result["ok"] = False
        return result


def restart_run(folder: Path, docs: int, rounds: int, rng: random.Random) -> dict[str, Any]:
    """Default settings; each round: edit 40 pages, sync, SIGKILL after 0.3-3 s. Then a sync.

    With the default two-minute lease, a restart used to find the killed run's lease and
    fail as "being synced"; now the holder lock died with the process, so no round may log
    ``sync.lease_busy``.
    """
    with Sandbox() as sandbox:
        tree = Tree(folder / "restart-site", docs, rng)
        config = write_config(folder, sandbox.url, [markdown_source(tree.root)], default_lease=True)
        results = []
        for _ in range(rounds):
            tree.mutate(edits=RESTART_EDITS, adds=0, deletes=0)
            delay = rng.uniform(0.3, 3.0)
            before = sandbox.command("stats")["upserts_ok"]
            run = run_syncd(config, kill_after=delay)
            results.append(
                {
                    "kill_after_s": round(delay, 2),
                    "exit_code": run.returncode,
                    "lease_busy": run.stderr.count("sync.lease_busy"),
                    "took_over": run.stderr.count("lease.taken_over"),
                    "upserts": sandbox.command("stats")["upserts_ok"] - before,
                }
            )
        final = run_syncd(config)
        result = settle(sandbox, config, tree.root)
        result.update(
            {
                "docs_initial": docs,
                "rounds": results,
                "kills_landed": sum(r["exit_code"] == -9 for r in results),
                "rounds_locked_out": sum(r["lease_busy"] > 0 for r in results),
                "final_exit_code": final.returncode,
                "final_wall_s": round(final.wall, 1),
                "final_report": _counts(final.report()),
            }
        )
        if final.returncode != 0 or result["rounds_locked_out"]:
            result["problems"].append("a round was locked out, or the final run failed")
            result["ok"] = False
        return result


def fault_run(folder: Path, docs: int, rng: random.Random, seed: int) -> dict[str, Any]:
    """A first and a second sync against 10% 5xx and 5% dropped connections."""
    with Sandbox(error_rate=0.10, drop_rate=0.05, seed=seed) as sandbox:
        tree = Tree(folder / "fault-site", docs, rng)
        config = write_config(folder, sandbox.url, [markdown_source(tree.root)])
        runs = []
        for number in range(2):
            if number:
                tree.mutate(edits=200, adds=20, deletes=20)
            run = run_syncd(config)
            runs.append(
                {
                    "exit_code": run.returncode,
                    "wall_s": round(run.wall, 1),
                    "report": _counts(run.report()),
                    "retries_logged": run.stderr.count('"publish.retry"'),
                }
            )
        stats = sandbox.command("stats")
        result = settle(sandbox, config, tree.root)
        result.update({"docs_initial": docs, "runs": runs, "sandbox_statuses": stats["by_status"]})
        if any(r["exit_code"] != 0 for r in runs):
            result["problems"].append("a sync did not exit 0")
            result["ok"] = False
        return result


def _counts(report: dict[str, Any]) -> dict[str, Any]:
    keys = ("listed", "created", "updated", "deleted", "unchanged", "failed", "error")
    return {key: report.get(key) for key in keys}


def main() -> None:
    """Run the chosen reliability runs and print their results."""
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "which", nargs="?", choices=("kill", "faults", "restart", "both"), default="both"
    )
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the restart run")
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    results: dict[str, Any] = {"command": "python -m bench.reliability " + " ".join(sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp:
        folder = Path(tmp)
        if args.which in ("kill", "both"):
            (folder / "kill").mkdir()
            results["kill"] = kill_run(folder / "kill", args.docs, args.kills, rng)
        if args.which == "restart":
            (folder / "restart").mkdir()
            results["restart"] = restart_run(folder / "restart", args.docs, args.rounds, rng)
        if args.which in ("faults", "both"):
            (folder / "faults").mkdir()
            results["faults"] = fault_run(folder / "faults", args.docs, rng, args.seed)
    emit("reliability", results)
    sys.exit(0 if all(r.get("ok") for r in results.values() if isinstance(r, dict)) else 1)


if __name__ == "__main__":
    main()
