"""Reading a Confluence HTML export where it lies: a folder or a zip, never extracted.

The vocabulary:

export root
    The folder that holds ``index.html`` and the page files. Confluence zips it as one folder
    named after the space key (``DOC/``), and people often keep that folder (or several) side
    by side, so the root is the given folder or zip itself when page files sit at its top,
    else its single sub-folder that holds them.

page file
    ``<Title-With-Dashes>_<pageId>.html``, or ``<pageId>.html`` when the title has characters
    Confluence will not put in a file name. Names may be percent-encoded on disk
    (``Me%2C-evolving_78643201.html``); the page id is read from the decoded name, never the
    title. ``index.html`` is the space overview, not a page.

A zip is read in place with :mod:`zipfile`. Member names are never joined to a path on disk,
so a crafted name cannot write anywhere; names that are absolute or climb out with ``..`` are
still refused, because Confluence never writes them and an archive that has them was altered.
Only the HTML the connector reads is held to :class:`ZipLimits`; attached files
(``attachments/<pageId>/<attachmentId>.<ext>``) are read only when ``attachments`` publishes
them, each to its own byte limit.
"""

from __future__ import annotations

import abc
import dataclasses
import os
import re
import stat
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote

from syncd.connectors.base import DocumentError, DocumentTooLarge, SourceUnavailable

INDEX_NAME = "index.html"
# No real page comes near; a bigger file is not a page. It bounds what parsing one page costs
# in memory (about 60 times its size at peak: see BENCHMARKS.md, "Failure handling").
MAX_PAGE_BYTES = 3 * 1024 * 1024
_PAGE_NAME = re.compile(r"^(?:.+_)?(\d+)\.html$")
# attachments/<pageId>/<attachmentId>.<ext>; thumbnails/ (no extension) never matches.
_ATTACHMENT_NAME = re.compile(r"^attachments/(\d+)/(\d+)\.(\w+)$")


def page_id_from_name(name: str) -> str | None:
    """The page id a page file name (or a link to one) carries, or None."""
    base = unquote(name.rsplit("/", 1)[-1])
    # Dot files are macOS AppleDouble shadows (._Page_1.html) of the real pages.
    if base == INDEX_NAME or base.startswith("."):
        return None
    match = _PAGE_NAME.match(base)
    return match[1] if match else None


@dataclasses.dataclass(frozen=True, slots=True)
class PageFile:
    """One page file of the export: its page id, its name under the root, its version."""

    id: str
    name: str
    version: str


@dataclasses.dataclass(frozen=True, slots=True)
class AttachmentFile:
    """One attached file of the export: its page, its attachment id, name, and version."""

    page_id: str
    attachment_id: str
    name: str
    version: str


def attachment_file(name: str, version: str) -> AttachmentFile | None:
    """The attachment a file name under the root names, or None."""
    match = _ATTACHMENT_NAME.match(name)
    return AttachmentFile(match[1], match[2], name, version) if match else None


@dataclasses.dataclass(frozen=True, slots=True)
class ZipLimits:
    """How much HTML a zip may make the connector inflate (pages and ``index.html`` only)."""

    max_member_bytes: int = MAX_PAGE_BYTES
    max_total_bytes: int = 2 * 1024 * 1024 * 1024
    max_ratio: float = 200.0
    # HTML compresses about 5:1; a small member cannot hurt whatever its ratio.
    ratio_floor_bytes: int = 1024 * 1024


class Export(abc.ABC):
    """A Confluence HTML export's files, addressed by names relative to the export root."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @abc.abstractmethod
    def pages(self) -> list[PageFile]:
        """Every page file, sorted by name; one per page id (the first name wins)."""

    @abc.abstractmethod
    def read(self, name: str, limit: int | None = None) -> bytes:
        """The bytes of one file; DocumentError naming it when it cannot be read.

        ``limit``: the most bytes an attached file may have; None: a page's limits.
        """

    @abc.abstractmethod
    def attachments(self) -> list[AttachmentFile]:
        """Every attached file (not thumbnails), sorted by name; after :meth:`pages`."""

    @abc.abstractmethod
    def has(self, name: str) -> bool:
        """Whether the export holds a file of this name."""

    def close(self) -> None:  # noqa: B027 - a folder holds nothing open
        """Release open files."""

    def describe(self, name: str) -> str:
        """How messages name a file of the export."""
        return name


def open_export(path: Path, *, limits: ZipLimits | None = None) -> Export:
    """Open the export at ``path`` (a folder or a ``.zip``); SourceUnavailable if it is none."""
    if path.is_dir():
        return FolderExport(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return ZipExport(path, limits=limits or ZipLimits())
    if path.exists():
        raise SourceUnavailable(f"{path}: neither a folder nor a zip file")
    raise SourceUnavailable(f"{path}: does not exist")


def _dedupe(candidates: list[tuple[str, str, str]]) -> list[PageFile]:
    """Page files from (name, id, version), sorted by name, first name per id kept."""
    seen: set[str] = set()
    pages = []
    for name, page_id, version in sorted(candidates):
        if page_id not in seen:
            seen.add(page_id)
            pages.append(PageFile(id=page_id, name=name, version=version))
    return pages


def _looks_like_export(file_names: list[str]) -> bool:
    return any(name == INDEX_NAME or page_id_from_name(name) for name in file_names)


def _pick_root(where: str, top_files: list[str], folders: dict[str, list[str]]) -> str | None:
    """The export root: None for the top itself, else the one sub-folder holding pages."""
    if _looks_like_export(top_files):
        return None
    exports = sorted(name for name, files in folders.items() if _looks_like_export(files))
    if len(exports) == 1:
        return exports[0]
    if not exports:
        raise SourceUnavailable(
            f"no Confluence export in {where}: no index.html or page files (Title_123.html)"
            " at its top or in a folder just below it"
        )
    raise SourceUnavailable(
        f"{where} holds several exports ({', '.join(exports)}); point path at one of them"
    )


class FolderExport(Export):
    """An unpacked export; versions are each file's size and mtime."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.root = path

    def _find_root(self) -> Path:
        try:
            top = sorted(os.scandir(self.path), key=lambda entry: entry.name)
            top_files = [entry.name for entry in top if entry.is_file()]
            folders = {
                entry.name: [child.name for child in os.scandir(entry.path) if child.is_file()]
                for entry in top
                if entry.is_dir() and not entry.name.startswith(".")
            }
        except OSError as exc:
            raise SourceUnavailable(f"cannot list {self.path}: {exc.strerror}") from exc
        sub = _pick_root(str(self.path), top_files, folders)
        return self.path if sub is None else self.path / sub

    def pages(self) -> list[PageFile]:
        self.root = self._find_root()
        candidates = []
        try:
            for entry in os.scandir(self.root):
                page_id = page_id_from_name(entry.name)
                if page_id is None or not entry.is_file():
                    continue
                info = entry.stat()
                candidates.append((entry.name, page_id, f"{info.st_size}:{info.st_mtime_ns}"))
        except OSError as exc:
            raise SourceUnavailable(f"cannot list {self.root}: {exc.strerror}") from exc
        return _dedupe(candidates)

    def has(self, name: str) -> bool:
        return (self.root / name).is_file()

    def attachments(self) -> list[AttachmentFile]:
        found = []
        try:
            with os.scandir(self.root / "attachments") as pages:
                folders = [entry.name for entry in pages if entry.is_dir(follow_symlinks=False)]
            for folder in folders:
                with os.scandir(self.root / "attachments" / folder) as files:
                    for entry in files:
                        if not entry.is_file(follow_symlinks=False):
                            continue
                        info = entry.stat()
                        version = f"{info.st_size}:{info.st_mtime_ns}"
                        attached = attachment_file(f"attachments/{folder}/{entry.name}", version)
                        if attached is not None:
                            found.append(attached)
        except FileNotFoundError:
            return []  # an export of pages without attachments has no such folder
        except OSError as exc:
            raise SourceUnavailable(f"cannot list the attachments of {self.root}: {exc}") from exc
        return sorted(found, key=lambda attached: attached.name)

    def read(self, name: str, limit: int | None = None) -> bytes:
        target = self.root / name
        try:
            info = target.stat()
            if not stat.S_ISREG(info.st_mode):
                raise DocumentError(f"{name}: not a regular file")
            if info.st_size > (limit or MAX_PAGE_BYTES):
                what = "one page" if limit is None else "an attachment (attachments.max_bytes)"
                raise DocumentTooLarge(
                    f"{name}: {info.st_size} bytes, over the limit of"
                    f" {limit or MAX_PAGE_BYTES} bytes for {what}"
                )
            return target.read_bytes()
        except FileNotFoundError as exc:
            raise DocumentError(f"{name}: no longer in the export") from exc
        except OSError as exc:
            raise DocumentError(f"{name}: cannot be read: {exc.strerror}") from exc


def _unsafe(name: str) -> bool:
    """Whether a member name is absolute or climbs out of the archive."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return any(part == ".." for part in re.split(r"[/\\]", name))


class ZipExport(Export):
    """A zipped export read in place; versions are each member's CRC-32 and size."""

    def __init__(self, path: Path, *, limits: ZipLimits) -> None:
        super().__init__(path)
        self.limits = limits
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, zipfile.ZipInfo] = {}

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise SourceUnavailable(f"cannot open the zip {self.path}: {exc}") from exc
        return self._zip

    def _scan(self) -> None:
        archive = self._open()
        files: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            # Real exports start with a bogus "/" entry (unzip: "stripped absolute path
            # spec"); directory entries carry nothing, so they are skipped before the checks.
            if info.is_dir():
                continue
            if _unsafe(info.filename):
                raise SourceUnavailable(
                    f"{self.path.name}: member {info.filename!r} is an absolute path or leaves"
                    " the archive with '..'; Confluence never writes such names, so the zip is"
                    " refused"
                )
            files[info.filename] = info
        top_files = [name for name in files if "/" not in name]
        folders: dict[str, list[str]] = {}
        for name in files:
            head, sep, rest = name.partition("/")
            if sep and "/" not in rest:
                folders.setdefault(head, []).append(rest)
        # macOS zips carry a __MACOSX/ shadow tree of the same files; it is never the export.
        folders.pop("__MACOSX", None)
        sub = _pick_root(self.path.name, top_files, folders)
        prefix = "" if sub is None else f"{sub}/"
        self._members = {
            name.removeprefix(prefix): info
            for name, info in files.items()
            if name.startswith(prefix)
        }
        read_bytes = sum(
            info.file_size
            for name, info in self._members.items()
            if "/" not in name and name.endswith(".html")
        )
        if read_bytes > self.limits.max_total_bytes:
            raise SourceUnavailable(
                f"{self.path.name}: its pages inflate to {read_bytes} bytes, over the limit of"
                f" {self.limits.max_total_bytes} bytes; refusing a possible zip bomb"
            )

    def pages(self) -> list[PageFile]:
        self._scan()
        candidates = []
        for name, info in self._members.items():
            page_id = None if "/" in name else page_id_from_name(name)
            if page_id is not None:
                candidates.append((name, page_id, f"crc32:{info.CRC:08x}:{info.file_size}"))
        return _dedupe(candidates)

    def has(self, name: str) -> bool:
        if not self._members:
            self._scan()
        return name in self._members

    def attachments(self) -> list[AttachmentFile]:
        if not self._members:
            self._scan()
        found = (
            attachment_file(name, f"crc32:{info.CRC:08x}:{info.file_size}")
            for name, info in self._members.items()
        )
        return sorted((f for f in found if f is not None), key=lambda attached: attached.name)

    def read(self, name: str, limit: int | None = None) -> bytes:
        if not self._members:
            self._scan()
        info = self._members.get(name)
        where = self.describe(name)
        if info is None:
            raise DocumentError(f"{where}: no longer in the export")
        limits = self.limits
        if info.file_size > (limit or limits.max_member_bytes):
            what = "one page" if limit is None else "an attachment (attachments.max_bytes)"
            raise DocumentTooLarge(
                f"{where}: inflates to {info.file_size} bytes, over the limit of"
                f" {limit or limits.max_member_bytes} bytes for {what}"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
            raise DocumentError(
                f"{where}: compressed {ratio:.0f}:1, over the limit of {limits.max_ratio:.0f}:1;"
                " refusing a possible zip bomb"
            )
        try:
            with self._open().open(info) as member:
                # zipfile stops at the declared size, so this bound holds even for a member
                # whose header lies about its size.
                data = member.read(info.file_size + 1)
        except (OSError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
            raise DocumentError(f"{where}: cannot be read from the zip: {exc}") from exc
        return data

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def describe(self, name: str) -> str:
        return f"{self.path.name}:{name}"
