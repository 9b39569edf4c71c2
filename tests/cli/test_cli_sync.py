"""`syncd sync` and `syncd status` end to end: real processes, the sandbox, a Markdown folder."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings

TOKEN = "cli-token"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


def make_site(root: Path, count: int, *, words: int = 20) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        body = " ".join(f"word{j}" for j in range(words))
        (root / f"page-{i:04d}.md").write_text(f"# Page {i}\n\n{body}\n", encoding="utf-8")


def write_config(tmp_path: Path, sandbox: SandboxServer, state_url: str, **source: object) -> Path:
    config = {
        "intercom": {"token": TOKEN, "base_url": sandbox.url, "max_concurrency": 4},
        "state": {"url": state_url, "lease_ttl": "2s", "lease_wait": "20s"},
        "sources": [
            {
                "name": "docs",
                "connector": "markdown",
                "url": "https://docs.example.com",
                "options": {
                    "path": str(tmp_path / "site"),
                    "base_url": "https://docs.example.com/",
                },
                **source,
            }
        ],
    }
    path = tmp_path / "syncd.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def syncd(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", "--log-format", "json", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pages(sandbox: SandboxServer) -> list[dict[str, object]]:
    sources = [s for s in sandbox.store.list_sources() if s["url"] == "https://docs.example.com"]
    assert len(sources) <= 1, "duplicate content import sources"
    return sandbox.store.pages_of(int(sources[0]["id"])) if sources else []


def test_sync_then_nothing_to_do_then_status(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """A first sync publishes everything, a second does nothing; status reports both."""
    make_site(tmp_path / "site", 5)
    config = write_config(tmp_path, sandbox, state_url)
    first = syncd(config, "sync")
    assert first.returncode == 0, first.stderr
    assert "docs: 5 created, 0 updated, 0 deleted, 0 unchanged" in first.stdout
    second = syncd(config, "sync", "--json")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)["sources"][0]
    assert (report["created"], report["updated"], report["listed"]) == (0, 0, 5)
    assert len(pages(sandbox)) == 5
    status = syncd(config, "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)[0]
    assert data["pages_held"] == 5 and data["last_run"]["status"] == "ok"
    text = syncd(config, "status").stdout
    assert "docs: 5 pages held" in text and TOKEN not in text


def test_failing_document_exit_3_and_status_lists_it(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """A broken file fails alone: exit 3, the others published, status names the file."""
    make_site(tmp_path / "site", 3)
    (tmp_path / "site" / "broken.md").write_bytes(b"---\ntitle: [unclosed\n---\nbody\n")
    config = write_config(tmp_path, sandbox, state_url)
    result = syncd(config, "sync")
    assert result.returncode == 3, result.stderr
    assert "failed broken.md" in result.stdout
    assert len(pages(sandbox)) == 3
    status = syncd(config, "status").stdout
    assert "  1 failing document:\n" in status and "broken.md" in status
    assert "docs: 3 pages held" in status


def test_safety_stop_exit_4(tmp_path: Path, sandbox: SandboxServer, state_url: str) -> None:
    """Deleting most pages is refused with exit 4 until --allow-mass-delete."""
    make_site(tmp_path / "site", 5)
    config = write_config(tmp_path, sandbox, state_url)
    assert syncd(config, "sync").returncode == 0
    for path in list((tmp_path / "site").glob("*.md"))[:4]:
        path.unlink()
    refused = syncd(config, "sync")
    assert refused.returncode == 4
    assert "--allow-mass-delete" in refused.stdout
    assert len(pages(sandbox)) == 5
    assert syncd(config, "sync", "--allow-mass-delete").returncode == 0
    assert len(pages(sandbox)) == 1


def test_wrong_token_exit_6(tmp_path: Path, sandbox: SandboxServer, state_url: str) -> None:
    """A token Intercom refuses ends the command with exit 6 and says what to check."""
    make_site(tmp_path / "site", 3)
    config = write_config(tmp_path, sandbox, state_url)
    before = len(sandbox.store.request_log)
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYNCD_INTERCOM__TOKEN": "wrong-token"},
    )
    assert result.returncode == 6, result.stderr
    assert "wrong-token" not in result.stdout + result.stderr
    assert len(sandbox.store.request_log) - before == 1


def test_dry_run_json_plan(tmp_path: Path, sandbox: SandboxServer, state_url: str) -> None:
    """--dry-run --json lists the planned creates and writes nothing."""
    make_site(tmp_path / "site", 2)
    config = write_config(tmp_path, sandbox, state_url)
    result = syncd(config, "sync", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)["sources"][0]["plan"]
    assert sorted((p["action"], p["ref_id"]) for p in plan) == [
        ("create", "page-0000.md"),
        ("create", "page-0001.md"),
    ]
    assert pages(sandbox) == []


def test_dry_run_plan_names_a_rename(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """A file renamed with its front-matter id: the plan says "renamed from faq.md"."""
    site = tmp_path / "site"
    make_site(site, 2)
    (site / "faq.md").write_text("---\nid: faq\n---\n# FAQ\n\nAnswers.\n", encoding="utf-8")
    config = write_config(tmp_path, sandbox, state_url)
    assert syncd(config, "sync").returncode == 0
    (site / "faq.md").rename(site / "questions.md")
    result = syncd(config, "sync", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "  update FAQ [questions.md]: renamed from faq.md" in result.stdout.splitlines()
    planned = syncd(config, "sync", "--dry-run", "--json")
    plan = json.loads(planned.stdout)["sources"][0]["plan"]
    assert [(p["action"], p["reason"]) for p in plan if p["ref_id"] == "questions.md"] == [
        ("update", "renamed from faq.md")
    ]


def test_concurrent_runs_never_both_publish(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """Two processes syncing one source at once publish each page exactly once."""
    make_site(tmp_path / "site", 60)
    config = write_config(tmp_path, sandbox, state_url)
    sandbox.settings.latency_ms = 20
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        sandbox.settings.latency_ms = 0
    assert [p.returncode for p in procs] == [0, 0], outputs
    created = [json.loads(out)["sources"][0]["created"] for out, _ in outputs]
    assert sorted(created) == [0, 60]
    assert sandbox.store.requests(method="POST") - 1 == 60  # plus one source creation


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing(
    tmp_path: Path, sandbox: SandboxServer, state_url: str
) -> None:
    """A sync killed with SIGKILL at random points and restarted ends complete, no duplicates."""
    make_site(tmp_path / "site", 300)
    config = write_config(tmp_path, sandbox, state_url)
    sandbox.settings.latency_ms = 10
    rng = random.Random(7)
    kills = 0
    try:
        for _ in range(6):
            proc = subprocess.Popen(
                [sys.executable, "-m", "syncd", "--config", str(config), "sync"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.8, 2.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        # Edit and delete some pages between crashes, as a live source would.
        (tmp_path / "site" / "page-0000.md").write_text("# Page 0\n\nedited\n", encoding="utf-8")
        (tmp_path / "site" / "page-0001.md").unlink()
    finally:
        sandbox.settings.latency_ms = 0
    final = syncd(config, "sync", timeout=300)
    assert final.returncode == 0, final.stderr
    assert kills >= 1
    published = pages(sandbox)
    external_ids = [p["external_id"] for p in published]
    assert len(external_ids) == len(set(external_ids)), "duplicate pages"
    assert set(external_ids) == {f"page-{i:04d}.md" for i in range(300)} - {"page-0001.md"}
    edited = next(p for p in published if p["external_id"] == "page-0000.md")
    assert "edited" in str(edited["html"])


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_interrupted_sync_does_not_report_success(
    tmp_path: Path, sandbox: SandboxServer, signum: signal.Signals, code: int
) -> None:
    """`syncd sync` stopped by a signal mid-run exits 128 + the signal, its writes recorded."""
    make_site(tmp_path / "site", 300)
    config = write_config(tmp_path, sandbox, f"sqlite:///{tmp_path / 'state.db'}")
    sandbox.settings.latency_ms = 20
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while sandbox.store.requests(method="POST") < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        sandbox.settings.latency_ms = 0
    assert proc.returncode == code, err
    report = json.loads(out)
    assert report["exit_code"] == code and report["sources"][0]["stopped"]
    assert 0 < report["sources"][0]["created"] < 300
    assert len(pages(sandbox)) == report["sources"][0]["created"]
