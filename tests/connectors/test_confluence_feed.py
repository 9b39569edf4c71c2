"""The Confluence export path's change feed: a new complete export asks for a run, once."""

from __future__ import annotations

import os
import time
from pathlib import Path

from syncd.connectors.base import SourceInfo
from syncd.connectors.confluence.connector import (
    ConfluenceExportConnector,
    ConfluenceExportOptions,
)
from tests.connectors.confluence_xml_builder import space_export

LONG_AGO = time.time() - 3600  # older than the settle time of a folder of exports


def connector(path: Path) -> ConfluenceExportConnector:
    """A connector over ``path``."""
    return ConfluenceExportConnector(
        ConfluenceExportOptions(path=path, base_url="https://acme.atlassian.net/wiki"),
        source=SourceInfo("eng", "https://acme.atlassian.net/wiki/spaces/ENG"),
    )


def settled(path: Path) -> Path:
    """Make ``path`` look written an hour ago."""
    os.utime(path, (LONG_AGO, LONG_AGO))
    return path


def test_a_new_complete_export_in_the_folder_asks_for_one_full_run(tmp_path: Path) -> None:
    """Nothing until a new export is current and holds still; then one full run, then quiet."""
    folder = tmp_path / "exports"
    first = space_export("ENG", [("1", "Home")], datetime="2024-05-01 12:00:00")
    settled(first.write_zip(folder / "eng-1.zip"))
    reader = connector(folder)
    answer = reader.poll_changes(None)
    assert not answer.changes
    answer = reader.poll_changes(answer.cursor)
    assert not answer.changes
    second = space_export("ENG", [("1", "Home"), ("2", "New")], datetime="2024-05-02 12:00:00")
    settled(second.write_zip(folder / "eng-2.zip"))
    seen = reader.poll_changes(answer.cursor)
    assert not seen.changes  # seen once: it must hold still for one more poll
    changed = reader.poll_changes(seen.cursor)
    assert changed.changes.everything
    assert not reader.poll_changes(changed.cursor).changes


def test_a_half_written_export_asks_for_nothing(tmp_path: Path) -> None:
    """A zip still being written (no central directory yet) never asks for a run."""
    folder = tmp_path / "exports"
    export = space_export("ENG", [("1", "Home")], datetime="2024-05-01 12:00:00")
    settled(export.write_zip(folder / "eng-1.zip"))
    reader = connector(folder)
    cursor = reader.poll_changes(None).cursor
    partial = folder / "eng-2.zip"
    partial.write_bytes(b"PK\x03\x04" + b"\0" * 4096)
    settled(partial)
    for _ in range(3):
        answer = reader.poll_changes(cursor)
        assert not answer.changes
        cursor = answer.cursor


def test_a_replaced_single_export_asks_for_a_run(tmp_path: Path) -> None:
    """A single export zip rewritten in place asks for a run once it holds still."""
    export = space_export("ENG", [("1", "Home")], datetime="2024-05-01 12:00:00")
    path = export.write_zip(tmp_path / "ENG.zip")
    reader = connector(path)
    cursor = reader.poll_changes(None).cursor
    newer = space_export("ENG", [("1", "Home"), ("2", "More")], datetime="2024-05-02 12:00:00")
    newer.write_zip(path)
    os.utime(path, (time.time() + 5, time.time() + 5))  # a clear change of mtime
    seen = reader.poll_changes(cursor)
    assert not seen.changes
    assert reader.poll_changes(seen.cursor).changes.everything
