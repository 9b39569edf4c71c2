"""Streaming ``entities.xml``, the one file that holds a Confluence XML export's content model.

Confluence writes it for *Space tools > Export > XML* and for site backups (scheduled or by
hand). The vocabulary:

entities file
    ``entities.xml`` at the top of the export's zip (read in place, never extracted) or of the
    folder it was unpacked to, with ``exportDescriptor.properties`` beside it.

object
    One ``<object class="C">`` child of the root: its id (``<id name="id">``, or ``name="key"``
    for users), *properties* (a scalar text, or a reference ``<property><id>N</id></property>``
    whose value is then the target id) and *collections* (lists of target ids). Objects come in
    no useful order (bodies before their pages), which is why a reader needs two passes.

Each pass is a fresh :func:`lxml.etree.iterparse` over the stream, with every finished object
cleared and unlinked from the root, so memory holds one object at a time whatever the file's
size. Bytes XML 1.0 forbids (C0 controls, seen in real exports) are removed before the parser
sees them. Entity declarations are never resolved and nothing is fetched from the network.

Character data is bounded while it streams, before the parser holds any of it: a *run* (the
text and CDATA sections between two tags, such as one body) longer than
:data:`MAX_RUN_BYTES` is cut there and ends with :data:`CUT_MARK`, and the rest of it is
dropped unread. One 700 MB CDATA body in a 714 KB zip otherwise took 5.1 GB: libxml2 and then
Python each hold a whole text node. The page that owns a cut body fails alone (see
:mod:`syncd.connectors.confluence.xml_index`).
"""

from __future__ import annotations

import dataclasses
import io
import re
import secrets
import zipfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO, cast

from lxml import etree

from syncd.connectors.base import SourceUnavailable
from syncd.connectors.confluence.archive import MAX_PAGE_BYTES

ENTITIES_NAME = "entities.xml"
DESCRIPTOR_NAME = "exportDescriptor.properties"
ROOT_TAG = b"</hibernate-generic>"
# XML 1.0 allows only TAB, LF and CR below 0x20; every other C0 byte is also never part of a
# multi-byte UTF-8 sequence, so deleting them from the raw bytes is safe.
_C0 = bytes(b for b in range(32) if b not in (9, 10, 13))
_CHUNK = 1 << 20
_EXPORT_TIME = re.compile(rb'<hibernate-generic[^>]*\bdatetime="([^"]+)"')


#: The longest run of character data kept (the raw page limit of the Confluence connector).
MAX_RUN_BYTES = MAX_PAGE_BYTES
#: What a cut run ends with: random per process, so no export can write it on purpose.
CUT_MARK = f"[syncd:cut:{secrets.token_hex(8)}]"
_CDATA_OPEN = b"<![CDATA["
_CDATA_CLOSE = b"]]>"
_SETTLE = 16  # bytes past the limit within which a cut finds a place between characters


class _RunLimit:
    """Cuts runs of character data to ``limit`` bytes as the bytes stream past.

    Only finds on whole chunks run per CDATA section (and per tag, near the limit), so an
    export costs a few microseconds per object. A chunk's last bytes wait for the next one
    when they could be the start of ``<![CDATA[`` or ``]]>``.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_cdata = False
        self.run = 0  # bytes of the current run passed on
        self.dropping = False  # the current run was cut: drop it to the next tag
        self.pending = b""

    def feed(self, chunk: bytes, *, final: bool = False) -> bytes:
        """The bytes to pass on for ``chunk`` (with the last call, ``final``)."""
        data = self.pending + chunk if self.pending else chunk
        out: list[bytes] = []
        pos, size = 0, len(data)
        while pos < size:
            if self.in_cdata:
                close = data.find(_CDATA_CLOSE, pos)
                if close < 0:
                    stop = size if final else max(pos, size - len(_CDATA_CLOSE) + 1)
                    pos = self._chars(data, pos, stop, out, cdata=True, more=not final)
                    break
                self._chars(data, pos, close, out, cdata=True)
                if not self.dropping:
                    out.append(_CDATA_CLOSE)
                self.in_cdata, pos = False, close + len(_CDATA_CLOSE)
                continue
            # Up to the next CDATA section (or the last "<"), tags and text at once when no run
            # there can reach the limit: the bytes and run of the tag-by-tag way below.
            end = data.find(_CDATA_OPEN, pos)
            end = end if end >= 0 else data.rfind(b"<", pos)
            if not self.dropping and end > pos and self.run + (end - pos) < self.limit:
                out.append(data[pos:end])
                last = data.rfind(b"<", pos, end)  # a tag starts a new run
                self.run = end - last if last >= 0 else self.run + (end - pos)
                pos = end
                continue
            tag = data.find(b"<", pos)
            if tag < 0:
                pos = self._chars(data, pos, size, out, cdata=False, more=not final)
                break
            self._chars(data, pos, tag, out, cdata=False)
            pos = tag
            if size - tag < len(_CDATA_OPEN) and not final:
                break  # cannot tell a CDATA section from a tag yet
            if data.startswith(_CDATA_OPEN, tag):
                if not self.dropping:
                    out.append(_CDATA_OPEN)
                self.in_cdata, pos = True, tag + len(_CDATA_OPEN)
                continue
            # A tag ends the run; its own bytes count towards the next one, harmlessly.
            self.run, self.dropping = 0, False
            following = data.find(b"<", tag + 1)
            if following < 0:
                pos = self._chars(data, tag, size, out, cdata=False, more=not final)
                break
            pos = self._chars(data, tag, following, out, cdata=False)
        self.pending = data[pos:]
        return b"".join(out)

    def _chars(
        self,
        data: bytes,
        start: int,
        stop: int,
        out: list[bytes],
        *,
        cdata: bool,
        more: bool = False,
    ) -> int:
        """Pass on ``data[start:stop]``, cut if the run outgrows the limit; the offset up to
        which it is settled (before ``stop`` only when ``more`` may decide where to cut)."""
        if self.dropping or stop <= start:
            return stop
        keep = start + max(self.limit - self.run, 0)
        if stop - keep < _SETTLE:  # under the limit, or too near the end to cut yet
            settled = keep if more and keep < stop else stop
            out.append(data[start:settled])
            self.run += settled - start
            return settled
        # Cut a few bytes on, where no UTF-8 sequence (nor, in text, entity reference) is open.
        while data[keep] & 0xC0 == 0x80:
            keep += 1
        if not cdata:
            semi = data.find(b";", keep, keep + _SETTLE)
            if semi >= 0 and data.find(b"&", keep, semi) < 0:
                keep = semi + 1
        out.append(data[start:keep])
        out.append(CUT_MARK.encode())
        if cdata:
            out.append(_CDATA_CLOSE)
        self.dropping = True
        return stop


class _CleanStream(io.RawIOBase):
    """A binary stream with the bytes XML 1.0 forbids removed and long runs cut."""

    def __init__(self, raw: IO[bytes], limit: int = MAX_RUN_BYTES) -> None:
        self.raw = raw
        self.runs = _RunLimit(limit)
        self.ready = b""  # passed on, not yet read
        self.ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self.ready:
            if self.ended:
                return 0
            chunk = self.raw.read(len(buffer))
            if not chunk:
                self.ended = True
                self.ready = self.runs.feed(b"", final=True)
            else:
                self.ready = self.runs.feed(chunk.translate(None, _C0))
        size = min(len(buffer), len(self.ready))
        buffer[:size] = self.ready[:size]
        self.ready = self.ready[size:]
        return size

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Member(io.RawIOBase):
    """A zip member's stream that closes its archive with it."""

    def __init__(self, archive: zipfile.ZipFile, member: IO[bytes]) -> None:
        self.archive = archive
        self.member = member

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.member.read(size)

    def close(self) -> None:
        self.member.close()
        self.archive.close()
        super().close()


@dataclasses.dataclass(frozen=True, slots=True)
class XmlObject:
    """One object of the entities file (see the module docstring)."""

    cls: str
    id: str
    props: dict[str, str | None]
    collections: dict[str, list[str]]

    def text(self, name: str) -> str | None:
        """A property's value with surrounding whitespace removed; None when empty or absent."""
        value = self.props.get(name)
        if value is None:
            return None
        return value.strip() or None


@dataclasses.dataclass(frozen=True, slots=True)
class EntitiesSource:
    """Where an export's entities file lives: a zip member or a file in a folder."""

    path: Path
    member: str | None = None  # the zip member name; None for a folder export

    @property
    def prefix(self) -> str:
        """The folder inside the zip that holds ``entities.xml`` ("" at the top)."""
        return self.member.removesuffix(ENTITIES_NAME) if self.member else ""

    def describe(self) -> str:
        """How messages name the export."""
        return self.path.name

    def stamp(self) -> tuple[int, int] | None:
        """The entities file's (size, mtime in ns), or the zip's; None if it cannot be read."""
        target = self.path if self.member is not None else self.path / ENTITIES_NAME
        try:
            info = target.stat()
        except OSError:
            return None
        return info.st_size, info.st_mtime_ns

    def _open_raw(self, name: str) -> IO[bytes]:
        if self.member is None:
            return (self.path / name).open("rb")
        archive = zipfile.ZipFile(self.path)
        try:
            return cast(IO[bytes], _Member(archive, archive.open(f"{self.prefix}{name}")))
        except BaseException:
            archive.close()
            raise

    def open(self) -> IO[bytes]:
        """A fresh binary stream of the entities file, forbidden bytes removed."""
        try:
            raw = self._open_raw(ENTITIES_NAME)
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise SourceUnavailable(
                f"{self.describe()}: cannot open {ENTITIES_NAME}: {exc}"
            ) from exc
        return io.BufferedReader(_CleanStream(raw), _CHUNK)

    def descriptor(self) -> dict[str, str]:
        """``exportDescriptor.properties`` as key -> value; empty when absent or unreadable."""
        try:
            with self._open_raw(DESCRIPTOR_NAME) as raw:
                data = raw.read(1 << 20)
        except (OSError, KeyError, zipfile.BadZipFile):
            return {}
        return parse_properties(data.decode("utf-8", errors="replace"))

    def export_time(self) -> str | None:
        """The root's ``datetime`` (``yyyy-MM-dd HH:mm:ss``), from the file's first bytes."""
        try:
            with self._open_raw(ENTITIES_NAME) as raw:
                head = raw.read(4096)
        except (OSError, KeyError, zipfile.BadZipFile):
            return None
        match = _EXPORT_TIME.search(head)
        return match[1].decode("ascii", errors="replace") if match else None


def parse_properties(text: str) -> dict[str, str]:
    """A Java properties file, read tolerantly: ``key=value`` lines, comments skipped."""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip().replace("\\:", ":").replace("\\=", "=")
    return found


def _parse_object(element: etree._Element, skip: Collection[str]) -> XmlObject:
    object_id = ""
    props: dict[str, str | None] = {}
    collections: dict[str, list[str]] = {}
    for child in element:
        tag = child.tag
        if tag == "id":
            object_id = (child.text or "").strip()
            continue
        name = child.get("name") or ""
        if tag == "property":
            if name in skip:
                continue
            reference = child.find("id")
            if reference is not None:
                props[name] = (reference.text or "").strip() or None
            else:
                props[name] = child.text
        elif tag == "collection":
            collections[name] = [
                (item.findtext("id") or "").strip() for item in child if item.tag == "element"
            ]
    return XmlObject(
        cls=element.get("class") or "", id=object_id, props=props, collections=collections
    )


def iter_objects(
    source: EntitiesSource, classes: Collection[str], *, skip: Collection[str] = ()
) -> Iterator[XmlObject]:
    """Every object of these classes, in file order; properties named in ``skip`` left out.

    SourceUnavailable when the file cannot be read to its end: a listing built from part of an
    export must never delete what the missing part holds.
    """
    stream = source.open()
    try:
        parser = etree.iterparse(
            stream,
            events=("end",),
            tag="object",
            huge_tree=True,  # bodies and files past lxml's default 10 MB text limit are real
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            remove_comments=True,
        )
        for _event, element in parser:
            if element.get("class") in classes:
                yield _parse_object(element, skip)
            # Finished objects are unlinked from the root, so memory stays flat.
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise SourceUnavailable(
            f"{source.describe()}: {ENTITIES_NAME} is not well-formed XML ({exc});"
            " the export is damaged or still being written"
        ) from exc
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise SourceUnavailable(f"{source.describe()}: cannot read {ENTITIES_NAME}: {exc}") from exc
    finally:
        stream.close()


def find_entities(path: Path) -> EntitiesSource | None:
    """The entities file of an XML export at ``path`` (zip or folder), or None if it is none."""
    if path.is_dir():
        return EntitiesSource(path) if (path / ENTITIES_NAME).is_file() else None
    if not path.is_file():
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return None
    # At the top, or in one folder when someone zipped the unpacked export again.
    members = sorted(
        (
            name
            for name in names
            if name.rsplit("/", 1)[-1] == ENTITIES_NAME and name.count("/") <= 1
        ),
        key=lambda name: name.count("/"),
    )
    return EntitiesSource(path, members[0]) if members else None
