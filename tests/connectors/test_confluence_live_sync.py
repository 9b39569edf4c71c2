"""End to end: ``syncd sync`` keeps the Intercom sandbox equal to a live Confluence site.

The Confluence stand-in (Cloud and Data Center) is seeded from a real XML export; between
syncs pages are edited, created, trashed, moved out of the space and restricted. After every
sync the sandbox holds exactly the pages the site publishes, and a no-op sync sends nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.confluence_server import EMAIL, TOKEN, StandIn
from tests.connectors.test_confluence_live import EXPORT

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token="t")) as server:
        yield server


def write_config(path: Path, site: StandIn, sandbox: SandboxServer, **source: Any) -> Path:
    """A configuration with one ``confluence`` source reading the stand-in."""
    options: dict[str, Any] = {
        "site": site.site,
        "deployment": site.deployment,
        "spaces": ["ds"],
        "token": "${CONFLUENCE_TOKEN}",
    }
    if site.deployment == "cloud":
        options["email"] = EMAIL
    config = path / "syncd.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "intercom": {"token": "t", "base_url": sandbox.url},
                "state": {"url": f"sqlite:///{path / 's.db'}"},
                "sources": [
                    {
                        "name": "wiki",
                        "connector": "confluence",
                        "url": site.site,
                        "max_delete_fraction": 0.5,
                        "options": options,
                        **source,
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    return config


def sync(config: Path, *args: str, expect: int = 0) -> dict[str, Any]:
    """``syncd sync --json``; its report."""
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--json", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        check=False,
        env={**_env(), "CONFLUENCE_TOKEN": TOKEN},
    )
    assert done.returncode == expect, f"exit {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert TOKEN not in done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
    return report


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "CONFLUENCE_TOKEN"}


def published(sandbox: SandboxServer) -> dict[str, dict[str, Any]]:
    """External id -> page, of every page in the sandbox."""
    pages = list(sandbox.store.pages.values())
    assert len({p["external_id"] for p in pages}) == len(pages), "duplicate pages"
    return {page["external_id"]: page for page in pages}


@pytest.mark.parametrize("deployment", ["cloud", "datacenter"])
def test_syncs_keep_intercom_equal_to_the_site(
    deployment: str, tmp_path: Path, sandbox: SandboxServer, shared_fixtures: Path
) -> None:
    with StandIn(deployment) as site:
        site.seed(shared_fixtures / EXPORT)
        config = write_config(tmp_path, site, sandbox)
        sync(config)
        first = published(sandbox)
        assert set(first) == set(site.pages)
        home = first["196614"]
        assert home["title"] == "Welcome to Confluence"
        assert home["url"] == f"{site.url}/spaces/ds/pages/196614/Welcome+to+Confluence"

        # A no-op run: ids and versions only, nothing sent to Intercom; its one request asks
        # whether the Content Import Source still exists.
        writes = sandbox.store.requests()
        site.requests.clear()
        sync(config)
        assert sandbox.store.requests() == writes + 1
        assert sandbox.store.request_log[-1][0] == "GET"
        assert site.count("/pages/1") + site.count("/content/1") == 0  # no page fetched

        site.edit("196615", "<p>Confluence is where the team works.</p>")
        new = site.add_page("ds", "Release notes", "<p>Version 2 is out.</p>", parent="196614")
        site.pages["196611"].status = "trashed"
        site.pages["196612"].space_key = "OTHER"  # moved out of the chosen space
        site.add_space("OTHER", "Elsewhere")
        sync(config)
        second = published(sandbox)
        assert "team works" in second["196615"]["html"]
        assert second["196615"]["id"] == first["196615"]["id"]
        assert second[new.id]["title"] == "Release notes"
        assert "196611" not in second
        assert "196612" not in second

        # A restriction changes no version: --full-resync re-checks them.
        site.pages["196613"].restricted = True
        sync(config)
        assert "196613" in published(sandbox)
        sync(config, "--full-resync")
        assert "196613" not in published(sandbox)
        # The state database keeps the restriction sweep, never the token.
        stored = (tmp_path / "s.db").read_bytes()
        assert b"confluence.restrictions" in stored
        assert TOKEN.encode() not in stored


def test_a_wrong_token_deletes_nothing(
    tmp_path: Path, sandbox: SandboxServer, shared_fixtures: Path
) -> None:
    """Data Center answers an unknown PAT as anonymous: the run stops, Intercom keeps all."""
    with StandIn("datacenter") as site:
        site.seed(shared_fixtures / EXPORT)
        config = write_config(tmp_path, site, sandbox)
        sync(config)
        held = set(published(sandbox))
        site.token = "rotated-" + TOKEN[:4]
        done = subprocess.run(
            [sys.executable, "-m", "syncd", "--config", str(config), "sync"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=180,
            check=False,
            env={**_env(), "CONFLUENCE_TOKEN": TOKEN},
        )
        assert done.returncode != 0
        assert "anonymous" in done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert TOKEN not in done.stdout + done.stderr
        assert set(published(sandbox)) == held


def test_a_space_moved_from_exports_keeps_its_pages(
    tmp_path: Path, sandbox: SandboxServer, shared_fixtures: Path
) -> None:
    """The same source switched from confluence_export to confluence: same Intercom pages."""
    export = shared_fixtures / EXPORT
    with StandIn("cloud") as site:
        site.seed(export)
        config = write_config(tmp_path, site, sandbox)
        live = yaml.safe_load(config.read_text(encoding="utf-8"))
        before = dict(live["sources"][0])
        live["sources"][0].update(
            connector="confluence_export",
            options={"path": str(export), "base_url": site.site, "spaces": ["ds"]},
        )
        config.write_text(yaml.safe_dump(live), encoding="utf-8")
        sync(config)
        exported = {key: page["id"] for key, page in published(sandbox).items()}
        assert set(exported) == set(site.pages)
        live["sources"][0] = before
        config.write_text(yaml.safe_dump(live), encoding="utf-8")
        sync(config)
        after = published(sandbox)
        assert {key: page["id"] for key, page in after.items()} == exported
        assert after["196614"]["url"].startswith(f"{site.url}/spaces/ds/pages/196614/")
