"""End to end: `syncd sync` over a folder where Confluence backups keep arriving.

Nightly site backups land in one folder; each sync publishes the newest complete one into the
sandbox (a real HTTP server). A backup that lacks a space deletes nothing unless the source
says ``missing_spaces: delete``; a backup still being written is not read.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.connectors.confluence_xml_builder import XmlExportBuilder
from tests.connectors.test_confluence_exports import settle

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SITE = "https://wiki.example.com"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """The Intercom stand-in on 127.0.0.1."""
    with SandboxServer(SandboxSettings(token="t")) as server:
        yield server


def backup(day: int, spaces: dict[str, dict[str, str]]) -> XmlExportBuilder:
    """A site backup of that day holding spaces (key -> page id -> title)."""
    export = XmlExportBuilder(datetime=f"2024-05-0{day} 02:00:00")
    for number, (key, pages) in enumerate(spaces.items(), start=1):
        export.space(str(number), key, f"{key} space")
        for page_id, title in pages.items():
            export.page(page_id, title, f"<p>{title} on day {day}.</p>", space=str(number))
    return export


def run_sync(tmp_path: Path, sandbox_url: str, sources: list[dict[str, Any]]) -> None:
    """Write a config of these sources (state in ``tmp_path``) and run `syncd sync` once."""
    config = tmp_path / "syncd.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "intercom": {"token": "t", "base_url": sandbox_url},
                "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
                "sources": sources,
            }
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"sync exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    json.loads(done.stdout)


def sync(tmp_path: Path, sandbox: SandboxServer, folder: Path, **options: object) -> dict[str, str]:
    """Run `syncd sync` over the folder; external id -> title of the pages in the sandbox."""
    source = {
        "name": "confluence",
        "connector": "confluence_export",
        "url": SITE,
        "max_delete_fraction": 1.0,
        "options": {"path": str(folder), "base_url": SITE, **options},
    }
    run_sync(tmp_path, sandbox.url, [source])
    pages: list[dict[str, Any]] = list(sandbox.store.pages.values())
    return {page["external_id"]: page["title"] for page in pages}


def test_nightly_backups_missing_space_and_half_written_backup(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Backups arrive night after night; a missing space stays until delete is asked for."""
    folder = tmp_path / "backups"
    monday = backup(6, {"ENG": {"1": "Home", "2": "Guide"}, "OPS": {"3": "Runbook"}})
    settle(monday.write_zip(folder / "backup-2024_05_06.zip"))
    assert sync(tmp_path, sandbox, folder) == {"1": "Home", "2": "Guide", "3": "Runbook"}

    # Tuesday's backup renamed a page and lacks OPS; Wednesday's is still being written.
    tuesday = backup(7, {"ENG": {"1": "Home", "2": "User guide"}})
    settle(tuesday.write_zip(folder / "backup-2024_05_07.zip"))
    wednesday = backup(8, {"ENG": {"1": "Home"}}).write_zip(tmp_path / "w.zip").read_bytes()
    (folder / "backup-2024_05_08.zip").write_bytes(wednesday[: len(wednesday) // 2])
    assert sync(tmp_path, sandbox, folder) == {"1": "Home", "2": "User guide", "3": "Runbook"}
    guide = next(p for p in sandbox.store.pages.values() if p["external_id"] == "2")
    assert "on day 7" in guide["html"]

    assert sync(tmp_path, sandbox, folder, missing_spaces="delete") == {
        "1": "Home",
        "2": "User guide",
    }


def test_an_unchanged_backup_is_not_read_again(tmp_path: Path, sandbox: SandboxServer) -> None:
    """A run over the same complete exports ends at the fingerprint, without a pass."""
    folder = tmp_path / "backups"
    export = backup(6, {"ENG": {"1": "Home", "2": "Guide"}})
    unpacked = export.write_folder(folder / "backup-2024_05_06")
    settle(unpacked)
    assert sync(tmp_path, sandbox, folder) == {"1": "Home", "2": "Guide"}
    posts = sandbox.store.requests(method="POST")
    # Same size, same times, unreadable in the middle: only a pass over it would notice.
    entities = unpacked / "entities.xml"
    data = entities.read_bytes()
    broken = data.replace(b"</object>", b"</0bject>", 1)  # ill-formed XML, same length
    assert broken != data and len(broken) == len(data)
    info = entities.stat()
    entities.write_bytes(broken)
    os.utime(entities, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert sync(tmp_path, sandbox, folder) == {"1": "Home", "2": "Guide"}
    assert sandbox.store.requests(method="POST") == posts


def test_a_folder_whose_only_export_is_settling_is_exit_75(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """An export still being written (modified just now) is temporary: exit 75 with the
    message, nothing sent; a space `spaces` names that no export holds lists those held."""
    folder = tmp_path / "backups"
    folder.mkdir()
    backup(6, {"ENG": {"100": "Home"}}).write_zip(folder / "backup-2024_05_06.zip")  # just now
    config = tmp_path / "syncd.yaml"
    source = {"name": "confluence", "connector": "confluence_export", "url": SITE}
    source["options"] = {"path": str(folder), "base_url": SITE}
    config.write_text(
        yaml.safe_dump(
            {
                "intercom": {"token": "t", "base_url": sandbox.url},
                "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
                "sources": [source],
            }
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 75, done.stdout + done.stderr
    error = json.loads(done.stdout)["sources"][0]["error"]
    settling = r"backup-2024_05_06\.zip: modified \d+ s ago; read once unchanged for 60 s"
    assert re.search(settling, error), error
    assert "try again once it has settled" in error
    assert sandbox.store.request_log == []

    settle(folder / "backup-2024_05_06.zip")
    source["options"] = {"path": str(folder), "base_url": SITE, "spaces": ["ENG", "HR"]}
    config.write_text(
        yaml.safe_dump(
            {
                "intercom": {"token": "t", "base_url": sandbox.url},
                "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
                "sources": [source],
            }
        ),
        encoding="utf-8",
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    error = json.loads(done.stdout)["sources"][0]["error"]
    assert "no current export holds the space(s) HR" in error
    assert error.endswith("The exports hold: ENG")


def test_restricted_and_empty_pages_are_counted_and_named_in_the_plan(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """A restricted page of an XML export: in the dry-run plan by name, and counted as
    excluded: restricted in the summary and --json; a page without a body as excluded: empty."""
    folder = tmp_path / "backups"
    folder.mkdir()
    export = backup(6, {"ENG": {"100": "Home", "200": "Salaries"}})
    export.page("300", "Blank", None, space="1")
    export.restrict("71", "200")
    settle(export.write_zip(folder / "backup-2024_05_06.zip"))
    config = tmp_path / "syncd.yaml"
    source = {"name": "confluence", "connector": "confluence_export", "url": SITE}
    source["options"] = {"path": str(folder), "base_url": SITE}
    config.write_text(
        yaml.safe_dump(
            {
                "intercom": {"token": "t", "base_url": sandbox.url},
                "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
                "sources": [source],
            }
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "syncd", "--config", str(config), "sync"]
    plan = subprocess.run(
        [*command, "--dry-run"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "  exclude 200: excluded: restricted (page 200 'Salaries': view-restricted" in plan
    assert "  exclude 300: excluded: empty" in plan
    done = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(done.stdout)["sources"][0]
    assert (report["listed"], report["created"], report["excluded"]) == (3, 1, 2)
    assert report["exclusions"] == {"restricted": 1, "empty": 1}


def test_a_space_dropped_from_spaces_is_excluded_not_gone(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Narrowing `spaces` takes that space's pages out as "excluded: space not selected"."""
    folder = tmp_path / "backups"
    monday = backup(6, {"ENG": {"1": "Home", "2": "Guide"}, "OPS": {"3": "Runbook"}})
    settle(monday.write_zip(folder / "backup-2024_05_06.zip"))
    assert sync(tmp_path, sandbox, folder, spaces=["ENG", "OPS"]) == {
        "1": "Home",
        "2": "Guide",
        "3": "Runbook",
    }
    assert sync(tmp_path, sandbox, folder, spaces=["ENG"]) == {"1": "Home", "2": "Guide"}
    status = subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(tmp_path / "syncd.yaml"), "status"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "deleted: 1 excluded: space not selected" in status, status
    assert "gone" not in status
