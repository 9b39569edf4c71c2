"""Attachments of Markdown folders and git sources as pages: `syncd sync` end to end, real
files made by the Office and PDF libraries, the sandbox over HTTP, real subprocesses."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests import officefiles
from tests.gitrepos import Upstream, http_server

TOKEN = "attachments-token"
GIT_TOKEN = "git-token-attachments-1"
SITE_URL = "https://docs.example.com"
TYPES = ["pdf", "docx", "pptx", "xlsx", "txt"]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


def write_config(tmp_path: Path, sandbox: SandboxServer, options: dict[str, object]) -> Path:
    config = {
        "intercom": {"token": TOKEN, "base_url": sandbox.url, "max_concurrency": 4},
        "state": {
            "url": f"sqlite:///{tmp_path / 'state.db'}",
            "cache_dir": str(tmp_path / "cache"),
        },
        "sources": [
            {
                "name": "docs",
                "connector": "markdown",
                "url": SITE_URL,
                "max_delete_fraction": 0.5,
                "options": {"base_url": SITE_URL + "/", **options},
            }
        ],
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def sync(config: Path, *args: str) -> tuple[int, dict[str, object], str]:
    """One `syncd sync --json`: exit code, the source's report, and stdout + stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--json", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "TEST_GIT_TOKEN": GIT_TOKEN},
    )
    report = json.loads(result.stdout)["sources"][0] if result.stdout.startswith("{") else {}
    return result.returncode, report, result.stdout + result.stderr


def published(sandbox: SandboxServer) -> dict[str, dict[str, object]]:
    sources = [s for s in sandbox.store.list_sources() if s["url"] == SITE_URL]
    if not sources:
        return {}
    return {str(p["external_id"]): p for p in sandbox.store.pages_of(int(sources[0]["id"]))}


def make_tree(root: Path) -> None:
    """A docs tree with a page, four good attachments, a scan and three hostile files."""
    files = {
        "index.md": b"# Home\n\nSee the [refund policy](guides/policy.pdf).\n",
        "guides/policy.pdf": officefiles.pdf_file(["Refunds within 30 days."], title="Refunds"),
        "guides/onboarding.docx": officefiles.docx_file(),
        "audits/2019-03-27.pdf": officefiles.pdf_file(["Audit passed."]),
        "deck.pptx": officefiles.pptx_file(),
        "sheets/prices.xlsx": officefiles.xlsx_file(),
        "scan.pdf": officefiles.scanned_pdf(),
        "broken.pdf": officefiles.pdf_file(["cut"])[:-300],
        "bomb.docx": officefiles.zip_bomb_docx(),
        "lying.xlsx": officefiles.docx_file(),
        "huge.pdf": officefiles.blank_pdf(10_000),
        "logo.png": b"\x89PNG\r\n\x1a\n not an attachment type",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


GOOD = {
    "attachment:guides/policy.pdf": "Refunds",
    "attachment:guides/onboarding.docx": "Onboarding guide",
    "attachment:audits/2019-03-27.pdf": "audits: 2019-03-27.pdf",
    "attachment:deck.pptx": "docs: deck.pptx",
    "attachment:sheets/prices.xlsx": "sheets: prices.xlsx",
}
HOSTILE = {
    "broken.pdf": "truncated PDF",
    "bomb.docx": "zip bomb",
    "lying.xlsx": "is named .xlsx but is not an Excel workbook",
    "huge.pdf": "has 10000 pages",
}


def test_folder_attachments_become_pages_and_hostile_files_fail_alone(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Every attachment is one page with a human title and a URL to the file; a scan is
    excluded as 'no text'; each hostile file fails alone, named (exit 3); the run's memory
    stays under 512 MiB; a second run reads nothing and sends nothing."""
    make_tree(tmp_path / "site")
    config = write_config(
        tmp_path, sandbox, {"path": str(tmp_path / "site"), "attachments": {"types": TYPES}}
    )
    code, report, output = sync(config)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert code == 3, output
    pages = published(sandbox)
    assert {key: page["title"] for key, page in pages.items() if key != "index.md"} == GOOD
    assert set(pages) == {*GOOD, "index.md"}
    policy = pages["attachment:guides/policy.pdf"]
    assert policy["url"] == f"{SITE_URL}/guides/policy.pdf"
    assert policy["html"] == "<section><p>Refunds within 30 days.</p></section>"
    assert "<table>" in str(pages["attachment:guides/onboarding.docx"]["html"])
    assert (report["created"], report["excluded"], report["failed"]) == (6, 1, 4)
    assert report["exclusions"] == {"no text": 1}
    failures = {f["ref_id"]: f["error"] for f in report["failures"]}  # type: ignore[attr-defined]
    assert set(failures) == set(HOSTILE)
    for name, reason in HOSTILE.items():
        assert failures[name].startswith(f"{name}: ") and reason in failures[name]
    assert peak < 512 * 1024 * 1024, f"peak RSS {peak >> 20} MiB"

    # Nothing changed: nothing read, nothing sent; the hostile files wait for a change.
    requests = len(sandbox.store.request_log)
    code, report, output = sync(config)
    assert code == 3, output
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 6)
    assert (report["excluded"], report["failed"]) == (1, 4)
    # Only the run's check that its Content Import Source still exists.
    assert [r[:2] for r in sandbox.store.request_log[requests:]] == [
        ("GET", f"/ai/content_import_sources/{sandbox.store.list_sources()[0]['id']}")
    ]
    assert '"document.failed"' not in output  # known to fail at this version: not read again


def test_replaced_removed_and_switched_off_attachments(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """A replaced file is one update, a removed one one delete, and switching attachments off
    is a mass deletion the safety stop refuses until allowed."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.md").write_text("# Home\n\nHello.\n", encoding="utf-8")
    for number in range(4):
        (site / f"terms-{number}.pdf").write_bytes(officefiles.pdf_file([f"Terms {number}."]))
    (site / "notes.txt").write_text("Plain notes.\n", encoding="utf-8")
    options: dict[str, object] = {"path": str(site), "attachments": {"types": TYPES}}
    config = write_config(tmp_path, sandbox, options)
    code, report, output = sync(config)
    assert (code, report["created"]) == (0, 6), output

    (site / "terms-0.pdf").write_bytes(officefiles.pdf_file(["Terms 0, revised."]))
    (site / "terms-1.pdf").unlink()
    code, report, output = sync(config)
    assert (code, report["updated"], report["deleted"], report["created"]) == (0, 1, 1, 0)
    pages = published(sandbox)
    assert "revised" in str(pages["attachment:terms-0.pdf"]["html"])
    assert "attachment:terms-1.pdf" not in pages

    config = write_config(tmp_path, sandbox, {"path": str(site)})
    code, report, output = sync(config)
    assert code == 4, output
    assert len(published(sandbox)) == 5
    code, report, output = sync(config, "--allow-mass-delete")
    assert (code, report["deleted"]) == (0, 4), output
    assert set(published(sandbox)) == {"index.md"}


def test_attachments_are_off_by_default_and_types_are_checked(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Without `attachments`, files are not pages; an unknown type is a configuration error."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.md").write_text("# Home\n\nHello.\n", encoding="utf-8")
    (site / "policy.pdf").write_bytes(officefiles.pdf_file(["Refunds."]))
    code, report, _ = sync(write_config(tmp_path, sandbox, {"path": str(site)}))
    assert (code, report["listed"]) == (0, 1)
    bad = write_config(tmp_path, sandbox, {"path": str(site), "attachments": {"types": ["exe"]}})
    code, _, output = sync(bad)
    assert code == 2
    assert "unknown attachment type exe" in output and "Traceback" not in output


def test_git_source_attachments_follow_the_repository(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Attachments of a git source are read from the fetched tree: published, replaced by one
    update when a commit changes them, deleted when a commit removes them."""
    upstream = Upstream(tmp_path)
    upstream.write({"docs/index.md": "# Docs\n\nHello.\n", "README.md": "# Outside\n"})
    (upstream.work / "docs" / "guide.docx").write_bytes(officefiles.docx_file())
    (upstream.work / "docs" / "old.pdf").write_bytes(officefiles.pdf_file(["Old terms."]))
    (upstream.work / "outside.pdf").write_bytes(officefiles.pdf_file(["Not in docs."]))
    upstream.push("first")
    with http_server(upstream.bare.parent, "x-access-token", GIT_TOKEN) as base:
        options = {
            "git": {"url": f"{base}/docs.git", "ref": "main", "token": "${TEST_GIT_TOKEN}"},
            "path": "docs",
            "attachments": {"types": ["pdf", "docx"]},
        }
        config = write_config(tmp_path, sandbox, options)
        code, report, output = sync(config)
        assert (code, report["created"]) == (0, 3), output
        pages = published(sandbox)
        assert set(pages) == {"index.md", "attachment:guide.docx", "attachment:old.pdf"}
        assert pages["attachment:guide.docx"]["title"] == "Onboarding guide"

        (upstream.work / "docs" / "guide.docx").write_bytes(
            officefiles.docx_file(words="Second day")
        )
        (upstream.work / "docs" / "old.pdf").unlink()
        upstream.push("replace and remove")
        code, report, output = sync(config)
        assert (code, report["updated"], report["deleted"]) == (0, 1, 1), output
        assert "Second day" in str(published(sandbox)["attachment:guide.docx"]["html"])


def test_sigterm_during_extraction_stops_the_run_within_seconds(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """SIGTERM while workers read big files: syncd kills the worker and exits 143 at once."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.md").write_text("# Home\n\nHello.\n", encoding="utf-8")
    block = ("lorem ipsum dolor sit amet " * 40 + "\n\n").encode() * 14_000  # 15 MB
    for number in range(10):
        (site / f"minutes-{number}.txt").write_bytes(block)
    config = write_config(tmp_path, sandbox, {"path": str(site), "attachments": {"types": ["txt"]}})
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while sandbox.store.requests(method="POST") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # a worker is reading one of the files now
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - signalled < 10, err
    assert proc.returncode == 143, err
    report = json.loads(out)["sources"][0]
    assert report["stopped"] and report["failed"] < 10
