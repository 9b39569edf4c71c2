"""When the daemon reconciles a source: which full runs also compare Intercom's pages.

A *reconciling run* lists the source's pages in Intercom and repairs drift (see
:mod:`syncd.sync.drift`): pages deleted there are sent again, pages no document owns are
removed. The daemon makes the first full run of each source after it starts a reconciling
one, then one every ``schedule.reconcile`` (default a day) once the last one succeeded.
"""

from __future__ import annotations

import threading
import time

from syncd.config.loading import Config


class Reconciles:
    """The time of each source's last successful reconciling run in this daemon."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, source: str) -> bool:
        """Whether the next full run of ``source`` should reconcile."""
        every = self.config.source(source).schedule.reconcile
        if every is None:
            return False
        with self._lock:
            last = self._last.get(source)
        return last is None or time.monotonic() - last >= every.total_seconds()

    def done(self, source: str) -> None:
        """A reconciling run of ``source`` succeeded."""
        with self._lock:
            self._last[source] = time.monotonic()
