"""Connectors say what moved between two versions of a document in words, for dry-run plans."""

from __future__ import annotations

from syncd.connectors.confluence.xml_reader import describe_change as confluence_change
from syncd.connectors.markdown.source import describe_change as markdown_change


def test_markdown_file_versions_read_as_size_and_time() -> None:
    """``size:mtime_ns`` reads as sizes and a UTC time, or 'same size' when only time moved."""
    old, new = "559:1796004685233231302", "607:1796004985233231302"
    assert markdown_change(old, new) == "size 559 -> 607 bytes, modified 2026-11-30 02:16:25 UTC"
    assert markdown_change(old, "559:1796004985233231302") == (
        "same size (559 bytes), modified 2026-11-30 02:16:25 UTC"
    )


def test_markdown_git_versions_read_as_blobs() -> None:
    """Versions from a git tree name the old and new blobs, shortened."""
    old, new = "a" * 40 + ":salt", "b" * 40 + ":salt"
    assert markdown_change(old, new) == f"git blob {'a' * 10} -> {'b' * 10}"


def test_confluence_xml_versions_read_as_page_versions() -> None:
    """An XML export's versions name Confluence's page version and modification date."""
    old = "v3:2024-05-01 09:00:00.000:0123456789ab"
    new = "v4:2024-05-02 10:11:12.000:0123456789ab"
    assert confluence_change(old, new) == (
        "Confluence version 3 -> 4, modified 2024-05-02 10:11:12.000"
    )
    moved = "v3:2024-05-01 09:00:00.000:ba9876543210"
    assert confluence_change(old, moved) == (
        "Confluence version 3, title or place in the page tree changed"
    )


def test_unknown_versions_are_left_to_the_engine() -> None:
    """A version no rule recognises gives None: the plan says 'new version at the source'."""
    assert markdown_change("abc", "def") is None
    assert confluence_change("crc-1", "crc-2") is None
