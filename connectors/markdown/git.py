"""Git repositories fetched by syncd itself: a bounded ``git`` runner and one cache per source.

remote
    Where the repository lives (an ``https://``, ``ssh://``, ``git@host:`` or ``file://`` URL)
    and how to log in: a token, given to git only through its environment, or an SSH key file.

cache
    A bare repository in the source's cache folder (under the state location). Nothing is
    ever checked out: pages are read from git's objects at the fetched commit, so a run sees
    one consistent snapshot and the URL is the only thing git keeps about the remote (it is
    passed on each fetch, never stored in the cache's config).

refs
    ``refs/syncd/head`` is the commit the last fetch brought (``+``: force-pushes are taken
    as they are); ``refs/syncd/last`` pins the commit whose tree the last listing read, so
    its objects stay for the next run's rename detection (see
    :mod:`syncd.connectors.markdown.gitsource`).

Every git command runs in its own process group with a wall-clock limit, and is killed
with its group on timeout or when the run stops (see :mod:`syncd.connectors.markdown.gitrun`).
Messages never hold the token.

The real ``git`` command is used, not a library: partial and shallow fetches, credential
helpers and low-speed aborts come with it, and it holds nothing in our process.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import threading
from collections.abc import Iterator
from pathlib import Path

from syncd.connectors.markdown.gitrun import GitError, GitStopped, GitTimeout, kill_group, mask, run
from syncd.connectors.markdown.giturl import PROTOCOL_CONFIG, credential_scope

__all__ = [
    "HEAD_REF",
    "LAST_REF",
    "Entry",
    "GitError",
    "GitStopped",
    "GitTimeout",
    "Remote",
    "Repository",
    "kill_group",
    "mask",
    "run",
    "ssh_command",
]

HEAD_REF = "refs/syncd/head"
LAST_REF = "refs/syncd/last"
# What git gets from our environment: the search path, locale-free messages, proxies and
# CA settings an installation may need. Nothing else leaks in (no GIT_* of the host, none of
# syncd's own secrets).
_PASSED_ON = (
    "PATH",
    "HOME",
    "TMPDIR",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
)
# Asked by git for a password, it answers from the environment: the token is never in an
# argument, a URL or a file. Only "get" is answered, so git cannot store the token anywhere.
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n"'
    ' "$SYNCD_GIT_USERNAME" "$SYNCD_GIT_TOKEN"; }; f'
)


@dataclasses.dataclass(frozen=True, slots=True)
class Remote:
    """A repository to fetch, and how to log in to it."""

    url: str
    token: str | None = None
    username: str = "x-access-token"
    ssh_key_file: Path | None = None
    known_hosts_file: Path | None = None
    timeout: float = 120.0

    def __repr__(self) -> str:  # the token stays out of reprs and tracebacks
        return f"Remote(url={mask(self.url)!r})"

    def environment(self) -> dict[str, str]:
        """The environment every git command of this remote runs with."""
        env = {name: value for name in _PASSED_ON if (value := os.environ.get(name)) is not None}
        config: list[tuple[str, str]] = [
            ("credential.helper", ""),  # forget the host's helpers: none may see the token
            ("gc.autoDetach", "false"),  # no background gc outliving the run
            ("http.lowSpeedLimit", "1000"),  # a stalled server fails well before our limit
            ("http.lowSpeedTime", str(max(5, min(60, int(self.timeout / 2))))),
            ("core.hooksPath", os.devnull),
        ]
        config += PROTOCOL_CONFIG
        # A redirect is followed on the first request only (a moved repository), and the
        # token is answered only for the configured host: a remote that redirects to
        # another host (or port) is asked nothing and gets nothing there.
        config.append(("http.followRedirects", "initial"))
        scope = credential_scope(self.url)
        if self.token is not None and scope is not None:
            config.append((f"credential.{scope}.helper", _CREDENTIAL_HELPER))
            env["SYNCD_GIT_TOKEN"] = self.token
            env["SYNCD_GIT_USERNAME"] = self.username
        env.update(
            LC_ALL="C",
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_COUNT=str(len(config)),
        )
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        if self.ssh_key_file is not None:
            env["GIT_SSH_COMMAND"] = ssh_command(self.ssh_key_file, self.known_hosts_file)
        return env


def ssh_command(key_file: Path, known_hosts_file: Path | None) -> str:
    """The ssh command line for a deploy key: that key only, no prompts, host keys checked."""
    parts = [
        "ssh",
        "-i",
        str(key_file),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=15",
        "-o",
        "StrictHostKeyChecking=yes",
    ]
    if known_hosts_file is not None:
        parts += ["-o", f"UserKnownHostsFile={known_hosts_file}"]
    # git hands GIT_SSH_COMMAND to a shell: quote every part.
    return " ".join(shlex.quote(part) for part in parts)


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One file of a tree listing: its path below the listed tree, mode and blob id."""

    path: str
    mode: str
    sha: str


class Repository:
    """The bare cache repository of one source, and the git commands run on it."""

    def __init__(self, path: Path, remote: Remote, stop: threading.Event | None = None) -> None:
        self.path = path
        self.remote = remote
        self.env = remote.environment()
        self.stop = stop  # the run's stop: a command in flight is killed when it is set

    def git(self, *args: str, timeout: float | None = None) -> bytes:
        """Run a git command on the cache repository, within the remote's time limit."""
        return run(
            args,
            env=self.env,
            timeout=timeout or self.remote.timeout,
            git_dir=self.path,
            secret=self.remote.token,
            stop=self.stop,
        )

    def ensure(self) -> None:
        """Create the bare repository unless it exists."""
        if not (self.path / "HEAD").is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            run(["init", "--quiet", "--bare", "--", str(self.path)], env=self.env, timeout=30)

    def default_branch(self) -> str:
        """The full ref name the remote's HEAD points to (``refs/heads/main``)."""
        return self.default_head()[0]

    def default_head(self) -> tuple[str, str | None]:
        """The remote's default branch (full ref name) and the commit it names, in one call."""
        out = run(
            ["ls-remote", "--symref", "--", self.remote.url, "HEAD"],
            env=self.env,
            timeout=self.remote.timeout,
            secret=self.remote.token,
            stop=self.stop,
        )
        branch: str | None = None
        commit: str | None = None
        for line in out.decode("utf-8", "replace").splitlines():
            target, _, name = line.partition("\t")
            if name == "HEAD" and target.startswith("ref: "):
                branch = target.removeprefix("ref: ").strip()
            elif name == "HEAD":
                commit = target.strip()
        if branch is None:
            raise GitError("the remote names no default branch; set git.ref")
        return branch, commit

    def remote_commit(self, ref: str) -> str | None:
        """The commit ``ref`` names at the remote now (one ``ls-remote``), None if absent."""
        try:
            out = run(
                ["ls-remote", "--exit-code", "--", self.remote.url, ref],
                env=self.env,
                timeout=self.remote.timeout,
                secret=self.remote.token,
                stop=self.stop,
            )
        except GitError as exc:
            if exc.returncode == 2:  # --exit-code: no such ref
                return None
            raise
        for line in out.decode("ascii", "replace").splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return None

    def fetch(self, ref: str) -> None:
        """Fetch ``ref`` (shallow, that ref alone) into :data:`HEAD_REF`.

        Without git's automatic maintenance: a fetch that brought nothing new (the common
        case) then starts no second process; :meth:`maintain` runs it when there is news.
        """
        self.ensure()
        self.git(
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--no-auto-maintenance",
            "--depth=1",
            "--",  # the URL and the ref are never read as options
            self.remote.url,
            f"+{ref}:{HEAD_REF}",
        )

    def fetch_commit(self, commit: str) -> None:
        """Fetch one commit by its id (shallow), keeping its objects without naming it.

        Servers speaking git's protocol version 2 (git's own, GitHub, GitLab) allow it for any
        commit their refs still reach.
        """
        self.ensure()
        self.git(
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--no-auto-maintenance",
            "--depth=1",
            self.remote.url,
            commit,
        )

    def commit(self, name: str) -> str:
        """The commit id ``name`` (a ref) points to."""
        return self.git("rev-parse", "--verify", f"{name}^{{commit}}").decode().strip()

    def maintain(self) -> None:
        """Pack loose objects and drop unreachable ones when git thinks it is time."""
        self.git("gc", "--auto", "--quiet")

    def tree(self, commit: str, folder: str) -> str | None:
        """The id of the tree at ``folder`` ("" for the root) of ``commit`` (an id or a ref
        name), None if absent."""
        if not folder:
            return self.git("rev-parse", "--verify", f"{commit}^{{tree}}").decode().strip()
        # "commit:folder^{tree}" would read "^{tree}" as part of the path: ask ls-tree.
        for record in self.git("ls-tree", "-z", commit, "--", folder).split(b"\0"):
            meta, _, path = record.partition(b"\t")
            if meta and os.fsdecode(path) == folder and meta.split(b" ")[1] == b"tree":
                return meta.split(b" ")[2].decode()
        return None

    def files(self, tree: str) -> Iterator[Entry]:
        """Every file below ``tree``, recursively: regular files, executables and symlinks."""
        out = self.git("ls-tree", "-r", "-z", tree)
        for record in out.split(b"\0"):
            if record:
                meta, _, path = record.partition(b"\t")
                mode, kind, sha = meta.split(b" ")
                if kind == b"blob":
                    yield Entry(os.fsdecode(path), mode.decode(), sha.decode())

    def renames(self, old_tree: str, new_tree: str) -> list[tuple[str, str, str]]:
        """What changed between two trees: ``(status, old path, new path)``, renames found.

        Status is git's letter (``A``, ``D``, ``M``, ``R``, ``T``); a path that did not
        change side is repeated.
        """
        out = self.git("diff-tree", "-r", "-z", "--name-status", "-M", old_tree, new_tree)
        fields = out.split(b"\0")
        changes: list[tuple[str, str, str]] = []
        i = 0
        while i < len(fields) and fields[i]:
            status = fields[i].decode()[:1]
            if status in ("R", "C"):
                old, new = os.fsdecode(fields[i + 1]), os.fsdecode(fields[i + 2])
                i += 3
            else:
                old = new = os.fsdecode(fields[i + 1])
                i += 2
            changes.append((status, old, new))
        return changes

    def held(self, name: str) -> str | None:
        """The commit ``name`` (a ref) points to in the cache; None without the ref or cache."""
        if not (self.path / "HEAD").is_file():
            return None
        try:
            return self.commit(name)
        except GitError:
            return None

    def set_ref(self, name: str, commit: str) -> None:
        """Point ``name`` at ``commit``."""
        self.git("update-ref", name, commit)

    def has_object(self, sha: str) -> bool:
        """Whether the cache holds object ``sha``."""
        try:
            self.git("cat-file", "-e", sha)
        except GitError:
            return False
        return True
