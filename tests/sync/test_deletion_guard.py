"""The safety stop weighs every removal of a page, whatever its reason, before the first DELETE.

Over real parts: SQLite and PostgreSQL, the sandbox over HTTP, a Markdown folder on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd.connectors.base import SourceInfo
from syncd.connectors.markdown.connector import MarkdownConnector, MarkdownOptions
from syncd.errors import ExitCode, SafetyStop
from syncd.sandbox import SandboxServer
from syncd.state.models import Run
from tests.engine_harness import TOKEN, Harness
from tests.fakes import MemoryDoc


def docs(n: int) -> dict[str, MemoryDoc]:
    return {f"doc-{i}": MemoryDoc(f"Doc {i}", f"Body {i}") for i in range(n)}


def deletes_sent(h: Harness) -> int:
    return h.sandbox.store.requests(method="DELETE")


def markdown_harness(
    sandbox: SandboxServer, sessions: sessionmaker[Session], root: Path, count: int
) -> Harness:
    """A harness over a real Markdown folder of ``count`` pages, max_delete_fraction 25%."""
    root.mkdir()
    for i in range(count):
        (root / f"page-{i}.md").write_text(f"# Page {i}\n\nText {i}\n", encoding="utf-8")
    h = Harness(sandbox, sessions, max_delete_fraction=0.25)
    options = MarkdownOptions(path=root, base_url="https://docs.example.com/")
    h.connector = MarkdownConnector(  # type: ignore[assignment]
        options, source=SourceInfo(h.name, h.source.url)
    )
    return h


def test_zero_byte_files_never_empty_the_source(
    sandbox: SandboxServer, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Truncating 6 of 8 Markdown files to 0 bytes is a safety stop: no DELETE is sent."""
    h = markdown_harness(sandbox, sessions, tmp_path / "site", 8)
    assert h.sync().created == 8
    before = deletes_sent(h)
    for i in range(6):
        (tmp_path / "site" / f"page-{i}.md").write_bytes(b"")
    with pytest.raises(SafetyStop) as info:
        h.sync()
    assert "6 of 8 pages (6 excluded: empty)" in str(info.value)
    assert deletes_sent(h) == before
    assert len(h.published()) == 8
    # Nothing was recorded as excluded: the next run weighs the same removals again.
    with pytest.raises(SafetyStop):
        h.sync()
    report = h.sync(allow_mass_delete=True)
    assert (report.deleted, report.excluded, report.deletions) == (6, 6, {"excluded: empty": 6})
    assert len(h.published()) == 2


def test_unlisted_and_draft_front_matter_count_as_deletions(
    sandbox: SandboxServer, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Pages turned unlisted or draft in front matter are removals the guard weighs."""
    h = markdown_harness(sandbox, sessions, tmp_path / "site", 8)
    h.sync()
    for i in range(3):
        (tmp_path / "site" / f"page-{i}.md").write_text("---\nunlisted: true\n---\n# P\n\nx\n")
    for i in range(3, 5):
        (tmp_path / "site" / f"page-{i}.md").write_text("---\ndraft: true\n---\n# P\n\nx\n")
    with pytest.raises(SafetyStop) as info:
        h.sync()
    assert "5 of 8 pages (3 excluded: unlisted, 2 excluded: draft)" in str(info.value)
    assert len(h.published()) == 8


def test_drafts_go_through_the_guard(h_strict: Harness) -> None:
    """Six published documents turned drafts at once are refused like six deletions."""
    h = h_strict
    h.connector.docs.update(docs(8))
    h.sync()
    for i in range(6):
        h.connector.docs[f"doc-{i}"] = MemoryDoc(f"Doc {i}", "x", version=2, draft=True)
    before = deletes_sent(h)
    with pytest.raises(SafetyStop, match="excluded: draft"):
        h.sync()
    assert deletes_sent(h) == before and len(h.published()) == 8


def test_gone_excluded_and_renamed_add_up_to_one_total(h_strict: Harness) -> None:
    """Each reason alone is within the allowance; together they are too many."""
    h = h_strict
    h.connector.docs.update(
        {f"doc-{i}": MemoryDoc(f"Doc {i}", f"b{i}", external_id=f"e{i}") for i in range(12)}
    )
    h.sync()
    del h.connector.docs["doc-0"]
    del h.connector.docs["doc-1"]
    h.connector.docs["doc-2"] = MemoryDoc("Doc 2", "b2", version=2, draft=True)
    h.connector.docs["doc-3"] = MemoryDoc("Doc 3", "b3", version=2, draft=True)
    h.connector.docs["doc-4"] = MemoryDoc("Doc 4", "new", version=2, external_id="e4-moved")
    before = deletes_sent(h)
    with pytest.raises(SafetyStop) as info:
        h.sync()
    assert "5 of 12 pages (2 excluded: draft, 2 gone, 1 renamed)" in str(info.value)
    assert deletes_sent(h) == before
    assert {"e4", "e4-moved"} <= set(h.published())  # the moved page was written, none deleted
    # The page the rename left behind is still tracked: the next run weighs it again.
    report = h.sync(allow_mass_delete=True)
    assert report.deleted == 5
    assert report.deletions == {"gone": 3, "excluded: draft": 2}
    assert set(h.published()) == {"e4-moved", *(f"e{i}" for i in range(5, 12))}


def test_report_run_row_metrics_and_status_name_each_reason(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """Every removal is counted once, by reason, in the report, the runs row and metrics."""
    from prometheus_client import REGISTRY

    from syncd import status as status_mod
    from syncd.config.loading import Config, IntercomConfig

    h = Harness(sandbox, sessions)
    h.connector.docs.update(
        {f"doc-{i}": MemoryDoc(f"Doc {i}", f"b{i}", external_id=f"e{i}") for i in range(6)}
    )
    h.sync()

    def deleted_metric(reason: str) -> float:
        value = REGISTRY.get_sample_value(
            "syncd_pages_deleted_total", {"source": h.name, "reason": reason}
        )
        return value or 0.0

    del h.connector.docs["doc-0"]
    h.connector.docs["doc-1"] = MemoryDoc("Doc 1", "b1", version=2, draft=True)
    h.connector.docs["doc-2"] = MemoryDoc("Doc 2", "b2", version=2, external_id="e2-new")
    report = h.sync()
    assert report.deletions == {"excluded: draft": 1, "gone": 1, "renamed": 1}
    assert (report.deleted, report.excluded, report.created) == (3, 1, 1)
    assert set(h.published()) == {"e2-new", "e3", "e4", "e5"}
    assert [deleted_metric(r) for r in ("gone", "excluded", "renamed")] == [1.0, 1.0, 1.0]
    # The app records the run row; this engine-level harness stands in for it.
    from syncd.state.tracker import Tracker

    tracker = Tracker(sessions, h.name)
    run_id = tracker.start_run(full_resync=False, holder=None)
    tracker.finish_run(
        run_id,
        status="ok",
        counts=report.counts(),
        duration=report.duration,
        error=None,
        deletions=report.deletions,
    )
    with sessions() as session:
        row = session.scalars(sa.select(Run).where(Run.id == run_id)).one()
        assert row.deletions == {"excluded: draft": 1, "gone": 1, "renamed": 1}
    config = Config(intercom=IntercomConfig(), sources=[h.source])
    text = status_mod.render(status_mod.collect(config, sessions))
    assert "deleted: 1 excluded: draft, 1 gone, 1 renamed" in text
    summary = report.summary()
    assert "3 deleted" in summary and "deleted: 1 excluded: draft, 1 gone, 1 renamed" in summary


def test_small_source_may_delete_within_the_allowance(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """A 3-page source loses 1 page (33% > 25%) without --allow-mass-delete."""
    h = Harness(sandbox, sessions, max_delete_fraction=0.25)
    h.connector.docs.update(docs(3))
    h.sync()
    del h.connector.docs["doc-0"]
    report = h.sync()
    assert (report.deleted, report.exit_code) == (1, ExitCode.OK)
    assert set(h.published()) == {"doc-1", "doc-2"}


def test_allowance_is_per_source_and_zero_restores_the_fraction(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """delete_allowance 0 applies max_delete_fraction to every deletion."""
    h = Harness(sandbox, sessions, max_delete_fraction=0.25, delete_allowance=0)
    h.connector.docs.update(docs(3))
    h.sync()
    del h.connector.docs["doc-0"]
    with pytest.raises(SafetyStop, match="delete_allowance 0"):
        h.sync()
    assert len(h.published()) == 3


def test_allowance_never_lets_a_source_lose_every_page(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """Within the allowance, removing every page held is still the empty-source stop."""
    h = Harness(sandbox, sessions, max_delete_fraction=1.0, delete_allowance=10)
    h.connector.docs.update(docs(3))
    h.sync()
    for i in range(3):
        h.connector.docs[f"doc-{i}"] = MemoryDoc(f"Doc {i}", "", version=2, draft=True)
    with pytest.raises(SafetyStop, match="every page"):
        h.sync()
    h.connector.docs.clear()
    with pytest.raises(SafetyStop, match="lists no documents but 3 pages are published"):
        h.sync()
    assert len(h.published()) == 3


def test_the_empty_source_stop_speaks_of_one_page_in_the_singular(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    h = Harness(sandbox, sessions)
    h.connector.docs.update(docs(1))
    h.sync()
    h.connector.docs.clear()
    with pytest.raises(SafetyStop, match="lists no documents but 1 page is published;"):
        h.sync()


@pytest.fixture
def h_strict(sandbox: SandboxServer, sessions: sessionmaker[Session]) -> Harness:
    """A source with the shipped defaults: max_delete_fraction 25%, delete_allowance 3."""
    return Harness(sandbox, sessions, max_delete_fraction=0.25)


def test_cli_reports_refused_deletions_in_summary_status_and_dry_run(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """End to end: 0-byte files give exit 4; summary, dry-run plan and status say why."""
    site = tmp_path / "site"
    site.mkdir()
    for i in range(8):
        (site / f"page-{i}.md").write_text(f"# Page {i}\n\nText {i}\n", encoding="utf-8")
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
                        "max_delete_fraction": 0.25,
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
    deletes_before = sandbox.store.requests(method="DELETE")
    for i in range(6):
        (site / f"page-{i}.md").write_bytes(b"")
    plan = syncd("sync", "--dry-run")
    assert plan.returncode == ExitCode.SAFETY_STOP, plan.stderr
    assert plan.stdout.count(": excluded: empty") == 6, plan.stdout
    assert "would create 0, update 0, delete 6" in plan.stdout
    refused = syncd("sync")
    assert refused.returncode == ExitCode.SAFETY_STOP
    assert "6 of 8 pages (6 excluded: empty)" in refused.stdout
    status = syncd("status").stdout
    assert "safety_stop" in status and "6 excluded: empty" in status
    assert sandbox.store.requests(method="DELETE") == deletes_before


def test_full_resync_weighs_orphans_with_the_gone(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """On a full resync, orphans in Intercom and gone documents are one total, by reason."""
    from syncd.state.models import DocumentState

    h = Harness(sandbox, sessions, max_delete_fraction=0.25, delete_allowance=1)
    h.connector.docs.update(docs(8))
    h.sync()
    with sessions.begin() as session:  # a row lost: its page is an orphan now
        session.execute(sa.delete(DocumentState).where(DocumentState.ref_id == "doc-0"))
    for i in range(3):
        del h.connector.docs[f"doc-{i}"]
    before = deletes_sent(h)
    with pytest.raises(SafetyStop) as info:
        h.sync(full_resync=True)
    assert "3 of 8 pages (2 gone, 1 orphan)" in str(info.value)
    assert deletes_sent(h) == before
    report = h.sync(full_resync=True, allow_mass_delete=True)
    assert report.deletions == {"gone": 2, "orphan": 1}
    assert set(h.published()) == {f"doc-{i}" for i in range(3, 8)}


def test_a_stopped_run_keeps_the_page_a_rename_left_behind(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """Stopped right after a document moved to a new external id, the run forgets nothing:
    the next run removes the old page."""
    import threading

    from tests.fakes import MemoryConnector

    stop = threading.Event()

    class StopsAfterFirst(MemoryConnector):
        def fetch(self, ref):  # type: ignore[no-untyped-def]
            document = super().fetch(ref)
            stop.set()  # the stop arrives while the first document is handled
            return document

    h = Harness(sandbox, sessions)
    h.connector = StopsAfterFirst(name=h.name)
    h.connector.docs.update(
        {f"doc-{i}": MemoryDoc(f"Doc {i}", f"b{i}", external_id=f"e{i}") for i in range(3)}
    )
    h.sync()
    h.connector.docs["doc-0"] = MemoryDoc("Doc 0", "moved", version=2, external_id="e0-new")
    h.connector.docs["doc-1"] = MemoryDoc("Doc 1", "edited", version=2, external_id="e1")
    stop.clear()
    stopped = h.sync(stop=stop)
    assert stopped.stopped and stopped.created == 1
    assert {"e0", "e0-new"} <= set(h.published())
    stop.clear()
    h.connector.fetch = MemoryConnector.fetch.__get__(h.connector)  # type: ignore[method-assign]
    report = h.sync()
    assert report.deletions == {"gone": 1}
    assert set(h.published()) == {"e0-new", "e1", "e2"}
