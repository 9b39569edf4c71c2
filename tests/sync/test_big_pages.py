"""A page over the size limit fails alone, clearly, and is not fetched again until it changes."""

from __future__ import annotations

import json
from pathlib import Path

from syncd.sandbox import SandboxServer
from tests.cli.test_cli_sync import make_site, pages, sandbox, syncd, write_config

__all__ = ["sandbox"]  # the fixture, imported for the test below


def test_oversized_page_fails_alone_until_its_version_changes(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Exit 3 naming the page and its size; next run skips it unread; once smaller it is sent."""
    make_site(tmp_path / "site", 3)
    big = tmp_path / "site" / "big.md"
    big.write_text("# Big\n\n" + "lorem ipsum dolor " * 3000 + "\n", encoding="utf-8")
    config = write_config(tmp_path, sandbox, f"sqlite:///{tmp_path / 'state.db'}")
    data = json.loads(config.read_text(encoding="utf-8"))
    data["intercom"]["max_page_bytes"] = 20_000
    config.write_text(json.dumps(data), encoding="utf-8")

    first = syncd(config, "sync")
    assert first.returncode == 3, first.stderr
    assert "failed big.md: page too large: 0.1 MB of HTML" in first.stdout
    assert "intercom.max_page_bytes" in first.stdout
    assert len(pages(sandbox)) == 3

    second = syncd(config, "sync")
    assert second.returncode == 3
    assert "failed big.md: still failing at this version" in second.stdout
    posts = sandbox.store.requests(method="POST")

    third = syncd(config, "sync")  # unchanged again: still no request for it
    assert sandbox.store.requests(method="POST") == posts
    assert third.returncode == 3

    big.write_text("# Big\n\nsmaller now\n", encoding="utf-8")
    fourth = syncd(config, "sync")
    assert fourth.returncode == 0, fourth.stdout
    assert len(pages(sandbox)) == 4
