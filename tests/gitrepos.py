"""Real git repositories for tests: an upstream bare repository and the test server over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "LC_ALL": "C",
}


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git as a test's upstream author; its output."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


class Upstream:
    """A bare repository at ``root/name`` and a work tree that commits and pushes to it."""

    def __init__(self, root: Path, name: str = "docs.git", branch: str = "main") -> None:
        self.bare = root / "repos" / name
        self.work = root / "work" / name.removesuffix(".git")
        self.branch = branch
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(self.bare))
        git("init", "--quiet", f"--initial-branch={branch}", str(self.work))

    @property
    def url(self) -> str:
        """The file:// URL of the bare repository."""
        return self.bare.as_uri()

    def write(self, files: dict[str, str]) -> None:
        """Write files of the work tree (created with their folders)."""
        for path, text in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def push(self, message: str = "change", *, force: bool = False) -> str:
        """Commit everything and push the branch; the new commit id."""
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git(
            "push",
            "--quiet",
            *(["--force"] if force else []),
            str(self.bare),
            self.branch,
            cwd=self.work,
        )
        return git("rev-parse", "HEAD", cwd=self.work).strip()

    def amend_push(self, message: str = "rewritten") -> str:
        """Rewrite the last commit with what the work tree holds and force-push it."""
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--amend", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "--force", str(self.bare), self.branch, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work).strip()

    def run(self, *args: str) -> str:
        """Any git command in the work tree."""
        return git(*args, cwd=self.work)


@contextmanager
def http_server(
    root: Path, user: str, token: str, *, delay: float = 0.0, log: Path | None = None
) -> Iterator[str]:
    """The test smart-HTTP server over ``root``'s bare repositories; yields its base URL.

    ``log``: a file that gets one ``METHOD path`` line per request.
    """
    env = {**os.environ, "TEST_GIT_TOKEN": token, "TEST_GIT_DELAY": str(delay)}
    if log is not None:
        env["TEST_GIT_LOG"] = str(log)
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("githttp.py")), str(root), user],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
