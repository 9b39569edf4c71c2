"""End to end: ``python -m syncd sync`` keeps the Intercom sandbox equal to a real private DokuWiki.

The wiki changes between syncs (pages created, edited, deleted); after every sync the sandbox
holds exactly the wiki's pages, with their titles and URLs. A wrong password is a non-zero exit
with a clear message, and deletes nothing.
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
from tests.connectors.dokuwiki_fixtures import running_wiki
from tests.dokuwiki_server import BOT_PASSWORD, BOT_USER, DokuWikiServer

pytestmark = [pytest.mark.dokuwiki, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    "start": "====== Handbook ======\nSee [[ops:onboarding]].",
    "ops:onboarding": "====== Onboarding ======\nWelcome aboard.",
    "ops:expenses": "Claim expenses monthly.",
    "hr:holidays": "===== Holidays =====\n25 days a year.",
}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """The local Intercom stand-in on 127.0.0.1."""
    with SandboxServer(SandboxSettings(token="t")) as server:
        yield server


@pytest.fixture
def wiki(tmp_path: Path) -> Iterator[DokuWikiServer]:
    """A fresh private wiki with four pages in three namespaces."""
    with running_wiki(tmp_path / "wiki", PAGES) as server:
        yield server


def _config(tmp_path: Path, sandbox: SandboxServer, wiki: DokuWikiServer) -> Path:
    config = tmp_path / "syncd.yaml"
    source = {
        "name": "ops",
        "connector": "dokuwiki",
        "url": "https://wiki.example.com",
        "max_delete_fraction": 0.5,
        "options": {
            "base_url": wiki.base_url,
            "username": BOT_USER,
            "password": "${DOKUWIKI_PASSWORD}",
        },
    }
    config.write_text(
        yaml.safe_dump(
            {
                "intercom": {"token": "t", "base_url": sandbox.url},
                "state": {"url": f"sqlite:///{tmp_path / 's.db'}"},
                "sources": [source],
            }
        ),
        encoding="utf-8",
    )
    return config


def _sync(config: Path, password: str = BOT_PASSWORD) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "--config", str(config), "sync", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DOKUWIKI_PASSWORD": password},
        timeout=120,
        check=False,
    )
    assert password not in done.stdout + done.stderr
    return done


def _assert_sandbox_equals_wiki(sandbox: SandboxServer, wiki: DokuWikiServer) -> dict[str, Any]:
    pages = {page["external_id"]: page for page in sandbox.store.pages.values()}
    assert set(pages) == set(wiki.pages())
    for page_id, page in pages.items():
        assert page["url"] == f"{wiki.base_url}doku.php?id={page_id}"
        assert page["html"].strip()
    return pages


def test_syncs_keep_the_sandbox_equal_to_the_wiki(
    tmp_path: Path, sandbox: SandboxServer, wiki: DokuWikiServer
) -> None:
    """Creates, an edit and a delete arrive; a sync with nothing changed sends nothing."""
    config = _config(tmp_path, sandbox, wiki)
    first = _sync(config)
    assert first.returncode == 0, first.stdout + first.stderr
    pages = _assert_sandbox_equals_wiki(sandbox, wiki)
    assert pages["start"]["title"] == "Handbook"
    assert pages["ops:expenses"]["title"] == "ops:expenses"
    link = f'href="{wiki.base_url}doku.php?id=ops:onboarding"'
    assert link in pages["start"]["html"]

    wiki.edit_later("ops:onboarding", "====== Onboarding ======\nYour laptop is on your desk.")
    wiki.edit("ops:security", "====== Security ======\nLock your screen.")
    wiki.delete("hr:holidays")
    second = _sync(config)
    assert second.returncode == 0, second.stdout + second.stderr
    pages = _assert_sandbox_equals_wiki(sandbox, wiki)
    assert "laptop" in pages["ops:onboarding"]["html"]
    assert "hr:holidays" not in pages

    requests = sandbox.store.requests()
    third = _sync(config)
    assert third.returncode == 0
    report = json.loads(third.stdout)
    # Nothing changed: the run lists the wiki once and asks Intercom one thing, whether its
    # Content Import Source still exists.
    assert sandbox.store.requests() == requests + 1, report
    assert sandbox.store.request_log[-1][0] == "GET"


def test_a_wrong_password_exits_non_zero_and_deletes_nothing(
    tmp_path: Path, sandbox: SandboxServer, wiki: DokuWikiServer
) -> None:
    """The login answers False: the run fails saying so, and every published page stays."""
    config = _config(tmp_path, sandbox, wiki)
    assert _sync(config).returncode == 0
    published = set(sandbox.store.pages)
    wrong = "n0t: the #right% one"
    failed = _sync(config, password=wrong)
    assert failed.returncode != 0
    output = failed.stdout + failed.stderr
    assert "refused the login of 'syncbot'" in output
    assert "wrong user name or password" in output
    assert "Traceback" not in output
    assert set(sandbox.store.pages) == published
    assert sandbox.store.requests(method="DELETE") == 0
