"""`syncd status` names what a source's last listing read: the export file, the git commit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.connectors.confluence_xml_builder import XmlExportBuilder
from tests.gitrepos import Upstream

TOKEN = "origin-token"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


def _syncd(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_status_names_the_export_and_the_commit_listed(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    exports = tmp_path / "exports"
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.page("100", "Onboarding", "<p>Welcome.</p>")
    written = export.write_zip(exports / "Confluence-space-export-ENG.xml.zip")
    hour_ago = written.stat().st_mtime - 3600  # settled: an export still being copied is left
    os.utime(written, (hour_ago, hour_ago))
    # A newer export still being written: not read, but status says it is waiting.
    export.write_zip(exports / "Confluence-space-export-ENG-2.xml.zip")
    repo = Upstream(tmp_path)
    repo.write({"index.md": "# Home\n\nText.\n"})
    commit = repo.push()
    config = tmp_path / "syncd.yaml"
    config.write_text(
        json.dumps(
            {
                "intercom": {"token": TOKEN, "base_url": sandbox.url},
                "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
                "sources": [
                    {
                        "name": "wiki",
                        "connector": "confluence_export",
                        "url": "https://wiki.example.com",
                        "options": {"path": str(exports)},
                    },
                    {
                        "name": "wiki-file",
                        "connector": "confluence_export",
                        "url": "https://wiki.example.com/file",
                        "options": {"path": str(written)},
                    },
                    {
                        "name": "handbook",
                        "connector": "markdown",
                        "url": "https://handbook.example.com",
                        "options": {"git": {"url": repo.url, "ref": "main"}},
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    synced = _syncd(config, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    statuses = {s["name"]: s for s in json.loads(_syncd(config, "status", "--json").stdout)}
    assert statuses["wiki"]["origin"] == {
        "export": "Confluence-space-export-ENG.xml.zip",
        "spaces": "ENG from Confluence-space-export-ENG.xml.zip",
        "settling": "Confluence-space-export-ENG-2.xml.zip",
    }
    assert statuses["wiki"]["connector"] == "confluence_export"
    assert statuses["wiki-file"]["origin"] == {"export": "Confluence-space-export-ENG.xml.zip"}
    assert statuses["handbook"]["origin"]["commit"] == commit
    text = _syncd(config, "status").stdout
    assert (
        "last listing from export Confluence-space-export-ENG.xml.zip, spaces ENG from"
        " Confluence-space-export-ENG.xml.zip, settling Confluence-space-export-ENG-2.xml.zip"
    ) in text
    assert f"last listing from commit {commit}" in text
