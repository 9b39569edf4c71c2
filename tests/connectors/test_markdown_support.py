"""Helpers shared by the Markdown connector tests (no tests here): trees, connectors, opens."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from syncd.connectors.base import Document, DocumentRef, SourceInfo
from syncd.connectors.markdown.connector import MarkdownConnector, MarkdownOptions

BASE_URL = "https://docs.example.com/handbook"
SOURCE = SourceInfo(name="handbook", url=BASE_URL)


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (relative path -> text or bytes) under ``root`` and return ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def connector(root: Path, source: SourceInfo = SOURCE, **options: Any) -> MarkdownConnector:
    """A Markdown connector over ``root`` with the given options."""
    return MarkdownConnector(MarkdownOptions(path=root, **options), source=source)


def fetch(conn: MarkdownConnector, ref_id: str) -> Document:
    """Fetch one page by its ref id (the version does not matter to fetch)."""
    return conn.fetch(DocumentRef(id=ref_id, version="0:0"))


def render_one(tmp_path: Path, text: str, name: str = "page.md", **options: Any) -> Document:
    """Write one page (plus nothing else) and fetch it."""
    write_tree(tmp_path, {name: text})
    return fetch(connector(tmp_path, **options), name)


_opened: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], str | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one records only when asked


@contextmanager
def recording_opens() -> Iterator[list[str]]:
    """Record every file the process opens inside the block (through Python's audit hooks)."""
    global _opened  # noqa: PLW0603 - the audit hook is process-wide by design
    _opened = []
    try:
        yield _opened
    finally:
        _opened = None
