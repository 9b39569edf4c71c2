"""`syncd sync` of a git source end to end: real git over authenticated HTTP, the sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from tests.gitrepos import Upstream, git, http_server

TOKEN = "intercom-token"
GIT_TOKEN = "git-token-9f8e7d6c5b4a"
SITE_URL = "https://docs.example.com"
SYNCD = (sys.executable, "-m", "syncd", "--log-level", "debug", "--log-format", "json")


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(token=TOKEN, rate_limit=0)) as server:
        yield server


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    repo = Upstream(tmp_path)
    repo.write({f"docs/page-{i}.md": f"# Page {i}\n\n{'text ' * 30}{i}\n" for i in range(6)})
    repo.write({"README.md": "# Not in the docs folder\n"})
    repo.push("first")
    return repo


class Site:
    """A configured git source served over HTTP with a token, and the commands to sync it."""

    def __init__(self, tmp_path: Path, sandbox: SandboxServer, state_url: str, url: str) -> None:
        self.tmp_path = tmp_path
        self.sandbox = sandbox
        self.config = tmp_path / "syncd.yaml"
        self.requests_log = tmp_path / "git-requests.log"
        self.write(state_url, url)

    def write(self, state_url: str, url: str, **git_options: object) -> None:
        source = {
            "name": "docs",
            "connector": "markdown",
            "url": SITE_URL,
            "max_delete_fraction": 0.5,
            "options": {
                "git": {"url": url, "ref": "main", "token": "${TEST_GIT_TOKEN}", **git_options},
                "path": "docs",
                "base_url": SITE_URL + "/",
            },
        }
        config = {
            "intercom": {"token": TOKEN, "base_url": self.sandbox.url, "max_concurrency": 4},
            "state": {"url": state_url, "cache_dir": str(self.tmp_path / "cache")},
            "sources": [source],
        }
        self.config.write_text(json.dumps(config), encoding="utf-8")

    def sync(self, *args: str, token: str = GIT_TOKEN) -> tuple[int, dict[str, object], str]:
        """One `syncd sync --json`: exit code, the source's report, and the log lines."""
        result = subprocess.run(
            [*SYNCD, "--config", str(self.config), "sync", "--json", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=_env(token),
        )
        report = json.loads(result.stdout)["sources"][0] if result.stdout.strip() else {}
        return result.returncode, report, result.stderr

    def pages(self) -> dict[str, dict[str, object]]:
        sources = [s for s in self.sandbox.store.list_sources() if s["url"] == SITE_URL]
        if not sources:
            return {}
        return {
            str(p["external_id"]): p for p in self.sandbox.store.pages_of(int(sources[0]["id"]))
        }

    def no_op_requests(self, since: int) -> bool:
        """Whether the requests since ``since`` are each a run's one check of its source."""
        return all(
            method == "GET" and path.startswith("/ai/content_import_sources/")
            for method, path, _ in self.sandbox.store.request_log[since:]
        )

    def git_connections(self) -> int:
        """How many times git connected to the server so far (one per fetch or ls-remote)."""
        if not self.requests_log.exists():
            return 0
        lines = self.requests_log.read_text(encoding="utf-8").splitlines()
        return sum(
            1
            for line in lines
            if line.startswith("GET ") and "/info/refs" in line and " 200" in line
        )


def _env(token: str) -> dict[str, str]:
    return {**os.environ, "TEST_GIT_TOKEN": token}


@pytest.fixture
def site(
    tmp_path: Path, sandbox: SandboxServer, state_url: str, upstream: Upstream
) -> Iterator[Site]:
    log = tmp_path / "git-requests.log"
    with http_server(upstream.bare.parent, "x-access-token", GIT_TOKEN, log=log) as base:
        yield Site(tmp_path, sandbox, state_url, f"{base}/docs.git")


def test_first_sync_edit_rename_force_push_and_no_op(site: Site, upstream: Upstream) -> None:
    """Pages follow the repo: an edit is one update, a rename keeps its page, a no-op is free."""
    code, report, _ = site.sync()
    assert code == 0, report
    assert (report["created"], report["listed"]) == (6, 6)
    assert set(site.pages()) == {f"page-{i}.md" for i in range(6)}

    # Nothing changed: one connection to git, one request to Intercom (is the source there?).
    connections, requests = site.git_connections(), len(site.sandbox.store.request_log)
    code, report, _ = site.sync()
    assert code == 0
    assert (report["listed"], report["created"], report["updated"]) == (6, 0, 0)
    assert site.git_connections() - connections == 1
    assert site.no_op_requests(requests)

    # History rewritten to the same tree (an amended message): still nothing to send.
    upstream.amend_push("same tree, another commit")
    code, report, _ = site.sync()
    assert (code, report["created"], report["updated"]) == (0, 0, 0)
    assert site.no_op_requests(requests)

    # An edit pushed: exactly one update.
    upstream.write({"docs/page-1.md": "# Page 1\n\nEdited.\n"})
    upstream.push("edit")
    code, report, _ = site.sync()
    assert (code, report["updated"], report["created"], report["deleted"]) == (0, 1, 0, 0)
    assert "Edited." in str(site.pages()["page-1.md"]["html"])

    # A rename: the same page (same external id and Intercom id) is updated once.
    page_id = site.pages()["page-2.md"]["id"]
    upstream.run("mv", "docs/page-2.md", "docs/renamed.md")
    upstream.push("rename")
    code, report, _ = site.sync()
    assert (code, report["updated"], report["created"], report["deleted"]) == (0, 1, 0, 0)
    assert site.pages()["page-2.md"]["id"] == page_id
    assert site.pages()["page-2.md"]["url"] == SITE_URL + "/renamed/"

    # A force-push rewriting history: the trees are compared, one page changed.
    upstream.write({"docs/page-3.md": "# Page 3\n\nRewritten.\n"})
    upstream.amend_push("rewritten history")
    code, report, _ = site.sync()
    assert (code, report["updated"], report["created"], report["deleted"]) == (0, 1, 0, 0)

    # A force-push back to an older tree is a change too: page 3 goes back.
    upstream.run("reset", "--hard", "HEAD~1")
    upstream.push("older", force=True)
    code, report, _ = site.sync()
    assert code == 0
    assert "Rewritten." not in str(site.pages()["page-3.md"]["html"])


def test_deleted_branch_or_wrong_token_deletes_nothing(site: Site, upstream: Upstream) -> None:
    """A vanished branch or a refused token fails the run (non-zero) and keeps every page."""
    assert site.sync()[0] == 0
    held = set(site.pages())
    deletes = site.sandbox.store.requests(method="DELETE")

    code, report, logs = site.sync(token="not-the-token")
    assert code != 0
    assert "Authentication failed" in str(report["error"])
    assert "not-the-token" not in logs + json.dumps(report)

    git("branch", "-m", "main", "other", cwd=upstream.bare)
    code, report, _ = site.sync()
    assert code != 0
    assert "couldn't find remote ref refs/heads/main" in str(report["error"])
    assert set(site.pages()) == held
    assert site.sandbox.store.requests(method="DELETE") == deletes


def test_an_emptied_tree_meets_the_mass_deletion_guard(site: Site, upstream: Upstream) -> None:
    """A push that removes every page is refused by the safety stop, like any other source."""
    assert site.sync()[0] == 0
    upstream.run("rm", "-q", "-r", "docs")
    upstream.write({"docs/.keep": ""})
    upstream.push("empty")
    code, _, _ = site.sync()
    assert code == 4
    assert len(site.pages()) == 6


def _cmdlines() -> list[bytes]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((entry / "cmdline").read_bytes())
            except OSError:
                continue
    return found


def test_the_token_is_in_no_process_list_cache_file_or_log_line(
    tmp_path: Path, sandbox: SandboxServer, upstream: Upstream
) -> None:
    """While git fetches, no process shows the token; neither does the cache nor any log line."""
    with http_server(upstream.bare.parent, "x-access-token", GIT_TOKEN, delay=0.3) as base:
        site = Site(tmp_path, sandbox, f"sqlite:///{tmp_path / 'state.db'}", f"{base}/docs.git")
        process = subprocess.Popen(
            [*SYNCD, "--config", str(site.config), "sync"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(GIT_TOKEN),
        )
        saw_git = False
        while process.poll() is None:
            for cmdline in _cmdlines():
                assert GIT_TOKEN.encode() not in cmdline
                saw_git = saw_git or (b"fetch" in cmdline and base.encode() in cmdline)
            time.sleep(0.02)
        out, err = process.communicate()
    assert process.returncode == 0, err
    assert saw_git, "the fetch was never seen running"
    assert GIT_TOKEN.encode() not in out + err
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert any(p.name == "config" for p in files)
    for path in files:
        assert GIT_TOKEN.encode() not in path.read_bytes(), path


def test_moving_most_pages_is_renames_not_a_mass_deletion(site: Site, upstream: Upstream) -> None:
    """A folder of pages moved by git keeps every page: updates only, no safety stop."""
    assert site.sync()[0] == 0
    ids = {external_id: page["id"] for external_id, page in site.pages().items()}
    (upstream.work / "docs" / "moved").mkdir()
    for i in range(5):
        upstream.run("mv", f"docs/page-{i}.md", f"docs/moved/page-{i}.md")
    upstream.push("move five of six pages")
    code, report, _ = site.sync()
    assert (code, report["updated"], report["created"], report["deleted"]) == (0, 5, 0, 0)
    assert {external_id: page["id"] for external_id, page in site.pages().items()} == ids
    assert site.pages()["page-0.md"]["url"] == SITE_URL + "/moved/page-0/"


def test_a_lost_cache_volume_costs_a_fetch_not_the_renames(site: Site, upstream: Upstream) -> None:
    """The cache folder removed between runs (an emptyDir): a rename still keeps its page."""
    assert site.sync()[0] == 0
    ids = {external_id: page["id"] for external_id, page in site.pages().items()}
    shutil.rmtree(site.tmp_path / "cache")
    # Nothing changed: the state database's fingerprint makes the run a no-op after one fetch.
    requests = len(site.sandbox.store.request_log)
    code, report, _ = site.sync()
    assert (code, report["created"], report["updated"], report["deleted"]) == (0, 0, 0, 0)
    assert site.no_op_requests(requests)

    shutil.rmtree(site.tmp_path / "cache")
    upstream.run("mv", "docs/page-2.md", "docs/renamed.md")
    upstream.push("rename")
    code, report, logs = site.sync()
    assert (code, report["updated"], report["created"], report["deleted"]) == (0, 1, 0, 0)
    assert {external_id: page["id"] for external_id, page in site.pages().items()} == ids
    assert site.pages()["page-2.md"]["url"] == SITE_URL + "/renamed/"
    assert "git.last_commit_fetched_again" in logs
    assert not list((site.tmp_path / "cache").rglob("identities.json"))
