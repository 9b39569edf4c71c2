"""Reading blobs of a repository through one ``git cat-file --batch`` process.

One process serves every read of a run (a process per page would cost more than the page);
each read has its own deadline, so a stuck git cannot hold the run.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import time
from pathlib import Path

from syncd.connectors.markdown.git import GitError, GitTimeout, kill_group


class Blobs:
    """Reads blobs from one repository through one ``git cat-file --batch`` process.

    Each read has its own time limit; a read that outlives it kills the process (the next
    read starts another) and raises GitTimeout.
    """

    def __init__(self, git_dir: Path, *, env: dict[str, str], timeout: float) -> None:
        self.git_dir = git_dir
        self.env = env
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._selector: selectors.BaseSelector | None = None
        self._buffer = bytearray()

    def read(self, sha: str, *, limit: int) -> bytes | None:
        """The content of blob ``sha``; None when it is larger than ``limit`` bytes."""
        process = self._start()
        assert process.stdin is not None
        deadline = time.monotonic() + self.timeout
        try:
            process.stdin.write(sha.encode("ascii") + b"\n")
            process.stdin.flush()
            header = self._read_line(deadline)
            parts = header.split()
            if len(parts) != 3 or parts[1] != b"blob":
                raise GitError(f"object {sha} is not a blob in the fetched commit")
            size = int(parts[2])
            if size > limit:
                self._skip(size + 1, deadline)  # never held in memory
                return None
            data = self._read_exactly(size + 1, deadline)  # the content and a newline
        except GitTimeout:
            self.close()
            raise
        except (OSError, ValueError) as exc:
            self.close()
            raise GitError(f"cannot read object {sha}: {exc}") from None
        return data[:-1]

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            self._process = subprocess.Popen(  # noqa: S603 - fixed program and arguments
                ["git", "--git-dir", str(self.git_dir), "cat-file", "--batch"],  # noqa: S607
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
            assert self._process.stdout is not None
            os.set_blocking(self._process.stdout.fileno(), False)
            self._selector = selectors.DefaultSelector()
            self._selector.register(self._process.stdout, selectors.EVENT_READ)
            self._buffer.clear()
        return self._process

    def _fill(self, deadline: float) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        assert self._selector is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not self._selector.select(remaining):
            raise GitTimeout(f"reading from git took longer than {self.timeout:g} s")
        chunk = os.read(self._process.stdout.fileno(), 1 << 20)
        if not chunk:
            raise GitError("git cat-file ended unexpectedly")
        self._buffer += chunk

    def _read_line(self, deadline: float) -> bytes:
        while (end := self._buffer.find(b"\n")) < 0:
            self._fill(deadline)
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            self._fill(deadline)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _skip(self, size: int, deadline: float) -> None:
        while size > len(self._buffer):
            size -= len(self._buffer)
            self._buffer.clear()
            self._fill(deadline)
        del self._buffer[:size]

    def close(self) -> None:
        """End the reader process (a later read starts a new one)."""
        process, self._process = self._process, None
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if process is None:
            return
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kill_group(process)
        if process.stdout is not None:
            process.stdout.close()
