"""The Markdown connector reading a git repository it fetches itself (file:// and HTTP)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.config.loading import load_config
from syncd.connectors.base import (
    Connector,
    DocumentError,
    InMemory,
    Memory,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.markdown.connector import MarkdownConnector
from syncd.connectors.markdown.git import GitTimeout, run
from syncd.errors import ConfigError
from tests.connectors.contract import ConnectorContract
from tests.gitrepos import Upstream, git, http_server


def connector(
    tmp_path: Path, url: str, memory: Memory | None = None, **options: object
) -> MarkdownConnector:
    git_options = {"url": url, **options.pop("git", {})}  # type: ignore[dict-item]
    source = SourceInfo(
        "docs", "https://docs.example.com", cache_dir=tmp_path / "cache", memory=memory
    )
    built = MarkdownConnector.from_config(
        {"git": git_options, "base_url": "https://docs.example.com/", **options},
        source=source,
        base_dir=tmp_path,
    )
    assert isinstance(built, MarkdownConnector)
    return built


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    repo = Upstream(tmp_path)
    repo.write(
        {
            "index.md": "# Home\n\nSee [setup](guide/setup.md).\n",
            "guide/setup.md": "# Setup\n\nSteps.\n",
        }
    )
    repo.push("first")
    return repo


class TestGitMarkdownContract(ConnectorContract):
    """The shared connector contract, over a repository fetched from file://."""

    fingerprint = True  # the fetched tree
    changes = True  # the remote's ref moving

    @pytest.fixture
    def connector(self, tmp_path: Path) -> Iterator[Connector]:
        repo = Upstream(tmp_path)
        repo.write(
            {
                "index.md": "# Welcome\n\nSee [setup](guide/setup.md).\n",
                "guide/setup.md": "# Setup\n\nSteps.\n",
                "guide/draft.md": "---\ndraft: true\n---\nNot yet.\n",
            }
        )
        repo.push()
        with connector(tmp_path, repo.url) as source:
            yield source


def listing(source: MarkdownConnector) -> dict[str, str]:
    source.fingerprint()
    return {ref.id: ref.version for ref in source.list()}


def test_pages_are_listed_with_blob_ids_and_read_from_git(
    tmp_path: Path, upstream: Upstream
) -> None:
    """A listing gives each page's blob id as its version; a fetch reads the fetched commit."""
    with connector(tmp_path, upstream.url) as source:
        refs = listing(source)
        blob = upstream.run("rev-parse", "HEAD:guide/setup.md").strip()
        assert set(refs) == {"index.md", "guide/setup.md"}
        assert refs["guide/setup.md"].startswith(blob + ":")
        upstream.write({"guide/setup.md": "# Changed upstream after the fetch\n"})
        upstream.push()
        page = source.fetch(next(r for r in source.list() if r.id == "index.md"))
    assert page.title == "Home"
    assert 'href="https://docs.example.com/guide/setup/"' in page.body
    assert not (tmp_path / "cache" / "docs" / "repo.git" / "index.md").exists()


def test_fingerprint_is_the_tree_so_a_rewrite_with_the_same_tree_changes_nothing(
    tmp_path: Path, upstream: Upstream
) -> None:
    """An amended commit with the same tree keeps the fingerprint; an edit changes it."""
    with connector(tmp_path, upstream.url) as source:
        first = source.fingerprint()
    upstream.amend_push("same tree, new commit")
    with connector(tmp_path, upstream.url) as source:
        assert source.fingerprint() == first
    upstream.write({"index.md": "# Home\n\nEdited.\n"})
    upstream.push()
    with connector(tmp_path, upstream.url) as source:
        assert source.fingerprint() != first


def test_path_names_a_folder_inside_the_repository(tmp_path: Path, upstream: Upstream) -> None:
    """With git, path is relative to the repository: only that folder's pages are listed."""
    with connector(tmp_path, upstream.url, path="guide") as source:
        assert set(listing(source)) == {"setup.md"}
    with (
        connector(tmp_path, upstream.url, path="missing") as source,
        pytest.raises(SourceUnavailable, match="'missing' is not a folder"),
    ):
        source.fingerprint()


def test_a_missing_branch_or_remote_is_source_unavailable(
    tmp_path: Path, upstream: Upstream
) -> None:
    """A ref the remote lacks, or no remote at all, stops the source instead of listing nothing."""
    with (
        connector(tmp_path, upstream.url, git={"ref": "gone"}) as source,
        pytest.raises(SourceUnavailable, match="couldn't find remote ref refs/heads/gone"),
    ):
        source.fingerprint()
    with (
        connector(tmp_path, (tmp_path / "nowhere.git").as_uri()) as source,
        pytest.raises(SourceUnavailable, match="cannot fetch"),
    ):
        list(source.list())


def test_symlinks_submodules_and_hidden_files_are_not_pages(
    tmp_path: Path, upstream: Upstream
) -> None:
    """Only regular files outside hidden folders are pages; links and submodules are skipped."""
    upstream.write({".github/notes.md": "hidden", "node_modules/x.md": "dependency"})
    (upstream.work / "link.md").symlink_to("index.md")
    commit = upstream.run("rev-parse", "HEAD").strip()
    upstream.run("update-index", "--add", "--cacheinfo", f"160000,{commit},vendor")
    upstream.push("odd entries")
    with connector(tmp_path, upstream.url) as source:
        assert set(listing(source)) == {"index.md", "guide/setup.md"}


def test_a_renamed_file_keeps_its_external_id(tmp_path: Path, upstream: Upstream) -> None:
    """git's rename detection carries a page's external id to its new path, across runs."""
    memory = InMemory()
    with connector(tmp_path, upstream.url, memory) as source:
        listing(source)
    upstream.run("mv", "guide/setup.md", "guide/install.md")
    upstream.push("rename")
    with connector(tmp_path, upstream.url, memory) as source:
        refs = listing(source)
        moved = source.fetch(next(r for r in source.list() if r.id == "guide/install.md"))
    assert set(refs) == {"index.md", "guide/install.md"}
    assert moved.external_id == "guide/setup.md"
    assert moved.url == "https://docs.example.com/guide/install/"
    # A new file at the old path gets an id of its own; the moved page keeps its id later on.
    upstream.write(
        {"guide/setup.md": "# A new setup page\n", "guide/install.md": "# Install\n\nEdited.\n"}
    )
    upstream.push("new file at the old path")
    with connector(tmp_path, upstream.url, memory) as source:
        listing(source)
        new = source.fetch(next(r for r in source.list() if r.id == "guide/setup.md"))
        edited = source.fetch(next(r for r in source.list() if r.id == "guide/install.md"))
    assert edited.external_id == "guide/setup.md"
    assert new.external_id not in (None, "guide/setup.md")


def test_renames_are_followed_after_the_cache_folder_is_lost(
    tmp_path: Path, upstream: Upstream
) -> None:
    """The memory, not the cache, remembers: a new cache fetches the last commit back."""
    memory = InMemory()
    with connector(tmp_path, upstream.url, memory) as source:
        listing(source)
    assert not (tmp_path / "cache" / "identities.json").exists()
    upstream.run("mv", "guide/setup.md", "guide/install.md")
    upstream.push("rename")
    shutil.rmtree(tmp_path / "cache")
    with connector(tmp_path, upstream.url, memory) as source:
        assert set(listing(source)) == {"index.md", "guide/install.md"}
        moved = source.fetch(next(r for r in source.list() if r.id == "guide/install.md"))
    assert moved.external_id == "guide/setup.md"
    # Without the memory, the move is not followed: the file is a new page.
    shutil.rmtree(tmp_path / "cache")
    upstream.run("mv", "guide/install.md", "guide/setup-guide.md")
    upstream.push("rename again")
    with connector(tmp_path, upstream.url, InMemory()) as source:
        listing(source)
        fresh = source.fetch(next(r for r in source.list() if r.id == "guide/setup-guide.md"))
    assert fresh.external_id is None


def test_renames_are_not_followed_when_the_last_commit_is_gone(
    tmp_path: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    """History rewritten and collected upstream, cache lost: a warning, then a new page."""
    memory = InMemory()
    with connector(tmp_path, upstream.url, memory) as source:
        listing(source)
    state = json.loads(memory.get("git.identities") or "{}")
    memory.put("git.identities", json.dumps({**state, "tree": "1" * 40, "commit": "2" * 40}))
    shutil.rmtree(tmp_path / "cache")
    upstream.run("mv", "guide/setup.md", "guide/install.md")
    upstream.push("rename")
    with connector(tmp_path, upstream.url, memory) as source:
        assert set(listing(source)) == {"index.md", "guide/install.md"}
        moved = source.fetch(next(r for r in source.list() if r.id == "guide/install.md"))
    assert moved.external_id is None
    assert "git.renames_not_followed" in capsys.readouterr().out


def test_the_token_never_reaches_argv_or_the_cache(tmp_path: Path, upstream: Upstream) -> None:
    """Over HTTP with a token, the fetch works, and the token is in no file of the cache."""
    token = "s3cret-token-value"
    with http_server(upstream.bare.parent, "bot", token) as base:
        with connector(
            tmp_path, f"{base}/docs.git", git={"token": token, "username": "bot"}
        ) as source:
            assert set(listing(source)) == {"index.md", "guide/setup.md"}
        with (
            connector(tmp_path, f"{base}/docs.git", git={"token": "wrong"}) as source,
            pytest.raises(SourceUnavailable, match="Authentication failed") as failure,
        ):
            source.fingerprint()
        with connector(tmp_path, f"{base}/docs.git") as source, pytest.raises(SourceUnavailable):
            source.fingerprint()
    assert "wrong" not in str(failure.value)
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_credentials_in_the_url_are_refused_without_echoing_them(tmp_path: Path) -> None:
    """A URL with a password in it is a configuration error that does not repeat the password."""
    config = tmp_path / "syncd.yaml"
    source = {
        "name": "docs",
        "connector": "markdown",
        "url": "https://docs.example.com",
        "options": {"git": {"url": "https://bot:hunter2@git.example.com/docs.git"}},
    }
    config.write_text(json.dumps({"sources": [source]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="holds credentials") as failure:
        load_config(config)
    assert "hunter2" not in str(failure.value)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An HTTP port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/docs.git"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_a_hung_remote_is_killed_with_its_helpers(tmp_path: Path, silent_server: str) -> None:
    """A fetch that outlives its timeout fails, and no git helper process is left behind."""
    env = {"PATH": os.environ["PATH"], "GIT_TERMINAL_PROMPT": "0"}
    started = time.monotonic()
    with pytest.raises(GitTimeout):
        run(["ls-remote", silent_server], env=env, timeout=1.5)
    assert time.monotonic() - started < 30
    deadline = time.monotonic() + 10
    while _processes_mentioning(silent_server) and time.monotonic() < deadline:
        time.sleep(0.1)  # killed processes may take a moment to be reaped
    assert _processes_mentioning(silent_server) == []


def test_a_git_lfs_pointer_fails_its_page_alone(tmp_path: Path, upstream: Upstream) -> None:
    """A page kept in Git LFS is a pointer in the tree: it fails with a message, never published."""
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 12\n"
    upstream.write({"big.md": pointer})
    upstream.push()
    with connector(tmp_path, upstream.url) as source:
        ref = next(r for r in source.list() if r.id == "big.md")
        with pytest.raises(DocumentError, match=r"big\.md: stored in Git LFS"):
            source.fetch(ref)


def test_an_oversized_page_fails_alone(tmp_path: Path, upstream: Upstream) -> None:
    """A blob beyond the size limit fails its document with a message naming it."""
    with connector(tmp_path, upstream.url) as source:
        listing(source)
        assert source.git is not None
        with pytest.raises(DocumentError, match=r"index\.md: larger than"):
            source.git.read("index.md", limit=4)
        assert source.git.read("guide/setup.md", limit=1000).startswith(b"# Setup")


def test_the_default_branch_is_followed_when_no_ref_is_set(
    tmp_path: Path, upstream: Upstream
) -> None:
    """Without git.ref the remote's HEAD is fetched, and a renamed default branch is followed."""
    with connector(tmp_path, upstream.url) as source:
        assert "index.md" in listing(source)
    git("symbolic-ref", "HEAD", "refs/heads/trunk", cwd=upstream.bare)
    git("branch", "-m", "main", "trunk", cwd=upstream.bare)
    with connector(tmp_path, upstream.url) as source:
        assert "index.md" in listing(source)


def test_polling_asks_the_remote_head_without_fetching(tmp_path: Path, upstream: Upstream) -> None:
    """poll_changes compares the remote's head commit: the whole source changed once it moves."""
    with connector(tmp_path, upstream.url, git={"ref": "main"}) as source:
        assert source.watch_root() is None and source.lookup(["index.md"]) is None
        first = source.poll_changes(None)
        assert first.cursor == upstream.run("rev-parse", "HEAD").strip()
        assert not source.poll_changes(first.cursor).changes
        upstream.write({"index.md": "# Home\n\nMoved on.\n"})
        upstream.push()
        moved = source.poll_changes(first.cursor)
    assert moved.changes.everything
    assert not (tmp_path / "cache" / "repo.git").exists()  # polling fetched nothing


def test_a_deploy_key_is_the_only_ssh_identity_and_host_keys_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ssh_key_file, git's ssh gets that key alone, no prompts and strict host keys."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "ssh-args"
    fake_ssh = bin_dir / "ssh"  # stands in for OpenSSH at the process boundary
    fake_ssh.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}\nexit 255\n', encoding="utf-8")
    fake_ssh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    key = tmp_path / "deploy key"
    key.write_text("not a real key\n", encoding="utf-8")
    options = {"ssh_key_file": "deploy key", "known_hosts_file": "known_hosts", "ref": "main"}
    url = "ssh://git@git.example.com/acme/docs.git"
    with (
        connector(tmp_path, url, git=options) as source,
        pytest.raises(SourceUnavailable, match="cannot fetch refs/heads/main"),
    ):
        source.fingerprint()
    args = seen.read_text(encoding="utf-8").splitlines()
    assert args[args.index("-i") + 1] == str(key)
    for option in ("IdentitiesOnly=yes", "BatchMode=yes", "StrictHostKeyChecking=yes"):
        assert option in args
    assert f"UserKnownHostsFile={tmp_path / 'known_hosts'}" in args


def test_a_watched_git_source_gets_a_poll_that_asks_for_a_run_after_a_push(
    tmp_path: Path, upstream: Upstream
) -> None:
    """The daemon's change poll over a git source requests a run once the branch moves."""
    from syncd.config.loading import SourceConfig
    from syncd.daemon.triggers.build import build_triggers
    from syncd.daemon.triggers.poll import ChangePoll

    source = SourceConfig(
        name="docs",
        connector="markdown",
        url="https://docs.example.com",
        schedule={"interval": "1h", "watch": True, "poll": "1s"},
        options={"git": {"url": upstream.url, "ref": "main"}},
    )
    triggers = build_triggers([source], lambda s: connector(tmp_path, upstream.url))
    assert [type(t) for t in triggers] == [ChangePoll]
    requested: list[tuple[str, object, str]] = []
    stop = threading.Event()
    triggers[0].start(lambda *args: requested.append(args), stop)
    try:
        # The first poll only sets the cursor, whenever the thread gets to it: push again
        # every few seconds until a push lands after it.
        deadline = time.monotonic() + 60
        pushes = 0
        while not requested and time.monotonic() < deadline:
            pushes += 1
            upstream.write({"index.md": f"# Home\n\nPush {pushes}.\n"})
            upstream.push()
            wait_until = time.monotonic() + 3
            while not requested and time.monotonic() < wait_until:
                time.sleep(0.1)
    finally:
        stop.set()
        triggers[0].join(10)
    assert requested and requested[0][0] == "docs"
    assert requested[0][1].everything  # type: ignore[attr-defined]


@pytest.mark.parametrize("ref", [None, "main"])
def test_a_no_op_over_authenticated_http_asks_for_the_head_and_fetches_nothing(
    tmp_path: Path, upstream: Upstream, ref: str | None
) -> None:
    """When the remote's ref did not move, a run makes 3 requests: git's unauthenticated probe,
    the advertisement and ls-refs; no fetch. Once it moves, the new commit is fetched."""
    token, log = "s3cret-token-value", tmp_path / "requests.log"
    options = {"token": token, "username": "bot", **({"ref": ref} if ref else {})}
    with http_server(upstream.bare.parent, "bot", token, log=log) as base:
        url = f"{base}/docs.git"
        with connector(tmp_path, url, git=options) as source:
            assert set(listing(source)) == {"index.md", "guide/setup.md"}
        log.write_text("")
        with connector(tmp_path, url, git=options) as source:
            assert set(listing(source)) == {"index.md", "guide/setup.md"}
        no_op = log.read_text().splitlines()
        upstream.write({"new.md": "# New\n"})
        upstream.push()
        with connector(tmp_path, url, git=options) as source:
            assert set(listing(source)) == {"index.md", "guide/setup.md", "new.md"}
    assert len(no_op) == 3, no_op
    assert [line.split()[-1] for line in no_op] == ["401", "200", "200"]
    assert not any("git-upload-pack" in line and "fetch" in line for line in no_op)
