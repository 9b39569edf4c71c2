"""Hostile Confluence XML exports under a real `syncd sync`: bounded, each page failing alone.

The attacks of the third adversarial probe: a CDATA body of hundreds of megabytes in a zip of
a few hundred kilobytes, and ten pages each including the next ten times (a 1 KB zip that
expands to ten billion copies). The page at fault fails, named (exit 3); the others are
published; memory stays bounded and a stop is honoured within seconds.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.cli.test_cli_hostile import failures, peak_rss_mib
from tests.connectors.confluence_xml_builder import XmlExportBuilder

SITE = "https://wiki.example.com"
TOKEN = "hostile-token"
HUGE = "@@HUGE@@"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


def write_config(tmp_path: Path, sandbox: SandboxServer, export: Path) -> Path:
    config = {
        "intercom": {"token": TOKEN, "base_url": sandbox.url},
        "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
        "sources": [
            {
                "name": "wiki",
                "connector": "confluence_export",
                "url": SITE,
                "options": {"path": str(export), "base_url": SITE},
            }
        ],
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def titles(sandbox: SandboxServer) -> list[str]:
    return sorted(str(page["title"]) for page in sandbox.store.pages.values())


def include(title: str) -> str:
    return (
        '<ac:structured-macro ac:name="include"><ac:parameter ac:name="">'
        f'<ac:link><ri:page ri:content-title="{title}"/></ac:link></ac:parameter>'
        "</ac:structured-macro>"
    )


def fan_out_export(path: Path) -> Path:
    """Ten pages, each including the next ten times, and one ordinary page."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    for n in range(10):
        body = f"<p>Level {n}.</p>" + (include(f"Level {n + 1}") * 10 if n < 9 else "")
        export.page(str(100 + n), f"Level {n}", body)
    export.page("200", "Ordinary", "<p>Nothing to see.</p>")
    return export.write_zip(path)


def test_huge_cdata_body_fails_its_page_alone_within_bounded_memory(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """A 40 MB CDATA body (a zip of a few hundred KB) fails its page, named, in well under the
    memory it would take whole; the other pages are published (exit 3)."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.page("100", "Huge", HUGE)
    export.page("101", "Fine", "<p>Fine text.</p>")
    export.page("102", "Also fine", "<p>More text.</p>")
    head, tail = export.entities().split(HUGE)
    path = tmp_path / "huge.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("exportDescriptor.properties", export.descriptor())
        with archive.open("entities.xml", "w", force_zip64=True) as out:
            out.write(head.encode())
            block = b"<p>" + b"x" * (1 << 20) + b"</p>"
            for _ in range(40):
                out.write(block)
            out.write(tail.encode())
    assert path.stat().st_size < 2_000_000
    done, peak = peak_rss_mib(write_config(tmp_path, sandbox, path), "sync")
    assert done.returncode == 3, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    failed = failures(done.stderr)
    assert list(failed) == ["100"], failed
    assert "'Huge'" in failed["100"] and "larger than the limit" in failed["100"]
    assert titles(sandbox) == ["Also fine", "Fine"]
    assert peak < 250, f"peak RSS {peak:.0f} MiB"


def test_include_fan_out_fails_the_expanding_pages_alone(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Pages whose includes expand past the bound fail, named; the rest are published."""
    path = fan_out_export(tmp_path / "fan.zip")
    done, peak = peak_rss_mib(write_config(tmp_path, sandbox, path), "sync")
    assert done.returncode == 3, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    failed = failures(done.stderr)
    # Level 7 brings in 10 + 100 includes; level 6, 1,110: past the bound of 200.
    assert sorted(failed) == [str(100 + n) for n in range(7)], failed
    assert all("includes expand more than 200 pages" in why for why in failed.values())
    assert titles(sandbox) == ["Level 7", "Level 8", "Level 9", "Ordinary"]
    assert peak < 250, f"peak RSS {peak:.0f} MiB"


def test_stop_during_include_fan_out_is_honoured_within_seconds(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """SIGTERM during a run over fan-out pages ends it within seconds."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    for copy in range(5):  # five independent fan-outs, so the run has work left to stop
        for n in range(10):
            title = f"C{copy} level {n}"
            nested = include(f"C{copy} level {n + 1}") * 10 if n < 9 else ""
            export.page(f"{copy}{n:02d}", title, f"<p>{title}.</p>{nested}")
    config = write_config(tmp_path, sandbox, export.write_zip(tmp_path / "fan.zip"))
    process = subprocess.Popen(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while sandbox.store.requests() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert time.monotonic() - stopped < 15, "the stop was not honoured within seconds"
    assert "Traceback" not in stderr
    assert process.returncode in (3, 143), stderr[-2000:]
