"""What a file is, by its content: the *kind* behind an extension (see :mod:`syncd.extract`).

Office files are ZIP archives told apart by the parts they hold; a ZIP archive whose members
would unpack to far more than it holds is refused before any of them is read (a zip bomb
posing as a DOCX or XLSX).
"""

from __future__ import annotations

import io
import zipfile

from syncd.extract.errors import ExtractionFailed

# The extensions ``attachments: {types: [...]}`` may name, each with the kind its content
# must have. Markdown and text share the kind "text": only the rendering differs.
TYPES: dict[str, str] = {
    "pdf": "pdf",
    "docx": "docx",
    "pptx": "pptx",
    "xlsx": "xlsx",
    "txt": "text",
    "md": "text",
}

_NAMES = {
    "pdf": "a PDF",
    "docx": "a Word document",
    "pptx": "a PowerPoint deck",
    "xlsx": "an Excel workbook",
    "text": "a text file",
    "zip": "a ZIP archive",
    "binary": "binary data",
}
# The part each Office kind cannot be without (Office Open XML, ECMA-376 part 2).
_OOXML_PARTS = {
    "word/document.xml": "docx",
    "ppt/presentation.xml": "pptx",
    "xl/workbook.xml": "xlsx",
}
# Real Office files compress about 5 to 20 times; a bomb thousands of times.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200
_RATIO_FLOOR = 1024 * 1024  # small parts (styles, shared strings) may compress very well


def kind_name(kind: str) -> str:
    """A kind in words, for messages: ``docx`` -> ``a Word document``."""
    return _NAMES.get(kind, kind)


def expected_kind(file_type: str) -> str:
    """The kind a file of extension ``file_type`` must have."""
    return TYPES[file_type.lower()]


def sniff(data: bytes) -> str:
    """The kind of ``data``: one of :data:`TYPES`' values, ``zip`` or ``binary``."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if b"\x00" in data[:8192]:
        return "binary"
    return "text"


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            _check_sizes(archive.infolist(), len(data))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExtractionFailed(f"is a damaged ZIP archive ({exc})") from None
    for part, kind in _OOXML_PARTS.items():
        if part in names:
            return kind
    return "zip"


def _check_sizes(members: list[zipfile.ZipInfo], packed: int) -> None:
    """Refuse an archive that would unpack to much more than an Office file ever does."""
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise ExtractionFailed(
            f"would unpack to {unpacked // (1024 * 1024)} MiB from {packed} bytes"
            f" (at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB are read): a zip bomb?"
        )
    for member in members:
        if member.file_size > _RATIO_FLOOR and member.file_size > MAX_RATIO * max(
            member.compress_size, 1
        ):
            raise ExtractionFailed(
                f"holds {member.filename!r}, which would unpack {member.compress_size} bytes"
                f" to {member.file_size} (more than {MAX_RATIO} times): a zip bomb?"
            )


def check_kind(data: bytes, file_type: str) -> str:
    """The kind of ``data``, which must be what the extension ``file_type`` says it is."""
    kind = sniff(data)
    wanted = expected_kind(file_type)
    if kind != wanted:
        raise ExtractionFailed(
            f"is named .{file_type.lower()} but is not {kind_name(wanted)}"
            f" (its content is {kind_name(kind)})"
        )
    return kind
