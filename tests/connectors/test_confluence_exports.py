"""A folder where XML exports keep arriving: newest complete export per space, no mass delete."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from syncd.connectors.base import SourceUnavailable
from syncd.connectors.confluence.exports import SETTLE_SECONDS, current_exports
from tests.connectors.confluence_xml_builder import XmlExportBuilder, space_export
from tests.connectors.test_confluence import make_connector


def settle(*paths: Path) -> None:
    """Backdate files (and the files inside folders) so they count as finished."""
    past = time.time() - SETTLE_SECONDS - 600
    for path in paths:
        for target in [path, *(path.iterdir() if path.is_dir() else [])]:
            os.utime(target, (past, past))


def backup(datetime: str, spaces: dict[str, list[tuple[str, str]]]) -> XmlExportBuilder:
    """A site backup holding spaces (key -> pages as (id, title))."""
    export = XmlExportBuilder(datetime=datetime)
    for number, (key, pages) in enumerate(spaces.items(), start=1):
        export.space(str(number), key, f"{key} space")
        for page_id, title in pages:
            export.page(page_id, title, space=str(number))
    return export


def listed(folder: Path, **options: object) -> dict[str, str]:
    """ref id -> title of everything the connector publishes from the folder."""
    with make_connector(folder, **options) as connector:
        assert connector.format() == "xml_folder"
        return {ref.id: connector.fetch(ref).title for ref in connector.list()}


def test_reads_the_newest_complete_export_of_each_space(tmp_path: Path) -> None:
    """Per space key, the newest space export wins; older ones are left alone."""
    folder = tmp_path / "exports"
    old = space_export("ENG", [("1", "Old home")], datetime="2024-05-01 02:00:00")
    new = space_export("ENG", [("1", "New home")], datetime="2024-05-02 02:00:00")
    ops = space_export("OPS", [("2", "Runbook")], datetime="2024-05-01 02:05:00")
    settle(
        old.write_zip(folder / "b-eng.zip"),  # names sort against the dates on purpose
        new.write_zip(folder / "a-eng.zip"),
        ops.write_folder(folder / "ops-unpacked"),
    )
    assert listed(folder) == {"1": "New home", "2": "Runbook"}
    selection = current_exports(folder)
    assert {key: c.name for key, c in selection.spaces.items()} == {
        "eng": "a-eng.zip",
        "ops": "ops-unpacked",
    }


def test_a_zip_still_being_written_is_never_the_newest(tmp_path: Path) -> None:
    """A newer zip without its central directory, or just modified, is skipped, not read."""
    folder = tmp_path / "exports"
    good = space_export("ENG", [("1", "Home"), ("3", "Guide")], datetime="2024-05-01 02:00:00")
    settle(good.write_zip(folder / "eng-1.zip"))
    newer = space_export("ENG", [("1", "Home")], datetime="2024-05-02 02:00:00")
    whole = newer.write_zip(tmp_path / "whole.zip").read_bytes()
    (folder / "eng-2.zip").write_bytes(whole[: len(whole) - 30])  # no end of central directory
    settle(folder / "eng-2.zip")
    newer.write_zip(folder / "eng-3.zip")  # complete, but written a moment ago
    assert listed(folder) == {"1": "Home", "3": "Guide"}
    skipped = current_exports(folder).skipped
    assert set(skipped) == {"eng-2.zip", "eng-3.zip"}
    assert "still being written" in skipped["eng-2.zip"]
    assert "read once unchanged" in skipped["eng-3.zip"]


def test_an_unpacked_export_without_its_closing_tag_is_skipped(tmp_path: Path) -> None:
    """An entities.xml that does not end with </hibernate-generic> is still being written."""
    folder = tmp_path / "exports"
    good = space_export("ENG", [("1", "Home")], datetime="2024-05-01 02:00:00")
    newer = space_export("ENG", [("1", "Changed")], datetime="2024-05-02 02:00:00")
    text = newer.entities().encode()
    settle(
        good.write_zip(folder / "eng.zip"),
        newer.write_folder(folder / "eng-new", entities=text[:-40]),
    )
    assert listed(folder) == {"1": "Home"}


def test_no_complete_export_stops_the_run(tmp_path: Path) -> None:
    """A folder whose only export is still arriving lists nothing: SourceUnavailable."""
    folder = tmp_path / "exports"
    space_export("ENG", [("1", "Home")], datetime="2024-05-01 02:00:00").write_zip(folder / "e.zip")
    with make_connector(folder) as connector, pytest.raises(SourceUnavailable, match=r"e\.zip"):
        list(connector.list())


def test_newer_space_export_replaces_that_space_of_a_site_backup(tmp_path: Path) -> None:
    """A space export newer than the site backup wins for its space; the backup gives the rest."""
    folder = tmp_path / "exports"
    site = backup("2024-05-01 02:00:00", {"ENG": [("1", "Home")], "OPS": [("2", "Runbook")]})
    eng = space_export("ENG", [("1", "Home v2"), ("5", "New page")], datetime="2024-05-01 09:00:00")
    settle(site.write_zip(folder / "backup-2024_05_01.zip"), eng.write_zip(folder / "eng.zip"))
    assert listed(folder) == {"1": "Home v2", "5": "New page", "2": "Runbook"}


def test_a_space_missing_from_the_newest_backup_is_kept_by_default(tmp_path: Path) -> None:
    """A space the newest backup lacks is read from the previous one, unless told to delete."""
    folder = tmp_path / "exports"
    monday = backup("2024-05-06 02:00:00", {"ENG": [("1", "Home")], "OPS": [("2", "Runbook")]})
    tuesday = backup("2024-05-07 02:00:00", {"ENG": [("1", "Home")]})
    settle(
        monday.write_zip(folder / "backup-2024_05_06.zip"),
        tuesday.write_zip(folder / "backup-2024_05_07.zip"),
    )
    assert listed(folder) == {"1": "Home", "2": "Runbook"}
    assert listed(folder, missing_spaces="delete") == {"1": "Home"}


def test_a_space_export_older_than_the_backup_stands_in_only_for_missing_spaces(
    tmp_path: Path,
) -> None:
    """An old space export is used for a space the newer backup lacks, and never otherwise."""
    folder = tmp_path / "exports"
    site = backup("2024-05-07 02:00:00", {"ENG": [("1", "Home")]})
    old_eng = space_export("ENG", [("1", "Stale home")], datetime="2024-05-01 02:00:00")
    old_ops = space_export("OPS", [("2", "Runbook")], datetime="2024-05-01 02:00:00", space_id="7")
    settle(
        site.write_zip(folder / "backup.zip"),
        old_eng.write_zip(folder / "eng.zip"),
        old_ops.write_zip(folder / "ops.zip"),
    )
    assert listed(folder) == {"1": "Home", "2": "Runbook"}
    assert listed(folder, missing_spaces="delete") == {"1": "Home"}


def test_space_exports_that_stopped_arriving(tmp_path: Path) -> None:
    """A space whose exports stopped is kept by default; with delete, after a day it goes."""
    folder = tmp_path / "exports"
    eng = space_export("ENG", [("1", "Home")], datetime="2024-05-07 02:00:00")
    ops = space_export("OPS", [("2", "Runbook")], datetime="2024-05-03 02:00:00", space_id="7")
    settle(eng.write_zip(folder / "eng.zip"), ops.write_zip(folder / "ops.zip"))
    assert listed(folder) == {"1": "Home", "2": "Runbook"}
    assert listed(folder, missing_spaces="delete") == {"1": "Home"}


def test_fingerprint_changes_only_when_a_new_export_becomes_current(tmp_path: Path) -> None:
    """The watcher's fingerprint is stable across calls and moves when a newer export settles."""
    folder = tmp_path / "exports"
    settle(
        space_export("ENG", [("1", "A")], datetime="2024-05-01 02:00:00").write_zip(
            folder / "1.zip"
        )
    )
    first = current_exports(folder).fingerprint
    assert current_exports(folder).fingerprint == first
    newer = space_export("ENG", [("1", "B")], datetime="2024-05-02 02:00:00")
    newer.write_zip(folder / "2.zip")
    assert current_exports(folder).fingerprint == first  # still settling
    settle(folder / "2.zip")
    second = current_exports(folder).fingerprint
    assert second != first
    older = space_export("ENG", [("1", "C")], datetime="2024-04-01 02:00:00")
    settle(older.write_zip(folder / "0.zip"))  # an older export arriving changes nothing
    assert current_exports(folder).spaces["eng"].name == "2.zip"
    assert current_exports(folder).fingerprint == second


def test_unreadable_folder_is_source_unavailable(tmp_path: Path) -> None:
    """Listing a folder that vanished raises SourceUnavailable, not an empty selection."""
    with pytest.raises(SourceUnavailable, match="cannot list"):
        current_exports(tmp_path / "gone")
