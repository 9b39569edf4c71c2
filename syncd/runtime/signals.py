"""Stop signals: SIGTERM and SIGINT ask a command to stop; a second one ends the process now.

Every long-lived command (``syncd sync``, ``syncd run``, ``syncd sandbox``) routes both signals
through :func:`stop_signals`: the first calls the command's own ``on_stop`` (which sets an event
its work watches), a second of either kind exits at once with ``128 + signum`` after saying so
on standard error. Handlers are installed only on the main thread (Python allows no other) and
the previous ones are restored afterwards, so tests may call commands in-process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_signals(
    on_stop: Callable[[int], None], *, second_exits: bool = True, name: str = "syncd"
) -> Iterator[None]:
    """Route SIGTERM and SIGINT to ``on_stop(signum)`` while the block runs.

    With ``second_exits``, a signal arriving after the first ends the process at once with exit
    status ``128 + signum``: an operator pressing Ctrl-C twice means it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        if received and second_exits:
            os.write(2, f"{name}: second {signal.Signals(signum).name}, exiting now\n".encode())
            os._exit(128 + signum)
        received.append(signum)
        on_stop(signum)

    previous: dict[int, Any] = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
