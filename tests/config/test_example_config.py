"""config.example.yaml as a new user meets it: a working run against `syncd sandbox`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """A real `syncd sandbox` process on a free port, with its default token."""
    process = subprocess.Popen(
        [sys.executable, "-m", "syncd", "--log-level", "warning", "sandbox", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("sandbox listening on "), line
        yield line.split()[3]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def only(**variables: str) -> dict[str, str]:
    """The environment with nothing of ours but ``variables``: no SYNCD_*, no secrets."""
    named = {"INTERCOM_ACCESS_TOKEN", "WIKI_BOT_PASSWORD", "GIT_TOKEN", "GITHUB_TOKEN"}
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith("SYNCD_") and name not in named
    }
    return kept | variables


def syncd(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(EXAMPLE), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_example_config_syncs_the_handbook_into_the_sandbox(
    tmp_path: Path, sandbox_url: str
) -> None:
    """Setting only the variables the file names, `sync --source handbook` publishes the
    bundled handbook; other sources' secrets and paths are not needed."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in ("INTERCOM_ACCESS_TOKEN", "SYNCD_INTERCOM__BASE_URL", "SYNCD_STATE_DIR"):
        assert name in text, f"config.example.yaml does not name {name}"
    environment = only(
        INTERCOM_ACCESS_TOKEN="sandbox",
        SYNCD_INTERCOM__BASE_URL=sandbox_url,
        SYNCD_STATE_DIR=str(tmp_path),
    )
    synced = syncd("sync", "--source", "handbook", "--json", env=environment, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    report = json.loads(synced.stdout)["sources"][0]
    assert report["source"] == "handbook"
    assert report["created"] > 0
    pages = httpx.get(
        f"{sandbox_url}/ai/external_pages", headers={"Authorization": "Bearer sandbox"}
    ).json()
    assert len(pages["data"]) == report["created"]
    assert (tmp_path / "syncd.db").exists()
    assert not (ROOT / "syncd.db").exists(), (
        "the state went beside the example, not to SYNCD_STATE_DIR"
    )
    # The status needs no secret at all.
    status = syncd("status", env=only(SYNCD_STATE_DIR=str(tmp_path)), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert f"handbook: {report['created']} pages held" in status.stdout
