"""Progress reporting: how a run tells a person (or the logs) how far it got.

The engine reports through the :class:`Progress` protocol and never knows whether a terminal
is attached. :class:`NullProgress` ignores everything.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress events of runs; one run of one source at a time per source name."""

    def start(self, source: str, total: int) -> None:
        """A run of ``source`` will handle ``total`` documents (writes and deletes)."""

    def advance(self, source: str, outcome: str) -> None:
        """One document of ``source`` was handled with ``outcome`` (created, failed, ...)."""

    def finish(self, source: str) -> None:
        """The run of ``source`` ended (successfully or not)."""


class NullProgress:
    """A progress sink that shows nothing."""

    def start(self, source: str, total: int) -> None:
        """Ignore the start."""

    def advance(self, source: str, outcome: str) -> None:
        """Ignore the document."""

    def finish(self, source: str) -> None:
        """Ignore the end."""
