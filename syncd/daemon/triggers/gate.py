"""The run gate: one run per source at a time, later requests merged into one follow-up."""

from __future__ import annotations

import threading

from syncd.connectors.base import ChangeSet


class RunGate:
    """Admits one run per source; requests arriving during it coalesce into the next one.

    :meth:`enter` either admits the caller, who then runs the source and calls :meth:`next`
    after each run until it answers None, or merges the request into the pending follow-up.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._pending: dict[str, ChangeSet] = {}

    def enter(self, source: str, changes: ChangeSet) -> bool:
        """True: the caller runs ``source`` now. False: merged into the follow-up run."""
        with self._lock:
            if source in self._running:
                pending = self._pending.get(source)
                self._pending[source] = changes if pending is None else pending | changes
                return False
            self._running.add(source)
            return True

    def next(self, source: str, *, stopping: bool = False) -> ChangeSet | None:
        """The follow-up request of ``source``, or None: the caller's turn is over."""
        with self._lock:
            pending = self._pending.pop(source, None)
            if pending is None or stopping:
                self._running.discard(source)
                return None
            return pending

    def busy(self, source: str) -> bool:
        """Whether a run of ``source`` is admitted right now."""
        with self._lock:
            return source in self._running
