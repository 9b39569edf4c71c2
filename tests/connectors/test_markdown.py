"""The Markdown folder connector: listing, front matter, input it does not control, real trees."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from syncd.connectors.base import (
    Connector,
    Document,
    DocumentError,
    DocumentExcluded,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.markdown import source as markdown_source
from syncd.connectors.markdown.connector import MarkdownOptions
from syncd.connectors.markdown.urls import Globs, _glob_to_regex
from tests.connectors.contract import ConnectorContract
from tests.connectors.test_markdown_support import (
    BASE_URL,
    connector,
    fetch,
    recording_opens,
    render_one,
    write_tree,
)

PAGE = "---\ntitle: Setup\nid: setup\ntags: [install]\n---\n\n# Install\n\nRun it.\n"


class TestMarkdownContract(ConnectorContract):
    """The shared connector contract, over a small generated tree."""

    lookup = True
    watch_root = True

    @pytest.fixture
    def connector(self, tmp_path: Path) -> Iterator[Connector]:
        write_tree(
            tmp_path,
            {
                "index.md": "# Welcome\n\nSee [setup](guide/setup.md).\n",
                "guide/setup.md": PAGE,
                "guide/draft.md": "---\ndraft: true\n---\nNot yet.\n",
                "guide/img/logo.png": b"\x89PNG\r\n",
            },
        )
        with connector(tmp_path) as conn:
            yield conn


# -- listing ---------------------------------------------------------------------------------


def test_ref_ids_are_posix_paths_and_versions_are_size_and_mtime(tmp_path: Path) -> None:
    """Each page is listed by its relative path with ``size:mtime_ns`` as its version."""
    write_tree(tmp_path, {"a.md": "# A\n", "sub/deeper/b.markdown": "# B\n", "c.txt": "no"})
    refs = {ref.id: ref.version for ref in connector(tmp_path).list()}
    assert set(refs) == {"a.md", "sub/deeper/b.markdown"}
    stat = (tmp_path / "a.md").stat()
    assert refs["a.md"] == f"{stat.st_size}:{stat.st_mtime_ns}"


def test_version_changes_when_a_file_changes(tmp_path: Path) -> None:
    """Rewriting a file changes its version; untouched files keep theirs."""
    write_tree(tmp_path, {"a.md": "# A\n", "b.md": "# B\n"})
    conn = connector(tmp_path)
    before = {ref.id: ref.version for ref in conn.list()}
    (tmp_path / "a.md").write_text("# A, longer\n", encoding="utf-8")
    after = {ref.id: ref.version for ref in conn.list()}
    assert after["a.md"] != before["a.md"]
    assert after["b.md"] == before["b.md"]


def test_listing_opens_no_file(tmp_path: Path) -> None:
    """Listing stats files but never opens one (only folders), so it costs no reads."""
    write_tree(tmp_path, {f"d{i}/p{i}.md": f"# {i}\n" for i in range(5)})
    with recording_opens() as opened:
        refs = list(connector(tmp_path).list())
    assert len(refs) == 5
    ours = [path for path in opened if path.startswith(str(tmp_path))]
    assert ours and all(Path(path).is_dir() for path in ours)


def test_hidden_folders_files_and_node_modules_are_skipped(tmp_path: Path) -> None:
    """Dot folders, dot files and node_modules never contribute pages."""
    write_tree(
        tmp_path,
        {
            "ok.md": "# Ok\n",
            ".git/notes.md": "x",
            ".github/ISSUE.md": "x",
            "node_modules/pkg/README.md": "x",
            "docs/.hidden.md": "x",
        },
    )
    assert [ref.id for ref in connector(tmp_path).list()] == ["ok.md"]


def test_include_and_exclude_globs_select_pages(tmp_path: Path) -> None:
    """``include`` and ``exclude`` globs match ref ids, ``**`` spanning folders."""
    write_tree(
        tmp_path,
        {
            "docs/a.md": "# A\n",
            "docs/drafts/b.md": "# B\n",
            "docs/deep/er/c.mdx": "# C\n",
            "blog/d.md": "# D\n",
        },
    )
    conn = connector(tmp_path, include=["docs/**/*.md", "docs/**/*.mdx"], exclude=["**/drafts/**"])
    assert sorted(ref.id for ref in conn.list()) == ["docs/a.md", "docs/deep/er/c.mdx"]


_GLOBS = ["**/*.md", "**/*", "docs/**", "*.md", "**/_*.md", "**/x?.md", "a/**/*.md"]
_PATHS = st.lists(st.sampled_from(["a", "docs", "x1.md", "_b.md", ".md", "c.MD", "x\ny"]))


@given(st.lists(st.sampled_from(_GLOBS), max_size=3), _PATHS, st.booleans())
def test_globs_match_as_their_regex_does(
    patterns: list[str], segments: list[str], folder: bool
) -> None:
    """The file-name test for ``**/*<suffix>`` agrees with the full glob regex."""
    path = "/".join(segments) + ("/" if folder and segments else "")
    regex = re.compile("|".join(_glob_to_regex(p) for p in patterns), re.DOTALL)
    expected = bool(patterns) and regex.match(path) is not None
    assert Globs(patterns).match(path) is expected
    assert Globs(patterns).match(path, path.rpartition("/")[2]) is expected


def test_only_regular_files_are_pages(tmp_path: Path) -> None:
    """A FIFO named like a page is neither listed nor waited on when linked or fetched."""
    write_tree(tmp_path, {"a.md": "[pipe](pipe.md)\n"})
    os.mkfifo(tmp_path / "pipe.md")
    conn = connector(tmp_path)
    assert [ref.id for ref in conn.list()] == ["a.md"]
    assert f'href="{BASE_URL}/pipe/"' in fetch(conn, "a.md").body
    with pytest.raises(DocumentError, match=r"pipe\.md: not a regular file"):
        fetch(conn, "pipe.md")


def test_symlinks_out_of_the_root_are_not_listed(tmp_path: Path) -> None:
    """A symlinked file inside the root is listed; links leading outside, and folders, are not."""
    outside = write_tree(tmp_path / "outside", {"secret.md": "# Secret\n", "dir/x.md": "# X\n"})
    root = write_tree(tmp_path / "root", {"real.md": "# Real\n"})
    (root / "alias.md").symlink_to(root / "real.md")
    (root / "leak.md").symlink_to(outside / "secret.md")
    (root / "leakdir").symlink_to(outside / "dir")
    (root / "loop").symlink_to(root)
    conn = connector(root)
    assert sorted(ref.id for ref in conn.list()) == ["alias.md", "real.md"]
    with pytest.raises(DocumentError, match=r"leak\.md: links outside"):
        fetch(conn, "leak.md")


def test_a_missing_root_makes_the_source_unavailable(tmp_path: Path) -> None:
    """A root that is not a folder stops the listing, so nothing is deleted."""
    with pytest.raises(SourceUnavailable, match="nowhere: does not exist"):
        list(connector(tmp_path / "nowhere").list())


def test_file_names_with_spaces_unicode_and_percent_work(tmp_path: Path) -> None:
    """Odd but legal file names list, fetch, and get percent-encoded URLs."""
    names = ["doc with space.md", "café/naïve.md", "100% done.md"]
    conn = connector(write_tree(tmp_path, dict.fromkeys(names, "# Hi\n")))
    assert sorted(ref.id for ref in conn.list()) == sorted(names)
    urls = {name: fetch(conn, name).url for name in names}
    assert urls == {
        "doc with space.md": f"{BASE_URL}/doc%20with%20space/",
        "café/naïve.md": f"{BASE_URL}/caf%C3%A9/na%C3%AFve/",
        "100% done.md": f"{BASE_URL}/100%25%20done/",
    }


def test_a_file_vanishing_after_listing_fails_alone(tmp_path: Path) -> None:
    """Fetching a listed file that was deleted since raises DocumentError naming it."""
    write_tree(tmp_path, {"gone.md": "# Gone\n", "kept.md": "# Kept\n"})
    conn = connector(tmp_path)
    refs = list(conn.list())
    (tmp_path / "gone.md").unlink()
    with pytest.raises(DocumentError, match=r"gone\.md: vanished"):
        conn.fetch(next(ref for ref in refs if ref.id == "gone.md"))
    assert conn.fetch(next(ref for ref in refs if ref.id == "kept.md")).title == "Kept"


@pytest.mark.parametrize("ref_id", ["../outside.md", "a/../../x.md", "/etc/passwd", "a//b.md"])
def test_ref_ids_leading_out_of_the_root_are_refused(tmp_path: Path, ref_id: str) -> None:
    """A ref id that is not a plain relative path is never opened."""
    with pytest.raises(DocumentError, match="not a path inside"):
        fetch(connector(tmp_path), ref_id)


# -- front matter ----------------------------------------------------------------------------


def test_front_matter_gives_title_id_tags_and_description(tmp_path: Path) -> None:
    """Title, folder-scoped id, tags and description come from the front matter."""
    write_tree(tmp_path, {"guide/setup.md": PAGE.replace("id:", "description: How\nid:")})
    document = fetch(connector(tmp_path), "guide/setup.md")
    assert document.title == "Setup"
    assert document.external_id == "guide/setup"
    assert document.metadata == {
        "path": "guide/setup.md",
        "description": "How",
        "tags": ["install"],
    }
    assert document.body_format == "html"


def test_external_id_key_is_taken_verbatim(tmp_path: Path) -> None:
    """``external_id`` is used as written, so moving the file keeps the Intercom page."""
    document = render_one(tmp_path, "---\nexternal_id: kb-42\n---\nText\n", name="a/b.md")
    assert document.external_id == "kb-42"


def test_without_an_id_the_path_is_the_identity(tmp_path: Path) -> None:
    """No front-matter id leaves the external id to the ref id (the path)."""
    assert render_one(tmp_path, "# T\n").external_id is None


def test_duplicate_ids_are_left_to_the_engine(tmp_path: Path) -> None:
    """Two pages with one id both fetch; the engine fails the second (tests/sync/test_engine.py)."""
    write_tree(
        tmp_path, {"a.md": "---\nexternal_id: x\n---\nA\n", "b.md": "---\nexternal_id: x\n---\nB\n"}
    )
    conn = connector(tmp_path)
    assert [fetch(conn, name).external_id for name in ("a.md", "b.md")] == ["x", "x"]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("---\ntitle: From front matter\n---\n# Heading\n", "From front matter"),
        ("Intro\n\n# The *first* heading {#anchor}\n\n# Second\n", "The first heading"),
        ("```\n# not a heading\n```\n\nSetext title\n============\n", "Setext title"),
        ("Just text, no heading.\n", "getting started"),
    ],
)
def test_title_falls_back_to_heading_then_file_name(tmp_path: Path, text: str, title: str) -> None:
    """The title is the front matter's, else the first ``#`` heading, else the file name."""
    assert render_one(tmp_path, text, name="getting-started.md").title == title


def test_index_pages_without_a_title_are_named_after_their_folder(tmp_path: Path) -> None:
    """An untitled ``_index.md`` takes its folder's name rather than ``_index``."""
    assert render_one(tmp_path, "Text.\n", name="billing/_index.md").title == "billing"


@pytest.mark.parametrize(
    ("front_matter", "reason"),
    [
        ("draft: true", "draft: true"),
        ("unlisted: true", "unlisted: true"),
        ("sync: false", "sync: false"),
        ("draft: 'yes'", "draft: true"),
        ("headless: true", "headless: true"),
        ("build:\n  render: never", "build.render: never"),
    ],
)
def test_excluded_pages_raise_document_excluded(
    tmp_path: Path, front_matter: str, reason: str
) -> None:
    """Draft, unlisted and ``sync: false`` pages are excluded, with the reason named."""
    with pytest.raises(DocumentExcluded, match=re.escape(f"page.md: {reason}")):
        render_one(tmp_path, f"---\n{front_matter}\n---\nBody\n")


def test_draft_false_is_published(tmp_path: Path) -> None:
    """``draft: false`` and ``sync: true`` publish the page."""
    assert render_one(tmp_path, "---\ndraft: false\nsync: true\n---\nBody\n").body


def test_front_matter_never_reaches_the_body(tmp_path: Path) -> None:
    """The front matter block is removed, YAML or Hugo's TOML."""
    yaml_doc = render_one(tmp_path, "---\ntitle: Y\nweight: 3\n---\nBody text\n", name="y.md")
    toml_doc = render_one(tmp_path, '+++\ntitle = "T"\nweight = 3\n+++\nBody text\n', name="t.md")
    assert (yaml_doc.title, toml_doc.title) == ("Y", "T")
    for document in (yaml_doc, toml_doc):
        assert document.body == "<p>Body text</p>"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "---\ntitle: Hi\nkey: value: other\n---\nBody\n",
            r"page\.md: front matter is not valid YAML: mapping values .* \(line 3\)",
        ),
        ("---\n- a\n- b\n---\nBody\n", r"page\.md: front matter must be a mapping"),
        ("+++\ntitle = \n+++\nBody\n", r"page\.md: front matter is not valid TOML"),
    ],
)
def test_broken_front_matter_fails_the_document(tmp_path: Path, text: str, reason: str) -> None:
    """Front matter that does not parse fails that page with the parser's reason."""
    with pytest.raises(DocumentError, match=reason):
        render_one(tmp_path, text)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML was built without libyaml")
def test_front_matter_is_parsed_by_libyaml_as_the_pure_parser_would(tmp_path: Path) -> None:
    """The C loader is used when present, with the same YAML 1.1 types as SafeLoader."""
    assert markdown_source._Loader.__name__ == "CSafeLoader"
    block = "title: yes\nid: 010\nweight: 1.50\ndate: 2024-01-02\ntags: [a, 1]\nx: ~\n"
    front_matter, body = markdown_source.split_front_matter(f"---\n{block}---\nB\n", "p.md")
    assert front_matter == yaml.load(block, Loader=yaml.SafeLoader)
    assert (front_matter["title"], front_matter["id"], body) == (True, 8, "B\n")


def test_an_empty_page_uses_its_description_or_is_excluded(tmp_path: Path) -> None:
    """A section page with only front matter publishes its description; with none, nothing."""
    described = render_one(
        tmp_path, "---\ntitle: S\ndescription: All about *S*.\n---\n", name="s.md"
    )
    assert described.body == "<p>All about <em>S</em>.</p>"
    with pytest.raises(DocumentExcluded, match="no content"):
        render_one(tmp_path, "---\ntitle: Empty\n---\n\n", name="e.md")


# -- input we do not control -----------------------------------------------------------------

TEXT = "---\ntitle: Grüße\n---\nLine one\nline two: naïve\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode(),
        codecs.BOM_UTF8 + TEXT.encode(),
        TEXT.encode("utf-16"),  # with a BOM, native byte order
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        TEXT.replace("\n", "\r\n").encode(),
        codecs.BOM_UTF8 + TEXT.replace("\n", "\r\n").encode(),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16-be", "crlf", "utf8-bom-crlf"],
)
def test_encodings_and_line_ends_read_the_same(tmp_path: Path, data: bytes) -> None:
    """UTF-8 with or without BOM, UTF-16 with BOM and CRLF give the same document."""
    write_tree(tmp_path, {"page.md": data})
    document = fetch(connector(tmp_path), "page.md")
    assert document.title == "Grüße"
    assert document.body == "<p>Line one\nline two: naïve</p>"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"# Caf\xe9 in Latin-1\n", r"page\.md: not UTF-8 text \(undecodable byte at offset 5\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"page\.md: .*binary file"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", r"page\.md: not UTF-16 text"),
    ],
)
def test_undecodable_or_binary_files_fail_alone(tmp_path: Path, data: bytes, reason: str) -> None:
    """A file that is not text raises DocumentError naming it and saying why."""
    write_tree(tmp_path, {"page.md": data})
    with pytest.raises(DocumentError, match=reason):
        fetch(connector(tmp_path), "page.md")


# -- options ---------------------------------------------------------------------------------


def test_options_resolve_relative_paths_and_reject_bad_values(tmp_path: Path) -> None:
    """A relative path resolves against the config folder; bad URLs and templates are refused."""
    options = MarkdownOptions.model_validate({"path": "docs"}, context={"base_dir": tmp_path})
    assert options.path == tmp_path / "docs"
    assert options.include == ["**/*.md", "**/*.markdown"]
    with pytest.raises(pydantic.ValidationError, match="absolute http"):
        MarkdownOptions(path=tmp_path, base_url="docs.example.com")
    with pytest.raises(pydantic.ValidationError, match="bad placeholder 'title'"):
        MarkdownOptions(path=tmp_path, url_template="{base_url}/{title}")
    with pytest.raises(pydantic.ValidationError, match="Extra inputs"):
        MarkdownOptions.model_validate({"path": "x", "colour": "blue"})


# -- real trees --------------------------------------------------------------------------------

_TEMPLATE_SYNTAX = ("{{<", "{{%", "{%", "{{&lt;")
_CODE = re.compile(r"<code\b.*?</code>", re.DOTALL)
_URL_ATTRIBUTE = re.compile(r'<(?:a|img)\b[^>]*?\b(?:href|src)="([^"]*)"')


def _publish_all(root: Path, **options: object) -> dict[str, Document]:
    conn = connector(root, source=SourceInfo("docs", "https://www.example.org/docs/"), **options)
    published: dict[str, Document] = {}
    for ref in conn.list():
        try:
            published[ref.id] = conn.fetch(ref)
        except DocumentExcluded:
            continue
    return published


@pytest.mark.parametrize(
    ("folder", "options", "minimum"),
    [
        ("markdown-hugo-docsy", {"exclude": ["**/includes/**"]}, 40),
        ("markdown-docusaurus-frontmatter", {}, 14),
    ],
)
def test_real_docs_trees_publish_clean_pages(
    shared_fixtures: Path, folder: str, options: dict[str, object], minimum: int
) -> None:
    """Hugo and Docusaurus trees give titled pages with absolute URLs and no template noise."""
    published = _publish_all(shared_fixtures / folder, **options)
    assert len(published) >= minimum
    for ref_id, document in published.items():
        body, title, url = document.body, document.title, document.url or ""
        assert title.strip(), ref_id
        assert url.startswith("https://www.example.org/docs/"), ref_id
        assert not body.startswith(("---", "+++", "<hr")), ref_id
        assert not re.match(r"(<p>)?\s*(title|id|description|slug)\s*[:=]", body), ref_id
        # Code may show template syntax on purpose (escaped shortcodes, Go templates).
        prose = _CODE.sub("", body)
        for syntax in _TEMPLATE_SYNTAX:
            assert syntax not in prose, (ref_id, syntax)
        for target in _URL_ATTRIBUTE.findall(body):
            assert target.startswith(("https://", "http://", "mailto:")), (ref_id, target)


def test_docsy_shortcode_docs_keep_their_examples(shared_fixtures: Path) -> None:
    """Docsy's page about its shortcodes shows them in its code, as the site does."""
    published = _publish_all(shared_fixtures / "markdown-hugo-docsy", exclude=["**/includes/**"])
    body = published["content/shortcodes/index.md"].body
    assert '{{&lt; blocks/cover title="Welcome to Docsy!"' in body
    assert "{{&lt; /blocks/cover &gt;}}" in body
    assert "*/&gt;}}" not in body and "*/%}}" not in body  # no escape is left anywhere


def test_docusaurus_tree_keeps_its_slugs_ids_and_exclusions(shared_fixtures: Path) -> None:
    """Docusaurus slugs, ids, drafts and heading titles come out as Docusaurus means them."""
    published = _publish_all(shared_fixtures / "markdown-docusaurus-frontmatter")
    base = "https://www.example.org/docs"
    assert not {"doc-draft.md", "doc-unlisted.md"} & set(published)
    urls = {ref_id: doc.url for ref_id, doc in published.items()}
    assert urls["foo/baz.md"] == f"{base}/foo/bazSlug.html"
    assert urls["slugs/absoluteSlug.md"] == f"{base}/absoluteSlug/"
    assert urls["slugs/relativeSlug.md"] == f"{base}/slugs/relativeSlug/"
    assert urls["rootResolvedSlug.md"] == f"{base}/hey/rootResolvedSlug/"
    assert urls["rootTryToEscapeSlug.md"] == f"{base}/rootTryToEscapeSlug/"
    hello = published["hello.md"]
    assert hello.external_id == "hello"
    assert f'href="{base}/foo/bar/"' in hello.body
    assert published["headingAsTitle.md"].title == "My heading as title"
