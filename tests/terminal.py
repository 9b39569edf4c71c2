"""Running a program on a real pseudo-terminal, for tests of what people see on a screen."""

from __future__ import annotations

import errno
import os
import subprocess


def run_on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` with all three streams on a pseudo-terminal; its exit code and output."""
    controller, device = os.openpty()
    process = subprocess.Popen(
        argv, stdin=device, stdout=device, stderr=device, env=env, close_fds=True
    )
    os.close(device)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError as exc:  # EIO: the child closed the terminal
            if exc.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    code = process.wait(timeout=120)
    return code, b"".join(chunks).decode("utf-8", "replace")
