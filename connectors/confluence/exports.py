"""A folder where Confluence XML exports keep arriving: which export is current for each space.

Point Confluence's scheduled site backup (or a nightly *Export space > XML*) at a folder and
keep older exports there if you like; each run reads, per space, the newest *complete* export.

candidate
    A ``.zip`` at the top of the folder whose central directory lists ``entities.xml``, or a
    sub-folder holding an unpacked export (``entities.xml`` at its top).
complete
    A zip's central directory is written last, so a zip still being written does not open;
    an unpacked ``entities.xml`` must end with its closing ``</hibernate-generic>``. Either way
    the files must also have been left alone for :data:`SETTLE_SECONDS`, so an export copied
    in place or rewritten is not read half-way. Anything else is *skipped* (and reported),
    never read: a half-written export must not look like a site that lost its pages.
kind
    A *space export* (``exportType=space`` in ``exportDescriptor.properties``) holds the space
    its ``spaceKey`` names; a *site backup* (``exportType=all``, or no descriptor) holds every
    space of the site.
newest
    By the export's own timestamp (the ``datetime`` of ``entities.xml``'s root, written when
    the export started), then by file modification time. Copying files keeps the order.

The selection (:func:`current_exports`): the newest complete site backup, plus, for each space
key, its newest complete space export when that is at least as new as the site backup (it then
replaces that space of the backup). A space whose only exports are older than the newest
site backup, and a space the newest site backup no longer holds but the previous complete one
does, are *missing from the newest exports*; with ``missing_spaces: keep`` (the default) they
are still read from those older exports, so an export that lacks a space never deletes its
pages; with ``missing_spaces: delete`` they are dropped, and so is a space whose newest space
export is more than :data:`STALE_SPACE_AFTER` older than the newest export in the folder.
Older site backups are never read (each is a full pass over a large file, and they pile up),
so a space two backups in a row lack is gone unless the source names it in ``spaces``, which
the connector then refuses to drop (see ``ConfluenceExportConnector._check_named_spaces``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import time
import zipfile
from pathlib import Path

from syncd.connectors.base import SourceUnavailable
from syncd.connectors.confluence.xml_entities import (
    ENTITIES_NAME,
    ROOT_TAG,
    EntitiesSource,
    find_entities,
)

SETTLE_SECONDS = 60.0
STALE_SPACE_AFTER = dt.timedelta(days=1)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_SETTLING = "read once unchanged for"  # how a skip for settling ends


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """One complete export in the folder."""

    source: EntitiesSource
    space_key: str | None  # None: a site backup
    made: dt.datetime
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        """The export's file or folder name."""
        return self.source.path.name

    @property
    def stamp(self) -> tuple[str, int, int]:
        """What changes when the export is replaced: its name, size and modification time."""
        return (self.name, self.size, self.mtime_ns)


@dataclasses.dataclass(frozen=True, slots=True)
class Selection:
    """Which export is current for each space, and what was left out and why."""

    site: Candidate | None = None
    spaces: dict[str, Candidate] = dataclasses.field(default_factory=dict)  # key (lower)
    fallback_site: Candidate | None = None  # previous site backup, for spaces `site` lacks
    stale: dict[str, Candidate] = dataclasses.field(default_factory=dict)  # key (lower)
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> why

    @property
    def settling(self) -> list[str]:
        """The skipped exports that are only too recent: complete once left alone a while."""
        return [name for name, why in self.skipped.items() if _SETTLING in why]

    @property
    def fingerprint(self) -> str:
        """A digest that changes when, and only when, a different export becomes current."""
        chosen = [self.site, self.fallback_site, *self.spaces.values(), *self.stale.values()]
        stamps = sorted(c.stamp for c in chosen if c is not None)
        return hashlib.sha256(repr(stamps).encode()).hexdigest()[:32]

    def describe(self) -> str:
        """The chosen exports, for messages."""
        names = [c.name for c in (self.site, *self.spaces.values()) if c is not None]
        return ", ".join(names) or "none"


def _made(source: EntitiesSource, mtime_ns: int) -> dt.datetime:
    stamp = source.export_time()
    if stamp:
        try:
            return dt.datetime.strptime(stamp[:19], _TIME_FORMAT)
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(mtime_ns / 1e9)  # export times are naive too


def _newest_mtime(path: Path) -> tuple[int, int]:
    """(size, newest mtime in ns) of a zip, or of the files at the top of a folder."""
    if path.is_file():
        info = path.stat()
        return info.st_size, info.st_mtime_ns
    size, newest = 0, 0
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_file():
                info = entry.stat()
                size += info.st_size
                newest = max(newest, info.st_mtime_ns)
    return size, newest


def _ends_complete(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(handle.tell() - 256, 0))
        return handle.read().rstrip().endswith(ROOT_TAG)


def examine(path: Path, *, now: float, settle_seconds: float) -> Candidate | str:
    """A complete export at ``path``, or why it is not one (see *complete* above)."""
    try:
        source = find_entities(path)
        if source is None:
            if path.is_file() and zipfile.is_zipfile(path):
                return f"no {ENTITIES_NAME} in the zip"
            return (
                "not a complete zip (still being written?)"
                if path.is_file()
                else (f"no {ENTITIES_NAME}")
            )
        if source.member is None and not _ends_complete(path / ENTITIES_NAME):
            return f"{ENTITIES_NAME} does not end with {ROOT_TAG.decode()} (still being written?)"
        size, mtime_ns = _newest_mtime(path)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    age = now - mtime_ns / 1e9
    if age < settle_seconds:
        return f"modified {max(age, 0):.0f} s ago; {_SETTLING} {settle_seconds:.0f} s"
    descriptor = source.descriptor()
    key = descriptor.get("spaceKey") if descriptor.get("exportType") == "space" else None
    return Candidate(source, key or None, _made(source, mtime_ns), size, mtime_ns)


def examine_folder(folder: Path) -> bool:
    """Whether ``folder`` holds XML exports (complete or not): zips or sub-folders of them.

    A zip counts when its central directory lists ``entities.xml``. A folder whose only export
    is still being written is therefore not recognised yet; read as an HTML export it holds
    none, and the run stops with SourceUnavailable: nothing is deleted.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return False
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_dir() and (path / ENTITIES_NAME).is_file():
            return True
        is_zip = entry.is_file() and entry.name.lower().endswith(".zip")
        if is_zip and find_entities(path) is not None:
            return True
    return False


def _order(candidate: Candidate) -> tuple[dt.datetime, int, str]:
    return (candidate.made, candidate.mtime_ns, candidate.name)


def current_exports(
    folder: Path,
    *,
    missing_spaces: str = "keep",
    now: float | None = None,
    settle_seconds: float = SETTLE_SECONDS,
) -> Selection:
    """Which complete export is current for each space of the folder (module docstring).

    Reads only directory entries, zip central directories, descriptors and the first bytes of
    each ``entities.xml``, so a watcher can call it often and compare :attr:`Selection.
    fingerprint`. SourceUnavailable when the folder cannot be listed.
    """
    moment = time.time() if now is None else now
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        raise SourceUnavailable(f"cannot list {folder}: {exc.strerror or exc}") from exc
    found: list[Candidate] = []
    skipped: dict[str, str] = {}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        is_zip = entry.is_file() and entry.name.lower().endswith(".zip")
        if not (is_zip or entry.is_dir()):
            continue
        result = examine(Path(entry.path), now=moment, settle_seconds=settle_seconds)
        if isinstance(result, str):
            skipped[entry.name] = result
        else:
            found.append(result)
    return select(found, skipped=skipped, missing_spaces=missing_spaces)


def select(
    candidates: list[Candidate], *, skipped: dict[str, str], missing_spaces: str
) -> Selection:
    """The selection rule of the module docstring over complete exports."""
    ordered = sorted(candidates, key=_order, reverse=True)
    sites = [c for c in ordered if c.space_key is None]
    site = sites[0] if sites else None
    newest_by_key: dict[str, Candidate] = {}
    for candidate in ordered:
        if candidate.space_key is not None:
            newest_by_key.setdefault(candidate.space_key.lower(), candidate)
    spaces: dict[str, Candidate] = {}
    stale: dict[str, Candidate] = {}
    newest = ordered[0].made if ordered else None
    for key, candidate in newest_by_key.items():
        if site is not None and _order(candidate) < _order(site):
            # The backup is newer; this export only stands in for a space the backup lacks.
            stale[key] = candidate
        elif missing_spaces == "delete" and newest and newest - candidate.made > STALE_SPACE_AFTER:
            continue
        else:
            spaces[key] = candidate
    keep = missing_spaces != "delete"
    return Selection(
        site=site,
        spaces=spaces,
        fallback_site=sites[1] if keep and len(sites) > 1 else None,
        stale=stale if keep else {},
        skipped=skipped,
    )
