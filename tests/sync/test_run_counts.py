"""Counts that add up: every listed document lands in exactly one bucket, said in plain words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from syncd.sandbox import SandboxServer
from syncd.sync.plan import RunReport
from tests.engine_harness import TOKEN, Harness
from tests.fakes import MemoryConnector, MemoryDoc
from tests.sync.test_deletion_guard import markdown_harness


def buckets(report: RunReport) -> int:
    return report.created + report.updated + report.unchanged + report.excluded + report.failed


def test_a_no_op_run_counts_every_listed_document_once(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """4 unchanged pages and 1 draft: '4 unchanged, 1 excluded; 5 listed', nothing sent."""
    h = Harness(sandbox, sessions)
    h.connector.docs.update({f"doc-{i}": MemoryDoc(f"Doc {i}", f"b{i}") for i in range(4)})
    h.connector.docs["draft"] = MemoryDoc("Draft", "d", draft=True)
    first = h.sync()
    assert (first.created, first.excluded, buckets(first), first.listed) == (4, 1, 5, 5)
    again = h.sync()
    assert (again.unchanged, again.excluded, buckets(again), again.listed) == (4, 1, 5, 5)
    assert again.summary() == (
        f"{h.name}: 0 created, 0 updated, 0 deleted, 4 unchanged, 1 excluded (not published); "
        "5 listed; nothing sent"
    )
    assert h.requests == 1  # only the check that the source still exists


def test_every_kind_of_outcome_adds_up_to_the_listing(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """Created, updated, unchanged (by version or by hash), excluded and failed sum to listed."""
    h = Harness(sandbox, sessions)
    h.connector.docs.update({f"doc-{i}": MemoryDoc(f"Doc {i}", f"b{i}") for i in range(6)})
    h.sync()
    h.connector.docs["doc-0"] = MemoryDoc("Doc 0", "edited", version=2)  # updated
    h.connector.docs["doc-1"] = MemoryDoc("Doc 1", "b1", version=2)  # unchanged by hash
    h.connector.docs["doc-2"] = MemoryDoc("Doc 2", "b2", version=2, draft=True)  # excluded
    h.connector.docs["doc-3"] = MemoryDoc("Doc 3", "b3", version=2, broken=True)  # failed
    h.connector.docs["new"] = MemoryDoc("New", "n")  # created
    del h.connector.docs["doc-5"]  # deleted: a page, not a listed document
    report = h.sync()
    counts = (report.created, report.updated, report.unchanged, report.excluded, report.failed)
    assert counts == (1, 1, 2, 1, 1)
    assert buckets(report) == report.listed == 6
    assert report.deleted == 2 and report.deletions == {"excluded: draft": 1, "gone": 1}
    assert "nothing sent" not in report.summary()


def test_a_stopped_run_says_how_many_were_not_reached(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """Documents a stopped run never got to are counted apart, so the line still adds up."""
    import threading

    h = Harness(sandbox, sessions)
    h.connector.docs.update({f"doc-{i}": MemoryDoc(f"Doc {i}", f"b{i}") for i in range(5)})
    stop = threading.Event()
    stop.set()
    report = h.sync(stop=stop)
    assert report.listed == 5 and buckets(report) == 0
    assert "5 listed, 5 not reached" in report.summary()


def test_a_listing_fingerprint_no_op_counts_unchanged_and_excluded(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """A run ended by an unchanged listing fingerprint still counts each document once."""

    class Fingerprinted(MemoryConnector):
        def fingerprint(self) -> str | None:
            return "tree-1"

    h = Harness(sandbox, sessions)
    h.connector = Fingerprinted(name=h.name)
    h.connector.docs.update({f"doc-{i}": MemoryDoc(f"Doc {i}", f"b{i}") for i in range(3)})
    h.connector.docs["draft"] = MemoryDoc("Draft", "d", draft=True)
    h.sync()
    again = h.sync()
    assert (again.unchanged, again.excluded, again.listed) == (3, 1, 4)


def test_dry_run_says_what_changed_in_a_file_in_human_terms(
    sandbox: SandboxServer, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """The plan reads 'size 17 -> 29 bytes, modified <time> UTC', not a raw version string."""
    h = markdown_harness(sandbox, sessions, tmp_path / "site", 2)
    h.sync()
    (tmp_path / "site" / "page-0.md").write_text("# Page 0\n\nA longer text now.\n")
    report = h.sync(dry_run=True)
    (item,) = report.plan
    assert item.reason.startswith("content changed (size 17 -> 29 bytes, modified 20")
    assert item.reason.endswith(" UTC)")
    assert ":" not in item.reason.split("modified")[0].removeprefix("content changed")


def test_status_unchanged_agrees_with_pages_held(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """After a no-op run, status shows as many unchanged as pages held, and the draft apart."""
    site = tmp_path / "site"
    site.mkdir()
    for i in range(4):
        (site / f"page-{i}.md").write_text(f"# Page {i}\n\nText {i}\n", encoding="utf-8")
    (site / "draft.md").write_text("---\ndraft: true\n---\n# Draft\n\nx\n", encoding="utf-8")
    config = tmp_path / "syncd.yaml"
    config.write_text(
        json.dumps(
            {
                "intercom": {"token": TOKEN, "base_url": sandbox.url},
                "state": {"url": state_url},
                "sources": [
                    {
                        "name": "docs",
                        "connector": "markdown",
                        "url": "https://docs.example.com",
                        "options": {"path": str(site)},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )

    def syncd(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "syncd", "--log-format", "json", "--config", str(config)]
        return subprocess.run(
            [*command, *args], capture_output=True, text=True, timeout=120, check=False
        )

    assert syncd("sync").returncode == 0
    second = syncd("sync")
    assert second.returncode == 0, second.stderr
    assert "0 created, 0 updated, 0 deleted, 4 unchanged, 1 excluded" in second.stdout
    assert "; 5 listed; nothing sent" in second.stdout
    status = syncd("status").stdout
    assert "docs: 4 pages held" in status
    assert "4 unchanged, 1 excluded, 0 failed; 5 listed" in status
