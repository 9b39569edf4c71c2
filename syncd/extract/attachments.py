"""Attachments as pages: the ``attachments`` option every connector with files shares, and the
way from one attached file to a :class:`~syncd.connectors.base.Document`.

Vocabulary, on top of :mod:`syncd.connectors.base`:

attachment
    A file a source keeps beside its pages (a PDF in a docs folder, a Confluence page's
    attachment, a wiki's ``File:`` page) whose type is listed in ``attachments.types``. It is
    published as a page of its own: its text (see :mod:`syncd.extract`) is the body.

attachment external id
    ``attachment:`` followed by what names the file at its source (its path, or its
    attachment id): no page's external id starts with that, so the two never collide.

attachment title
    The text of the link a page uses for the file, else the document's own title (PDF or
    Office metadata), else the file name after its parent's title
    (``Audits: quilt-2019-03-27.pdf``).

A file with no text (a scan) is excluded for the reason ``no text``: counted, not published.
One that cannot be read (damaged, encrypted, a zip bomb, not what its name says, past
``max_bytes``) fails alone at its version: it is read again once it changes. One that took too
long fails alone and is tried again next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic

from syncd.connectors.base import (
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentUnreadable,
    SourceInfo,
)
from syncd.extract import TYPES, ExtractionFailed, Limits, NoText, extract
from syncd.extract.errors import TooSlow

EXTERNAL_ID_PREFIX = "attachment:"
DEFAULT_MAX_BYTES = 20_000_000


class AttachmentOptions(pydantic.BaseModel):
    """``attachments: {types: [pdf, docx], max_bytes: 20MB}``; no types (the default): off."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    types: list[str] = pydantic.Field(default_factory=list)
    max_bytes: pydantic.ByteSize = pydantic.ByteSize(DEFAULT_MAX_BYTES)

    @pydantic.field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        types = [item.strip().lower().lstrip(".") for item in value]
        unknown = [item for item in types if item not in TYPES]
        if unknown:
            known = ", ".join(TYPES)
            raise ValueError(f"unknown attachment type {', '.join(unknown)}; known: {known}")
        return sorted(set(types))

    @pydantic.field_validator("max_bytes")
    @classmethod
    def _positive(cls, value: pydantic.ByteSize) -> pydantic.ByteSize:
        if value <= 0:
            raise ValueError("max_bytes must be more than 0")
        return value

    def __bool__(self) -> bool:
        return bool(self.types)

    def type_of(self, name: str) -> str | None:
        """The attachment type of a file named ``name`` if it is one to publish, else None."""
        _, dot, extension = name.rpartition(".")
        extension = extension.lower()
        return extension if dot and extension in self.types else None


def external_id(key: str) -> str:
    """The external id of the attachment that its source names ``key``."""
    return EXTERNAL_ID_PREFIX + key


def fallback_title(parent: str, file_name: str) -> str:
    """The title of a file with no better one: its name after its parent's title."""
    return f"{parent}: {file_name}" if parent else file_name


def document(
    data: bytes,
    *,
    where: str,
    file_type: str,
    options: AttachmentOptions,
    source: SourceInfo,
    key: str,
    url: str | None,
    link_text: str | None,
    parent: str,
    file_name: str,
    changed_at: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Document:
    """The page of one attached file; ``where`` names it in errors (a path, a page and file).

    Raises DocumentExcluded (``no text``), DocumentUnreadable, DocumentError (too slow), or
    :class:`~syncd.errors.Interrupted` when the run stops meanwhile.
    """
    limits = Limits(max_bytes=int(options.max_bytes))
    try:
        extracted = extract(data, file_type, limits=limits, stop=source.stop)
    except NoText as exc:
        raise DocumentExcluded(f"{where}: {exc}", reason="no text") from None
    except TooSlow as exc:
        raise DocumentError(f"{where}: {exc}") from None
    except ExtractionFailed as exc:
        raise DocumentUnreadable(f"{where}: {exc}") from None
    title = (
        _title(link_text, file_name)
        or _title(extracted.title, file_name)
        or fallback_title(parent, file_name)
    )
    return Document(
        title=title,
        body=extracted.html,
        body_format="html",
        url=url,
        external_id=external_id(key),
        metadata={"attachment": file_name, **(metadata or {})},
        changed_at=changed_at,
    )


def _title(candidate: str | None, file_name: str) -> str | None:
    """``candidate`` if it says more than the file's bare name does."""
    if not candidate:
        return None
    text = " ".join(candidate.split())
    stem = file_name.rpartition(".")[0] or file_name
    if not text or text in {file_name, stem} or text.replace(".", "").isdigit():
        return None
    return text
