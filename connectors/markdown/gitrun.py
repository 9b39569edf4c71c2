"""Running ``git``: bounded in time, stopped with the run, never outliving the process.

Every git command runs in a session (process group) of its own, so that killing the group
reaches the helpers git started (``git-remote-https``, ``ssh``); ``subprocess.run(timeout=)``
would kill git alone and leave them running. A group is killed when:

* the command outlives its time limit (:class:`GitTimeout`);
* the run's *stop* is set (SIGTERM, or the daemon stopping): git is waited on in slices of
  :data:`SLICE` seconds and the stop is noticed within one (:class:`GitStopped`);
* the process exits with git still running (an ``atexit`` handler kills every live group).

Messages never hold the token: git does not print it, and anything that looks like
credentials in a URL is masked (:func:`mask`) before a message leaves this module.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

SLICE = 0.2  # seconds between looks at the stop while git runs
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<userinfo>[^/@\s]+)@")
_STDERR_LIMIT = 64 * 1024
_live: set[subprocess.Popen[bytes]] = set()  # git processes running now, killed at exit
_live_lock = threading.Lock()


class GitError(Exception):
    """A git command failed; the message says why, without credentials."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


class GitTimeout(GitError):
    """A git command outlived its time limit and was killed with its process group."""


class GitStopped(GitError):
    """The run stopped while a git command ran; it was killed with its process group."""


def mask(text: str) -> str:
    """``text`` with credentials in any URL replaced by ``***``.

    An HTTP(S) URL's user may be a token itself, so all of it goes; an SSH user name
    (``ssh://git@host``) is no secret and stays, its password (if any) does not.
    """
    return _URL_USERINFO.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    scheme, userinfo = match["scheme"], match["userinfo"]
    if scheme.lower().startswith("ssh") and ":" not in userinfo:
        return match[0]
    return f"{scheme}://***@"


def start(
    command: Sequence[str], *, env: dict[str, str], stdin: int | None
) -> subprocess.Popen[bytes]:
    """Start ``command`` (git) in a session of its own, remembered until :func:`forget`."""
    # git from PATH, as an administrator installed it; arguments never hold a secret.
    process = subprocess.Popen(  # noqa: S603
        list(command),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    with _live_lock:
        _live.add(process)
    return process


def forget(process: subprocess.Popen[bytes]) -> None:
    """``process`` has ended (or was killed): no longer one to kill at exit."""
    with _live_lock:
        _live.discard(process)


def run(
    args: Sequence[str],
    *,
    env: dict[str, str],
    timeout: float,
    git_dir: Path | None = None,
    secret: str | None = None,
    stop: threading.Event | None = None,
) -> bytes:
    """Run ``git args`` and return its output; GitError (GitTimeout, GitStopped) on failure."""
    command = ["git", *(["--git-dir", str(git_dir)] if git_dir is not None else []), *args]
    process = start(command, env=env, stdin=subprocess.DEVNULL)
    try:
        out, err = _wait(process, args[0], timeout, stop)
    except BaseException:
        kill_group(process)
        raise
    finally:
        forget(process)
    if process.returncode != 0:
        reason = _reason(err, secret) or f"git {args[0]} failed ({process.returncode})"
        raise GitError(reason, process.returncode)
    return out


def _wait(
    process: subprocess.Popen[bytes], name: str, timeout: float, stop: threading.Event | None
) -> tuple[bytes, bytes]:
    """git's output once it ended; GitTimeout or GitStopped (the caller kills the group)."""
    deadline = time.monotonic() + timeout
    while True:
        if stop is not None and stop.is_set():
            raise GitStopped(f"git {name} was stopped: the run is stopping")
        left = deadline - time.monotonic()
        if left <= 0:
            raise GitTimeout(f"git {name} took longer than {timeout:g} s and was stopped")
        with contextlib.suppress(subprocess.TimeoutExpired):
            # Retrying communicate() after its timeout loses no output.
            return process.communicate(timeout=min(left, SLICE) if stop else left)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and everything in its process group, and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.communicate(timeout=5)
    forget(process)


@atexit.register
def _kill_the_living() -> None:
    """No git outlives syncd (a daemon that gave up waiting for a run, an uncaught error)."""
    with _live_lock:
        living = list(_live)
    for process in living:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _reason(stderr: bytes, secret: str | None) -> str:
    """git's own explanation: its ``fatal:``/``error:`` lines, else its last line."""
    text = stderr[:_STDERR_LIMIT].decode("utf-8", "replace")
    if secret:
        text = text.replace(secret, "***")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    wanted = [line for line in lines if line.startswith(("fatal:", "error:"))] or lines[-1:]
    return mask("; ".join(wanted))
