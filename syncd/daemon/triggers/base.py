"""What every change trigger is to the daemon: started with a way to ask for runs, stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from syncd.connectors.base import ChangeSet

RequestRun = Callable[[str, ChangeSet, str], None]
"""Asks the daemon for a run: ``(source name, what changed, why)``; never blocks for the run."""


class Trigger(Protocol):
    """A change trigger of one source (see :mod:`syncd.daemon.triggers`)."""

    source: str

    def start(self, request: RequestRun, stop: threading.Event) -> None:
        """Start noticing changes in a thread of its own; ``stop`` set means stop soon."""

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the trigger's thread to end, once stop is set."""
