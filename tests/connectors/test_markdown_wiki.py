"""Git-backed wikis (``wiki:``): each host's non-page files, titles, page URLs and [[links]]."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.connectors.base import Document, SourceInfo
from syncd.connectors.markdown.connector import MarkdownConnector
from tests.gitrepos import Upstream


def wiki(tmp_path: Path, files: dict[str, str], kind: str, base: str) -> dict[str, Document]:
    """Push ``files`` to a wiki repository, sync-read it as ``kind``; documents by path."""
    upstream = Upstream(tmp_path, name=f"{kind}.wiki.git", branch="master")
    upstream.write(files)
    upstream.push("wiki")
    source = MarkdownConnector.from_config(
        {"git": {"url": upstream.url}, "wiki": kind},
        source=SourceInfo("wiki", base, cache_dir=tmp_path / "cache"),
        base_dir=tmp_path,
    )
    with source:
        source.fingerprint()
        refs = list(source.list())
        return {ref.id: source.fetch(ref) for ref in refs}


def test_github_wiki(tmp_path: Path) -> None:
    """GitHub: sidebar, footer and header are not pages; [[Text|Page]] links by name, any case."""
    pages = wiki(
        tmp_path,
        {
            "Home.md": "Start with [[Getting Started]] or [[the guide|deep/Deep-Page]].\n\n"
            "Not yet: [[Missing Page]]. Code stays: `[[Home]]`\n\n```\n[[Home]]\n```\n",
            "Getting-Started.md": "# Welcome\n\nBack [[home]], see [other](Deep-Page).\n",
            "deep/Deep-Page.md": "Deep.\n",
            "_Sidebar.md": "[[Home]]",
            "_Footer.md": "footer",
            "_Header.md": "header",
            "notes.textile": "h1. not Markdown",
        },
        "github",
        "https://github.com/acme/eng/wiki",
    )
    assert set(pages) == {"Home.md", "Getting-Started.md", "deep/Deep-Page.md"}
    home, started = pages["Home.md"], pages["Getting-Started.md"]
    assert (home.title, started.title) == ("Home", "Getting Started")
    assert started.url == "https://github.com/acme/eng/wiki/Getting-Started"
    assert pages["deep/Deep-Page.md"].url == "https://github.com/acme/eng/wiki/Deep-Page"
    assert '<a href="https://github.com/acme/eng/wiki/Getting-Started">Getting Started</a>' in (
        home.body
    )
    assert '<a href="https://github.com/acme/eng/wiki/Deep-Page">the guide</a>' in home.body
    assert "Not yet: Missing Page." in home.body and "Missing-Page" not in home.body
    assert home.body.count("[[Home]]") == 2  # in the code span and the fenced block
    assert 'href="https://github.com/acme/eng/wiki/Home"' in started.body
    assert 'href="https://github.com/acme/eng/wiki/Deep-Page"' in started.body


def test_gitlab_wiki(tmp_path: Path) -> None:
    """GitLab: _sidebar and templates/ are not pages; front-matter titles; slugs with folders."""
    pages = wiki(
        tmp_path,
        {
            "home.md": "See [[How to use GitLab|how-to-use-gitlab]] and [[docs/my-page]].\n",
            "how-to-use-gitlab.md": "---\ntitle: How to use GitLab!\n---\nBody.\n",
            "docs/my-page.md": "Relative: [[Sibling|sibling]], [up](../home).\n",
            "docs/sibling.md": "Sibling.\n",
            "_sidebar.md": "side",
            "templates/meeting.md": "A template.\n",
            "notes.mdown": "Also Markdown.\n",
        },
        "gitlab",
        "https://gitlab.com/acme/eng/-/wikis",
    )
    assert set(pages) == {
        "home.md",
        "how-to-use-gitlab.md",
        "docs/my-page.md",
        "docs/sibling.md",
        "notes.mdown",
    }
    assert pages["how-to-use-gitlab.md"].title == "How to use GitLab!"
    assert pages["docs/my-page.md"].title == "my page"
    assert pages["docs/my-page.md"].url == "https://gitlab.com/acme/eng/-/wikis/docs/my-page"
    home = pages["home.md"].body
    assert (
        '<a href="https://gitlab.com/acme/eng/-/wikis/how-to-use-gitlab">How to use GitLab</a>'
        in (home)
    )
    assert 'href="https://gitlab.com/acme/eng/-/wikis/docs/my-page"' in home
    page = pages["docs/my-page.md"].body
    assert '<a href="https://gitlab.com/acme/eng/-/wikis/docs/sibling">Sibling</a>' in page


def test_gitea_wiki(tmp_path: Path) -> None:
    """Gitea: .md only, _Sidebar/_Footer skipped, ``.-`` keeps hyphens, URL-first links swap."""
    pages = wiki(
        tmp_path,
        {
            "Home.md": "[[Set-up.-]] and [[Install Guide]] and [[https://example.com/x|Example]].\n",
            "Set-up.-.md": "Hyphens kept.\n",
            "Install-Guide.md": "Guide.\n",
            "_Sidebar.md": "side",
            "_Footer.md": "foot",
            "Other.markdown": "not a Gitea page",
        },
        "gitea",
        "https://git.example.com/acme/eng/wiki",
    )
    assert set(pages) == {"Home.md", "Set-up.-.md", "Install-Guide.md"}
    assert pages["Set-up.-.md"].title == "Set-up"
    assert pages["Install-Guide.md"].title == "Install Guide"
    home = pages["Home.md"].body
    assert 'href="https://git.example.com/acme/eng/wiki/Install-Guide">Install Guide</a>' in home
    assert 'href="https://git.example.com/acme/eng/wiki/Set-up.-"' in home
    assert '<a href="https://example.com/x">Example</a>' in home


def test_azure_wiki(tmp_path: Path) -> None:
    """Azure DevOps: .order and .attachments are not pages; %2D is a hyphen; pagePath URLs."""
    pages = wiki(
        tmp_path,
        {
            ".order": "Set%2Dup-guide\nParent\n",
            "Set%2Dup-guide.md": "See [the child](/Parent/Child-Page) and [[Not a link]].\n",
            "Parent.md": "Parent.\n",
            "Parent/.order": "Child-Page\n",
            "Parent/Child-Page.md": "Child.\n",
            ".attachments/image.md": "an upload",
        },
        "azure",
        "https://dev.azure.com/acme/eng/_wiki/wikis/eng.wiki",
    )
    assert set(pages) == {"Set%2Dup-guide.md", "Parent.md", "Parent/Child-Page.md"}
    guide = pages["Set%2Dup-guide.md"]
    assert guide.title == "Set-up guide"
    child_url = "https://dev.azure.com/acme/eng/_wiki/wikis/eng.wiki?pagePath=/Parent/Child%20Page"
    assert pages["Parent/Child-Page.md"].url == child_url
    assert f'<a href="{child_url}">the child</a>' in guide.body
    assert "[[Not a link]]" in guide.body


@pytest.mark.parametrize("kind", ["github", "gitea"])
def test_a_link_to_a_page_created_later_stays_text_until_then(tmp_path: Path, kind: str) -> None:
    """A [[link]] to a page that does not exist is its text, never a link to nowhere."""
    pages = wiki(tmp_path, {"Home.md": "[[Later|Later Page]]\n"}, kind, "https://w.example/wiki")
    assert "<a" not in pages["Home.md"].body
    assert "Later" in pages["Home.md"].body


def test_a_wiki_checked_out_as_a_folder_follows_the_same_conventions(tmp_path: Path) -> None:
    """Without git, a wiki folder skips the same files and resolves [[links]] the same way."""
    folder = tmp_path / "wiki"
    folder.mkdir()
    (folder / "Home.md").write_text("[[Getting Started]]\n", encoding="utf-8")
    (folder / "Getting-Started.md").write_text("Go.\n", encoding="utf-8")
    (folder / "_Sidebar.md").write_text("[[Home]]\n", encoding="utf-8")
    source = MarkdownConnector.from_config(
        {"path": str(folder), "wiki": "github"},
        source=SourceInfo("wiki", "https://github.com/acme/eng/wiki"),
        base_dir=tmp_path,
    )
    with source:
        refs = {ref.id: ref for ref in source.list()}
        home = source.fetch(refs["Home.md"])
    assert set(refs) == {"Home.md", "Getting-Started.md"}
    assert 'href="https://github.com/acme/eng/wiki/Getting-Started"' in home.body
