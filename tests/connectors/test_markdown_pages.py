"""Which files of a Markdown tree are pages: Hugo leaf bundles, Docusaurus unlisted documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.connectors.base import DocumentExcluded
from syncd.connectors.markdown.urls import bundle_resources
from syncd.sync.plan import RunReport
from tests.connectors.test_markdown_git import connector as git_connector
from tests.connectors.test_markdown_git import listing
from tests.connectors.test_markdown_support import connector, render_one, write_tree
from tests.gitrepos import Upstream


def _listed(root: Path) -> list[str]:
    return sorted(ref.id for ref in connector(root).list())


def test_markdown_inside_a_hugo_leaf_bundle_is_not_a_page(tmp_path: Path) -> None:
    """In a Hugo tree, a folder with ``index.md`` lists only that page, not its resources."""
    write_tree(
        tmp_path,
        {
            "_index.md": "# Docs\n",
            "content/_index.md": "# Content\n",
            "content/adding.md": "# Adding\n",
            "content/shortcodes/index.md": "# Shortcodes\n",
            "content/shortcodes/includes/installation.md": "Run `npm i`.\n",
            "content/shortcodes/notes.md": "A resource too.\n",
        },
    )
    assert _listed(tmp_path) == [
        "_index.md",
        "content/_index.md",
        "content/adding.md",
        "content/shortcodes/index.md",
    ]


def test_a_hugo_config_at_the_root_marks_the_tree_as_hugo(tmp_path: Path) -> None:
    """A ``hugo.toml`` beside the pages makes index folders bundles, even with no ``_index.md``."""
    write_tree(
        tmp_path,
        {"hugo.toml": "title = 'x'\n", "post/index.md": "# Post\n", "post/part.md": "Part.\n"},
    )
    assert _listed(tmp_path) == ["post/index.md"]


def test_a_branch_folder_with_both_index_files_keeps_its_pages(tmp_path: Path) -> None:
    """A Hugo section (``_index.md``) is not a leaf bundle: its other pages stay pages."""
    write_tree(
        tmp_path,
        {"_index.md": "# Home\n", "guide/_index.md": "# Guide\n", "guide/setup.md": "# Setup\n"},
    )
    assert _listed(tmp_path) == ["_index.md", "guide/_index.md", "guide/setup.md"]


def test_docusaurus_index_siblings_are_pages(tmp_path: Path) -> None:
    """Without Hugo's marks, a category's ``index.md`` and the documents beside it are pages."""
    write_tree(tmp_path, {"category/index.md": "# Category\n", "category/doc.md": "# Doc\n"})
    assert _listed(tmp_path) == ["category/doc.md", "category/index.md"]


def test_unlisted_is_reported_as_unlisted(tmp_path: Path) -> None:
    """An unlisted document is excluded with the reason ``unlisted``, not as a draft."""
    with pytest.raises(DocumentExcluded, match=r"page\.md: unlisted: true$"):
        render_one(tmp_path, "---\nunlisted: true\n---\nHidden from search.\n")


def test_sync_true_publishes_an_unlisted_document(tmp_path: Path) -> None:
    """``sync: true`` beside ``unlisted: true`` publishes the page anyway."""
    body = render_one(tmp_path, "---\nunlisted: true\nsync: true\n---\nShown.\n").body
    assert body == "<p>Shown.</p>"


def test_sync_true_does_not_publish_a_draft(tmp_path: Path) -> None:
    """A draft stays out whatever ``sync`` says: it is not finished."""
    with pytest.raises(DocumentExcluded, match="draft: true"):
        render_one(tmp_path, "---\ndraft: true\nsync: true\n---\nWIP.\n")


def test_run_summary_does_not_call_every_exclusion_a_draft() -> None:
    """The one-line summary counts excluded pages without calling them all drafts."""
    line = RunReport(source="docs", excluded=2).summary()
    assert "2 excluded" in line
    assert "draft" not in line


def test_real_hugo_tree_leaves_its_include_files_out(shared_fixtures: Path) -> None:
    """Docsy's ``shortcodes/includes/installation.md`` is a bundle resource, not a page."""
    listed = _listed(shared_fixtures / "markdown-hugo-docsy")
    assert "content/shortcodes/index.md" in listed
    assert "content/shortcodes/includes/installation.md" not in listed
    assert "deployment/github-pages.md" in listed


def test_real_docusaurus_tree_keeps_its_category_documents(shared_fixtures: Path) -> None:
    """Docusaurus' ``unlisted-category/`` lists both its index and its document."""
    listed = _listed(shared_fixtures / "markdown-docusaurus-frontmatter")
    assert {"unlisted-category/index.md", "unlisted-category/unlisted-category-doc.md"} <= set(
        listed
    )


BUNDLE_TREE = {
    "_index.md": "# Docs\n",
    "guide/setup.md": "# Setup\n",
    "post/index.md": "# Post\n",
    "post/part.md": "A resource.\n",
    "post/deeper/more.md": "Also a resource.\n",
}


def test_a_git_source_leaves_bundle_resources_out_too(tmp_path: Path) -> None:
    """Listing a Hugo tree from git gives the same pages as listing its folder."""
    upstream = Upstream(tmp_path)
    upstream.write(BUNDLE_TREE)
    upstream.push("first")
    with git_connector(tmp_path, upstream.url) as source:
        assert sorted(listing(source)) == ["_index.md", "guide/setup.md", "post/index.md"]


def test_lookup_of_a_bundle_resource_finds_no_page(tmp_path: Path) -> None:
    """An incremental run naming a bundle's resource sees no page, as the listing does."""
    write_tree(tmp_path, BUNDLE_TREE)
    found = connector(tmp_path).lookup(["post/part.md", "post/deeper/more.md", "post/index.md"])
    assert found is not None
    assert [ref.id for ref in found] == ["post/index.md"]


def test_bundle_rule_over_a_file_list() -> None:
    """The rule reads a whole tree's paths: nested resources go, Docusaurus trees keep all."""
    assert bundle_resources(list(BUNDLE_TREE)) == {"post/part.md", "post/deeper/more.md"}
    docusaurus = ["category/index.md", "category/doc.md"]
    assert bundle_resources(docusaurus) == set()
