"""The change poll: a cheap question asked every ``poll`` interval, for connectors with a feed.

For connectors that implement :meth:`~syncd.connectors.base.Connector.poll_changes`: a wiki's
recent changes, a folder of exports' fingerprint. The first poll only sets the cursor (the
daemon's first full run covers what came before); each later one hands what changed since
the cursor to the daemon. An idle source costs one such request per interval.

A poll that fails (the source is down) is logged once, then quietly retried every interval
until it answers again; the schedule's full runs go on meanwhile.
"""

from __future__ import annotations

import threading

import structlog

from syncd.connectors.base import Connector, ConnectorError
from syncd.daemon.triggers.base import RequestRun

log = structlog.get_logger(__name__)


class ChangePoll:
    """The change trigger of a source whose connector has a change feed."""

    def __init__(self, source: str, connector: Connector, *, interval: float) -> None:
        self.source = source
        self._connector = connector
        self._interval = interval
        self._thread: threading.Thread | None = None

    def start(self, request: RequestRun, stop: threading.Event) -> None:
        """Poll from a thread of its own until ``stop`` is set."""
        self._thread = threading.Thread(
            target=self._loop, args=(request, stop), name=f"syncd-poll-{self.source}", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the poll thread to end; a request in flight may outlast ``timeout``."""
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._connector.close()

    def _loop(self, request: RequestRun, stop: threading.Event) -> None:
        cursor: str | None = None
        failing = False
        while not stop.is_set():
            try:
                answer = self._connector.poll_changes(cursor)
            except (ConnectorError, OSError) as exc:
                if not failing:
                    log.warning("trigger.poll_failed", source=self.source, error=str(exc))
                failing = True
            except Exception:
                if not failing:
                    log.exception("trigger.poll_failed", source=self.source)
                failing = True
            else:
                if failing:
                    log.info("trigger.poll_recovered", source=self.source)
                failing = False
                if cursor is not None and answer.changes:
                    request(self.source, answer.changes, "poll")
                cursor = answer.cursor
            stop.wait(self._interval)
