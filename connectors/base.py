"""The connector contract: how syncd reads a source.

A *connector* reads one kind of source (a Markdown folder, a Confluence export, a wiki) and
knows nothing of Intercom, the state database or the engine. The vocabulary:

ref id
    The identity of a document *at its source*, as the listing reports it: a relative path, a
    Confluence page id, a wiki page id. Stable for as long as the source document is the same
    document. Unique within one source.

version
    A cheap token that changes whenever the document may have changed: a file's size and
    mtime, a zip member's CRC, a wiki page's last revision id. Computing it must not read the
    document's content, so that a run where nothing changed reads nothing. A version that
    changes without the content changing costs one fetch and a hash, nothing more; a content
    change that keeps the version is missed until ``--full-resync``, so err towards changing.

listing fingerprint
    A token for a whole listing, for sources that can tell cheaply that nothing at all
    changed (the tree id of a git commit). The engine stores it after a run that handled
    every document; a later run whose fingerprint equals the stored one ends there, without
    listing. Connectors that cannot tell return None and are always listed.

external id
    The ``external_id`` the page carries in Intercom. It defaults to the ref id; a connector may
    set another one at fetch time (a Markdown file's front-matter ``id``, which survives a
    rename). Unique within one source.

document
    What :meth:`Connector.fetch` returns: title, body (HTML, or Markdown the engine renders),
    the public URL people should be sent to, and free metadata (labels, ancestors).

payload and hash
    The engine turns a document into the *payload*, the exact JSON body Intercom will get, and
    hashes that payload together with the converter version. Only a changed hash is sent. This
    is the engine's business; connectors only make sure the same source content always yields
    the same document (no timestamps or random ids in bodies).

options
    A source's ``options:`` from the configuration, validated into the connector's options
    model (a :class:`ConnectorOptions` subclass, the type parameter of
    ``Connector[OptionsT]``), so ``self.options`` is typed in each connector.

setup
    A connector class with one source's validated options (:class:`ConnectorSetup`), made
    by :meth:`Connector.configure`. It is the one way in: checking the configuration makes
    the setup (and reports bad options by key), and every run, trigger or dry run opens a
    fresh connector from it (:meth:`ConnectorSetup.open`).

A connector is opened once per run from its setup, listed once, then asked to fetch each new
or re-versioned document. Fetches of different documents may run one after another in one
thread; a connector need not be thread-safe.

memory
    A few small values a connector must keep between runs, such as which renamed file keeps
    which external id (:class:`Memory`, given as :attr:`SourceInfo.memory`). The engine keeps
    them in the state database, beside the source's documents: unlike the cache folder, they
    survive a lost volume. Keep values small (a few hundred kilobytes at most) and never put a
    secret in them. Everything else a connector keeps is a cache: losing it must cost a
    re-fetch and nothing else.

change set
    What a change trigger saw changed at a source (:class:`ChangeSet`): the ref ids edited,
    created or moved, the ref ids deleted, or "everything" when it cannot say which. A run
    given a change set syncs just those documents (see :meth:`Connector.lookup`).

Capabilities: beyond :meth:`Connector.list` and :meth:`Connector.fetch`, a connector may
support any of these (all optional; the shared contract tests check what each declares):

* *listing fingerprint*: :meth:`Connector.fingerprint` (see above);
* *lookup*: :meth:`Connector.lookup`, the current refs of named documents, without listing
  the rest;
* *watch root*: :meth:`Connector.watch_root` and :meth:`Connector.ref_id_of`, a folder whose
  file-system events name documents (the daemon watches it);
* *changes*: :meth:`Connector.poll_changes`, a cheap question, asked every few seconds, that
  answers what changed since a cursor (a wiki's recent changes, a folder's fingerprint).

Failures:

* :class:`SourceUnavailable` from :meth:`Connector.list` means the listing is incomplete;
  the engine then deletes nothing for that source.
* :class:`DocumentError` from :meth:`Connector.fetch` fails that document alone; its message
  must name the document (path, title or page id) and say what is wrong.
* :class:`DocumentUnreadable` (and :class:`DocumentTooLarge`) fail it at its version: it is
  fetched again only once its version changes.
* :class:`DocumentExcluded` from :meth:`Connector.fetch` says the document exists but must not
  be published (a draft); the engine removes it from Intercom if it was there, behind the
  same safety stop as every other removal. Its ``reason`` (``draft``, ``empty``) names why in
  reports.

A minimal third-party connector, registered as syncd's own connectors are: under the
``syncd.connectors`` entry-point group in its package's ``pyproject.toml``
(``[project.entry-points."syncd.connectors"]``, ``notes = "acme_syncd:NotesConnector"``)::

    import hashlib
    from collections.abc import Iterator
    from syncd.connectors.base import (
        Connector, ConnectorOptions, Document, DocumentRef, SourceInfo,
    )

    class NotesOptions(ConnectorOptions):
        notes: dict[str, str]

    class NotesConnector(Connector[NotesOptions]):
        def __init__(self, options: NotesOptions, *, source: SourceInfo) -> None:
            super().__init__(options, source=source)
            self.notes = options.notes

        def list(self) -> Iterator[DocumentRef]:
            for key, text in self.notes.items():
                yield DocumentRef(id=key, version=hashlib.sha1(text.encode()).hexdigest())

        def fetch(self, ref: DocumentRef) -> Document:
            return Document(title=ref.id, body=self.notes[ref.id], body_format="markdown")
"""

from __future__ import annotations

import abc
import dataclasses
import typing
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, Self

import pydantic
from typing_extensions import TypeVar

from syncd.connectors.model import (
    EVERYTHING,
    NOTHING,
    ChangeSet,
    Document,
    DocumentRef,
    InMemory,
    Memory,
    Poll,
    SourceInfo,
)
from syncd.runtime.resources import Closing

__all__ = [
    "EVERYTHING",
    "NOTHING",
    "ChangeSet",
    "Connector",
    "ConnectorError",
    "ConnectorOptions",
    "ConnectorSetup",
    "Document",
    "DocumentError",
    "DocumentExcluded",
    "DocumentRef",
    "DocumentTooLarge",
    "DocumentUnreadable",
    "InMemory",
    "Memory",
    "OptionsT",
    "Poll",
    "SourceInfo",
    "SourceNotReady",
    "SourceUnavailable",
]


class ConnectorError(Exception):
    """Root of the errors a connector raises on purpose."""


class SourceUnavailable(ConnectorError):
    """The source cannot be listed completely (unreachable, unreadable, login refused)."""


class SourceNotReady(SourceUnavailable):
    """The source will be readable soon without anyone acting (an export still being written):
    the run ends with exit 75, *temporary, retry later*, and deletes nothing."""

    exit_code = 75  # EX_TEMPFAIL, as syncd.errors.ExitCode names it


class DocumentError(ConnectorError):
    """One document cannot be read or converted; the message names it and says why."""


class DocumentTooLarge(DocumentError):
    """One document is larger than syncd accepts; it is not fetched again until it changes."""


class DocumentUnreadable(DocumentError):
    """One document cannot be read, however often it is tried (a damaged or encrypted file, one
    that is not what its name says); like DocumentTooLarge, it is not fetched again until it
    changes."""


class DocumentExcluded(ConnectorError):
    """The document exists but must not be published (draft, unlisted, ``sync: false``).

    ``reason`` is a short word or two for reports and the deletion tally (``draft``,
    ``unlisted``, ``empty``); the message names the document.
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class ConnectorOptions(pydantic.BaseModel):
    """Base of every connector's options model.

    Unknown keys are errors. Fields typed as :class:`~pathlib.Path` that hold a relative path
    are resolved against the configuration file's folder, passed as the validation context key
    ``base_dir``.
    """

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    @pydantic.model_validator(mode="after")
    def _resolve_relative_paths(self, info: pydantic.ValidationInfo) -> Self:
        base_dir = (info.context or {}).get("base_dir")
        if base_dir is None:
            return self
        for name in type(self).model_fields:
            value = getattr(self, name)
            if (
                isinstance(value, Path)
                and not value.is_absolute()
                and self._relative_to_config(name)
            ):
                # The model is frozen; resolution happens once, during validation.
                object.__setattr__(self, name, Path(base_dir) / value)
        return self

    def _relative_to_config(self, name: str) -> bool:
        """Whether the relative path in field ``name`` names a file beside the configuration.

        True for every path field unless a subclass says otherwise (a folder inside a
        repository is relative to that repository, not to the configuration file).
        """
        return True


OptionsT = TypeVar("OptionsT", bound=ConnectorOptions, default=ConnectorOptions)
"""A connector's options model; a connector written as plain ``Connector`` gets the base."""

ConnectorT = TypeVar("ConnectorT", bound="Connector[Any]")


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectorSetup(Generic[ConnectorT]):
    """A connector class with one source's validated options: all a run needs to open one."""

    kind: type[ConnectorT]
    options: ConnectorOptions

    def open(self, source: SourceInfo) -> ConnectorT:
        """A fresh connector reading for ``source`` (nothing is read until it is listed)."""
        return self.kind(self.options, source=source)


class Connector(Closing, abc.ABC, Generic[OptionsT]):
    """A source of documents: a cheap listing and a fetch of one document.

    Subclasses name their options model as the type parameter (``Connector[NotesOptions]``)
    and implement :meth:`list` and :meth:`fetch`. They may override :meth:`close` to release
    connections or open files. Setting :attr:`Options` instead, on a plain ``Connector``
    subclass, works too (``self.options`` is then typed as the base model).
    """

    Options: ClassVar[type[ConnectorOptions]] = ConnectorOptions
    options: OptionsT

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Options" in cls.__dict__:
            return
        # `class X(Connector[XOptions])`: the type parameter is the options model, named once.
        for base in cls.__dict__.get("__orig_bases__", ()):
            for argument in typing.get_args(base):
                if isinstance(argument, type) and issubclass(argument, ConnectorOptions):
                    cls.Options = argument
                    return

    def __init__(self, options: OptionsT, *, source: SourceInfo) -> None:
        if not isinstance(options, type(self).Options):
            raise TypeError(
                f"{type(self).__name__} needs {type(self).Options.__name__},"
                f" not {type(options).__name__}"
            )
        self.options = options
        self.source = source

    @classmethod
    def configure(
        cls,
        raw: Mapping[str, Any],
        *,
        base_dir: Path,
        context: Mapping[str, Any] | None = None,
    ) -> ConnectorSetup[Self]:
        """Validate a source's ``options`` into the setup every run opens connectors from.

        Raises :class:`pydantic.ValidationError` naming each bad key. Relative paths resolve
        against ``base_dir``, the configuration file's folder; ``context`` adds validation
        context keys (the source's ``allow_insecure_http``).
        """
        validation = {**(context or {}), "base_dir": base_dir}
        options = cls.Options.model_validate(dict(raw), context=validation)
        return ConnectorSetup(cls, options)

    @classmethod
    def from_config(cls, raw: Mapping[str, Any], *, source: SourceInfo, base_dir: Path) -> Self:
        """:meth:`configure`, then :meth:`ConnectorSetup.open`: a connector from raw options."""
        return cls.configure(raw, base_dir=base_dir).open(source)

    def fingerprint(self) -> str | None:
        """The listing fingerprint (see the module docstring), or None to always list.

        Called once per run, before :meth:`list`; it may raise SourceUnavailable.
        """
        return None

    @abc.abstractmethod
    def list(self) -> Iterator[DocumentRef]:
        """Yield every publishable document's ref; raise SourceUnavailable if incomplete."""

    @abc.abstractmethod
    def fetch(self, ref: DocumentRef) -> Document:
        """Read one listed document; raise DocumentError or DocumentExcluded for it alone."""

    def describe_change(self, old: str, new: str) -> str | None:
        """What moved between two versions of one document, in words (for the dry-run plan).

        For example ``size 559 -> 607 bytes, modified 2026-11-30 04:01:05 UTC`` or
        ``revision 1042 -> 1077``. None (the default) says only that the version changed.
        """
        return None

    def lookup(self, ids: Collection[str]) -> Sequence[DocumentRef] | None:
        """The refs of those of ``ids`` that exist and would be listed now; None if unsupported.

        Reads nothing of the other documents. An id left out of the answer does not exist (or
        is not publishable) now. SourceUnavailable when the source cannot be asked; the
        default, None, makes a run given a change set list the whole source instead.
        """
        return None

    def watch_root(self) -> Path | None:
        """A folder whose file-system events name this source's documents; None if none."""
        return None

    def ref_id_of(self, path: Path) -> str | None:
        """The ref id that a file at ``path`` (under :meth:`watch_root`) would have, or None.

        A name-only check (no ``stat``): whether the path could be a document at all.
        """
        return None

    def poll_changes(self, cursor: str | None) -> Poll:
        """What changed since ``cursor`` (None: start now), in one cheap request.

        Raises NotImplementedError when the connector has no change feed (the default);
        SourceUnavailable when the source cannot be asked right now.
        """
        raise NotImplementedError

    @classmethod
    def can_poll(cls) -> bool:
        """Whether :meth:`poll_changes` is implemented."""
        return cls.poll_changes is not Connector.poll_changes

    def close(self) -> None:
        """Release what the connector holds (files, HTTP sessions)."""
