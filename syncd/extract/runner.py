"""Running the extraction worker (:mod:`syncd.extract.worker`) for one file.

The worker gets the file's bytes on standard input and an environment with nothing but
``PATH`` and a locale, so no secret of the daemon's environment reaches a process that parses
untrusted files. It runs in its own session: a terminal's Ctrl-C reaches syncd, which then
kills it, instead of both. The parent waits in short slices and kills the worker as soon as
the run stops or the deadline passes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time

from syncd.errors import Interrupted
from syncd.extract.errors import ExtractionFailed, NoText, TooSlow
from syncd.extract.sniff import TYPES

_SLICE = 0.1  # seconds between looks at the stop event


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What one file may cost: bytes read, worker memory and time, characters of HTML."""

    max_bytes: int = 20 * 1000 * 1000
    memory_bytes: int = 256 * 1024 * 1024
    seconds: int = 60
    max_chars: int = 5 * 1000 * 1000


@dataclasses.dataclass(frozen=True, slots=True)
class Extracted:
    """A file's text as a page body, and the title the file gives itself, if any."""

    html: str
    title: str | None


class Stopped(Interrupted):
    """The run stopped while the worker was reading; nothing was extracted."""


def extract(
    data: bytes, file_type: str, *, limits: Limits, stop: threading.Event | None = None
) -> Extracted:
    """The text of ``data``, a file of extension ``file_type`` (one of :data:`TYPES`).

    Raises NoText, ExtractionFailed, or Stopped when ``stop`` is set meanwhile.
    """
    file_type = file_type.lower()
    if file_type not in TYPES:
        raise ExtractionFailed(f"is of type {file_type!r}, which is not read")
    if len(data) > limits.max_bytes:
        raise ExtractionFailed(f"has {len(data)} bytes (at most {limits.max_bytes} are read)")
    command = [
        sys.executable,
        "-I",
        "-m",
        "syncd.extract.worker",
        file_type,
        str(limits.max_chars),
        str(limits.memory_bytes),
        str(limits.seconds),
    ]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    worker = subprocess.Popen(  # noqa: S603 - our own module, with our own interpreter
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    # communicate() cannot be resumed after a timeout with input still unsent, so it runs
    # whole in a thread while this one watches the clock and the stop event.
    streams: list[tuple[bytes, bytes]] = []
    talker = threading.Thread(
        target=lambda: streams.append(worker.communicate(data)), name="extract", daemon=True
    )
    deadline = time.monotonic() + limits.seconds
    talker.start()
    try:
        while True:
            talker.join(_SLICE)
            if not talker.is_alive():
                break
            if stop is not None and stop.is_set():
                raise Stopped("stopped while reading the file")
            if time.monotonic() > deadline:
                raise TooSlow(f"took longer than {limits.seconds} s to read")
    finally:
        if worker.poll() is None:
            worker.kill()
        talker.join()
        worker.wait()
    out, err = streams[0] if streams else (b"", b"")
    return _answer(worker.returncode, out, err, limits)


def _answer(status: int, out: bytes, err: bytes, limits: Limits) -> Extracted:
    """The worker's answer, or the error its exit says."""
    try:
        answer = json.loads(out) if out else None
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "error" in answer:
        error_class = NoText if answer.get("no_text") else ExtractionFailed
        raise error_class(str(answer["error"]))
    if isinstance(answer, dict) and isinstance(answer.get("html"), str):
        title = answer.get("title")
        return Extracted(html=answer["html"], title=title if isinstance(title, str) else None)
    if status in (-signal.SIGXCPU, -signal.SIGKILL):
        raise TooSlow(f"took more than {limits.seconds} s of CPU to read")
    megabytes = limits.memory_bytes // (1024 * 1024)
    if status < 0:
        name = signal.Signals(-status).name
        raise ExtractionFailed(
            f"made the reader fail ({name}): a damaged file, or one needing more than"
            f" {megabytes} MiB of memory"
        )
    last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no answer"]
    if "MemoryError" in last[0]:
        raise ExtractionFailed(f"needs more than {megabytes} MiB of memory to read")
    raise ExtractionFailed(f"made the reader fail (exit {status}: {last[0][:300]})")
