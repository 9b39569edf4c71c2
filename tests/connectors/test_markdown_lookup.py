"""Named pages of a Markdown folder, looked up as the listing would see them."""

from __future__ import annotations

import os
from pathlib import Path

from syncd.connectors.base import SourceInfo
from syncd.connectors.markdown.connector import MarkdownConnector, MarkdownOptions


def connector(root: Path, **options: object) -> MarkdownConnector:
    """A Markdown connector over ``root``."""
    return MarkdownConnector(
        MarkdownOptions(path=root, **options),  # type: ignore[arg-type]
        source=SourceInfo("docs", "https://docs.example.com"),
    )


def tree(root: Path) -> None:
    """A small tree with pages, a hidden folder, an excluded folder, links and a non-page."""
    for rel in ("a.md", "guide/b.md", ".hidden/c.md", "drafts/d.md", "node_modules/e.md"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {rel}\n", encoding="utf-8")
    (root / "notes.txt").write_text("not a page", encoding="utf-8")
    (root / "linked.md").symlink_to(root / "a.md")
    (root / "outside").mkdir()
    (root / "alias").symlink_to(root / "guide", target_is_directory=True)


def test_lookup_agrees_with_the_listing(tmp_path: Path) -> None:
    """Every path the listing gives is found with the same version; nothing else is."""
    tree(tmp_path)
    reader = connector(tmp_path, exclude=["drafts/**"])
    listing = {ref.id: ref for ref in reader.list()}
    asked = [
        *listing,
        ".hidden/c.md",
        "drafts/d.md",
        "node_modules/e.md",
        "notes.txt",
        "alias/b.md",
        "gone.md",
        "../a.md",
    ]
    assert {ref.id: ref for ref in reader.lookup(asked)} == listing
    assert set(listing) == {"a.md", "guide/b.md", "linked.md"}


def test_event_paths_map_to_ref_ids_by_name(tmp_path: Path) -> None:
    """A page path gives its ref id; hidden, excluded, non-page and outside paths give None."""
    tree(tmp_path)
    reader = connector(tmp_path, exclude=["drafts/**"])
    root = Path(os.path.realpath(tmp_path))
    assert reader.watch_root() == root
    assert reader.ref_id_of(root / "guide" / "b.md") == "guide/b.md"
    assert reader.ref_id_of(root / "guide" / "new.md") == "guide/new.md"  # need not exist
    for path in (".hidden/c.md", "drafts/d.md", "notes.txt", "guide", ".git/index"):
        assert reader.ref_id_of(root / path) is None
    assert reader.ref_id_of(Path("/elsewhere/a.md")) is None


def test_a_fetched_page_changed_at_its_modification_time(tmp_path: Path) -> None:
    """Document.changed_at is the file's mtime, for the freshness metric."""
    tree(tmp_path)
    os.utime(tmp_path / "a.md", (1_700_000_000, 1_700_000_000))
    reader = connector(tmp_path)
    (ref,) = reader.lookup(["a.md"])
    assert reader.fetch(ref).changed_at == 1_700_000_000.0
