"""Links that leave a Markdown root, link loops, FIFOs and sockets are reported, once a run."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from structlog.testing import capture_logs

from syncd.connectors.base import SourceInfo
from syncd.connectors.markdown.connector import MarkdownConnector, MarkdownOptions


def connector(root: Path) -> MarkdownConnector:
    options = MarkdownOptions(path=root, base_url="https://docs.example.com/")
    return MarkdownConnector(options, source=SourceInfo("docs", "https://docs.example.com"))


def test_entries_that_are_not_read_are_named_in_one_warning(tmp_path: Path) -> None:
    """Six kinds of skipped entry give one warning with the count and the first five paths."""
    root = tmp_path / "site"
    outside = tmp_path / "elsewhere"
    (root / "guide").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.md").write_text("# Not ours\n", encoding="utf-8")
    (root / "page.md").write_text("# Page\n", encoding="utf-8")
    (root / "alias.md").symlink_to(root / "page.md")  # inside: a page like any other
    (root / "escape.md").symlink_to(outside / "secret.md")
    (root / "guide" / "shared").symlink_to(outside)
    (root / "loop-a.md").symlink_to(root / "loop-b.md")
    (root / "loop-b.md").symlink_to(root / "loop-a.md")
    (root / "gone.md").symlink_to(root / "missing.md")
    os.mkfifo(root / "pipe.md")
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(root / "sock.md"))
        with capture_logs() as logs:
            listed = sorted(ref.id for ref in connector(root).list())
    finally:
        listener.close()
    assert listed == ["alias.md", "page.md"]
    warnings = [entry for entry in logs if entry["event"] == "markdown.skipped"]
    assert len(warnings) == 1, logs
    (warning,) = warnings
    assert warning["log_level"] == "warning" and warning["source"] == "docs"
    assert warning["count"] == 7
    assert warning["reasons"] == {
        "a symlink loop": 2,
        "a symlink to outside the root": 2,
        "a FIFO": 1,
        "a broken symlink": 1,
        "a socket": 1,
    }
    assert len(warning["first"]) == 5
    assert "escape.md (a symlink to outside the root)" in warning["first"]
    assert "loop-a.md (a symlink loop)" in warning["first"]


def test_a_clean_tree_lists_without_a_warning(tmp_path: Path) -> None:
    """Nothing skipped, nothing said."""
    (tmp_path / "page.md").write_text("# Page\n", encoding="utf-8")
    with capture_logs() as logs:
        assert [ref.id for ref in connector(tmp_path).list()] == ["page.md"]
    assert [entry for entry in logs if entry["event"] == "markdown.skipped"] == []
