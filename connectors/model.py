"""The values that pass between the engine and a connector: refs, documents, change sets.

Their vocabulary is defined in :mod:`syncd.connectors.base`, which re-exports every name here:
connectors and plugins import them from there, the one import path of the contract.
"""

from __future__ import annotations

import abc
import dataclasses
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal


@dataclasses.dataclass(frozen=True, slots=True)
class DocumentRef:
    """One entry of a listing: a document's ref id and its cheap version."""

    id: str
    version: str


@dataclasses.dataclass(frozen=True, slots=True)
class Document:
    """A fetched document, before the engine renders it into a payload."""

    title: str
    body: str
    body_format: Literal["html", "markdown"] = "html"
    url: str | None = None
    external_id: str | None = None  # None: the ref id is the external id
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # When the source last changed the document (Unix time: a file's mtime, a wiki page's
    # last edit); what the freshness metric measures from. Not part of the payload.
    changed_at: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed at a source, as a change trigger saw it (see :mod:`syncd.connectors.base`).

    ``changed``: ref ids edited, created, moved or restored; ``deleted``: ref ids the source
    says it deleted. Both are claims to check, not facts: a run looks each one up, syncs the
    ones that exist and deletes only those named deleted that no longer exist.
    ``everything``: something changed that cannot be named; the whole source is listed.
    """

    changed: frozenset[str] = frozenset()
    deleted: frozenset[str] = frozenset()
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.changed or self.deleted)

    def __or__(self, other: ChangeSet) -> ChangeSet:
        if self.everything or other.everything:
            return EVERYTHING
        return ChangeSet(self.changed | other.changed, self.deleted | other.deleted)

    @property
    def named(self) -> frozenset[str]:
        """Every ref id the change set names, changed or deleted."""
        return self.changed | self.deleted


EVERYTHING = ChangeSet(everything=True)
"""A change set that names nothing and asks for a full run."""

NOTHING = ChangeSet()
"""The empty change set: nothing changed."""


@dataclasses.dataclass(frozen=True, slots=True)
class Poll:
    """The answer of :meth:`Connector.poll_changes`: what changed, and where to ask from next."""

    changes: ChangeSet
    cursor: str


class Memory(abc.ABC):
    """Small named values a connector keeps between runs (``memory`` in the contract's terms).

    Keys are short names chosen by the connector (``git.identities``); values are text (JSON
    when structured). A value put is kept at once, as the state database keeps it.
    """

    @abc.abstractmethod
    def get(self, key: str) -> str | None:
        """The value last put under ``key``, None if there is none."""

    @abc.abstractmethod
    def put(self, key: str, value: str | None) -> None:
        """Keep ``value`` under ``key`` (None forgets the key)."""


class InMemory(Memory):
    """A :class:`Memory` held in this process only: for tests and callers without a state."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def put(self, key: str, value: str | None) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value


@dataclasses.dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a connector may know about the configured source it reads for."""

    name: str
    url: str
    # A folder this source alone may keep files in between runs (a git repository), under
    # the state location; None when the caller has none to offer (a connector needing one
    # must then say so). A cache: it may be lost between any two runs.
    cache_dir: Path | None = None
    # What must outlast the cache (see Memory); None when the caller keeps nothing, so the
    # connector remembers only within this run.
    memory: Memory | None = dataclasses.field(default=None, compare=False)
    # Set once the run is stopping: a connector waiting on the network may abandon its request
    # (syncd.net.deadline.DeadlineTransport does) rather than hold the stop up.
    stop: threading.Event | None = dataclasses.field(default=None, compare=False)
    # The run was asked to re-read everything (``--full-resync``): a connector that keeps
    # something between runs (what it checked, when) checks it again.
    full_resync: bool = False
