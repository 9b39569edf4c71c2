"""Drift repaired in the next run: a source or pages lost in Intercom are sent again.

Real processes (`syncd sync`), the sandbox over HTTP, restarted or edited through its API as
an Intercom admin would.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from syncd.config.loading import load_config
from syncd.daemon.reconcile import Reconciles
from syncd.errors import ConfigError
from syncd.sandbox import SandboxServer, SandboxSettings
from tests.cli.test_cli_sync import TOKEN, make_site, pages, syncd, write_config
from tests.engine_harness import TOKEN as HARNESS_TOKEN
from tests.engine_harness import Harness
from tests.fakes import MemoryDoc


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


def _api(sandbox: SandboxServer) -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    return httpx.Client(base_url=sandbox.url, headers=headers, timeout=10)


def _report(config: Path, *args: str) -> tuple[int, dict[str, object], str]:
    result = syncd(config, "sync", "--json", *args)
    return result.returncode, json.loads(result.stdout)["sources"][0], result.stderr


def test_a_restarted_sandbox_gets_every_page_back_in_the_next_run(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """Intercom lost the source (a restart): the next run recreates it and restores all."""
    make_site(tmp_path / "site", 5)
    config = write_config(tmp_path, sandbox, state_url)
    code, report, _ = _report(config)
    assert (code, report["created"]) == (0, 5)

    # Nothing changed, nothing lost: one request, the check of the source.
    before = len(sandbox.store.request_log)
    code, report, _ = _report(config)
    assert (code, report["unchanged"]) == (0, 5)
    source_id = sandbox.store.list_sources()[0]["id"]
    assert [r[:2] for r in sandbox.store.request_log[before:]] == [
        ("GET", f"/ai/content_import_sources/{source_id}")
    ]

    sandbox.restart()
    assert pages(sandbox) == []
    code, report, logs = _report(config)
    assert code == 0, report
    assert (report["restored"], report["created"], report["unchanged"]) == (5, 0, 0)
    assert len(pages(sandbox)) == 5
    warning = next(json.loads(line) for line in logs.splitlines() if "source_restored" in line)
    assert warning["level"] == "warning"
    assert "no longer exists in Intercom" in warning["message"]
    assert "all 5 pages of this source are sent again" in warning["message"]

    # And then it is quiet again.
    code, report, _ = _report(config)
    assert (code, report["unchanged"], report["restored"]) == (0, 5, 0)
    status = syncd(config, "status").stdout
    assert "docs: 5 pages held" in status


def test_a_new_sandbox_handing_out_the_same_source_id_gets_every_page_back(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """A new stand-in process numbers its sources from 1 again: the source created in place of
    the lost one has the stored id, and its pages are still sent again."""
    make_site(tmp_path / "site", 3)
    config = write_config(tmp_path, sandbox, state_url)
    code, report, _ = _report(config)
    assert (code, report["created"]) == (0, 3)
    source_id = sandbox.store.list_sources()[0]["id"]
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as fresh:
        config = write_config(tmp_path, fresh, state_url)
        code, report, logs = _report(config)
        assert code == 0, report
        assert fresh.store.list_sources()[0]["id"] == source_id  # the same number, anew
        assert (report["restored"], report["unchanged"]) == (3, 0)
        assert len(pages(fresh)) == 3
        assert "source_restored" in logs
        code, report, _ = _report(config)
        assert (code, report["unchanged"], report["restored"]) == (0, 3, 0)


def test_a_source_deleted_through_the_api_is_restored_with_an_edit(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """An admin deletes the source; an edit arrives: every page is back, not just the edit."""
    make_site(tmp_path / "site", 4)
    config = write_config(tmp_path, sandbox, state_url)
    assert _report(config)[0] == 0
    source_id = sandbox.store.list_sources()[0]["id"]
    with _api(sandbox) as api:
        assert api.delete(f"/ai/content_import_sources/{source_id}").status_code == 204
    (tmp_path / "site" / "page-0001.md").write_text("# Page 1\n\nEdited.\n", encoding="utf-8")
    code, report, _ = _report(config)
    assert code == 0, report
    assert report["restored"] == 4
    held = pages(sandbox)
    assert len(held) == 4
    assert any("Edited." in str(page["html"]) for page in held)
    assert sandbox.store.list_sources()[0]["id"] != source_id


def test_pages_deleted_in_intercom_come_back_on_a_full_resync_and_orphans_go(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """--full-resync reconciles: a page deleted in Intercom is restored; a page of our source
    that no document owns is deleted."""
    make_site(tmp_path / "site", 6)
    config = write_config(tmp_path, sandbox, state_url)
    assert _report(config)[0] == 0
    source_id = int(sandbox.store.list_sources()[0]["id"])
    lost = next(p for p in pages(sandbox) if p["external_id"] == "page-0002.md")
    with _api(sandbox) as api:
        assert api.delete(f"/ai/external_pages/{lost['id']}").status_code == 200
    sandbox.store.upsert_page(
        {
            "source_id": source_id,
            "external_id": "stray.md",
            "title": "Stray",
            "html": "<p>Nobody owns me.</p>",
            "url": "https://docs.example.com/stray/",
            "ai_agent_availability": True,
            "ai_copilot_availability": True,
            "locale": "en",
        }
    )
    code, report, _ = _report(config, "--full-resync")
    assert code == 0, report
    assert report["restored"] == 1
    assert report["deletions"] == {"orphan": 1}
    assert sorted(str(p["external_id"]) for p in pages(sandbox)) == [
        f"page-{i:04d}.md" for i in range(6)
    ]


def test_a_reconciling_run_restores_only_what_intercom_lost(
    sessions: sessionmaker[Session],
) -> None:
    """SyncOptions(reconcile=True), as the daemon runs it every schedule.reconcile: one
    page deleted in Intercom is sent again, the others stay unchanged, nothing else moves."""
    with SandboxServer(SandboxSettings(token=HARNESS_TOKEN, rate_limit=0)) as sandbox:
        _reconcile(Harness(sandbox, sessions), sandbox)


def _reconcile(h: Harness, sandbox: SandboxServer) -> None:
    h.connector.docs = {f"d{i}": MemoryDoc(f"Doc {i}", f"Body {i}") for i in range(4)}
    assert h.sync().created == 4
    source_id = h.source_id()
    assert source_id is not None
    lost = next(p for p in sandbox.store.pages_of(source_id) if p["external_id"] == "d2")
    sandbox.store.delete_page(str(lost["id"]))
    quiet = h.sync()  # an ordinary run does not list Intercom's pages
    assert (quiet.unchanged, quiet.restored) == (4, 0)
    report = h.sync(reconcile=True)
    assert (report.restored, report.unchanged, report.created) == (1, 3, 0)
    assert sorted(str(p["external_id"]) for p in sandbox.store.pages_of(source_id)) == [
        "d0",
        "d1",
        "d2",
        "d3",
    ]
    assert h.sync(reconcile=True).restored == 0


def test_the_daemon_reconciles_at_start_then_every_interval(tmp_path: Path) -> None:
    """schedule.reconcile: due for the first full run, then not until the interval passed;
    null: never."""
    (tmp_path / "docs").mkdir()
    path = tmp_path / "syncd.yaml"
    path.write_text(
        "intercom: {token: t}\n"
        "sources:\n"
        "  - {name: a, connector: markdown, url: https://a.example.com, options: {path: docs},\n"
        "     schedule: {interval: 15m, reconcile: 2h}}\n"
        "  - {name: b, connector: markdown, url: https://b.example.com, options: {path: docs},\n"
        "     schedule: {interval: 15m, reconcile: null}}\n"
        "  - {name: c, connector: markdown, url: https://c.example.com, options: {path: docs}}\n",
        encoding="utf-8",
    )
    config = load_config(path)
    reconciles = Reconciles(config)
    assert reconciles.due("a") and reconciles.due("c")
    assert not reconciles.due("b")
    reconciles.done("a")
    assert not reconciles.due("a")
    assert config.source("c").schedule.reconcile == dt.timedelta(days=1)
    path.write_text(path.read_text().replace("reconcile: 2h", "reconcile: 5m"))
    with pytest.raises(ConfigError, match="reconcile at most once an hour"):
        load_config(path)
