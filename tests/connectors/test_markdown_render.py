"""The Markdown connector's bodies and URLs: GFM, sanitizing, template tags, admonitions, links."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.connectors.base import SourceInfo
from syncd.connectors.markdown.render import prepare
from syncd.connectors.markdown.urls import SiteUrls
from tests.connectors.test_markdown_support import (
    BASE_URL,
    connector,
    fetch,
    render_one,
    write_tree,
)

# -- rendering -------------------------------------------------------------------------------


def test_gfm_features_render(tmp_path: Path) -> None:
    """Tables, strikethrough, autolinks, task lists and footnotes all render as HTML."""
    body = render_one(
        tmp_path,
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ www.example.com\n\n"
        "- [x] done\n- [ ] todo\n\nClaim.[^1]\n\n[^1]: Source.\n",
    ).body
    assert "<table>" in body
    assert "<td>1</td>" in body
    assert "<del>old</del>" in body
    assert '<a href="http://www.example.com">www.example.com</a>' in body
    assert '<input type="checkbox" checked="" disabled="">' in body
    assert '<section class="footnotes"' not in body  # classes other than language-* go
    assert f'<a href="{BASE_URL}/page/#fn-1" id="fnref-1">1</a>' in body


def test_fenced_code_keeps_its_language(tmp_path: Path) -> None:
    """A fenced block comes out as ``<pre><code class="language-x">``, escaped."""
    body = render_one(tmp_path, "```python\nif a < b:\n    pass\n```\n").body
    assert body == '<pre><code class="language-python">if a &lt; b:\n    pass\n</code></pre>'


def test_raw_html_is_sanitized_but_keeps_its_text(tmp_path: Path) -> None:
    """Scripts, styles, handlers and javascript: URLs go; structure and text stay."""
    body = render_one(
        tmp_path,
        '<details><summary>More</summary>\n\nHidden <b onclick="x()">text</b>\n\n</details>\n\n'
        "<script>alert(1)</script><style>p{}</style>\n\n[click](javascript:alert(1)) "
        '<a href="JaVaScRiPt:alert(2)">two</a> <img src=x onerror="alert(3)">\n\n<!-- note -->\n',
    ).body
    assert "<details><summary>More</summary>" in body
    assert "Hidden <b>text</b>" in body
    for unsafe in ("script", "alert", "onclick", "onerror", "style", "javascript", "note"):
        assert unsafe not in body.lower(), unsafe
    assert "<a>click</a>" in body


def test_hugo_shortcodes_leave_only_their_meaningful_text(tmp_path: Path) -> None:
    """Paired shortcodes keep their inner text and title; others and comments vanish."""
    body = render_one(
        tmp_path,
        "Version {{% param version %}} is out.\n\n"
        '{{< alert title="Careful" color="warning" >}}\nBack up first.\n{{< /alert >}}\n\n'
        "{{% note %}}\nInner **text** stays.\n{{% /note %}}\n\n"
        "{{< comment >}}\nInternal remark.\n{{< /comment >}}\n\n"
        '{{< tabpane >}}\n{{< tab header="Linux" >}}\n```sh\napt install x\n```\n'
        "{{< /tab >}}\n{{< /tabpane >}}\n\n"
        "Escaped in prose: {{</* alert */>}}\n",
    ).body
    assert "<p>Version  is out.</p>" in body
    assert "<strong>Careful</strong>" in body
    assert "Back up first." in body
    assert "Inner <strong>text</strong> stays." in body
    assert "Internal remark" not in body
    assert "<strong>Linux</strong>" in body
    assert '<code class="language-sh">apt install x' in body
    assert not re.search(r"\{\{|\{%|&lt;\}|%\}", body), body


def test_escaped_shortcodes_in_code_show_the_shortcode(tmp_path: Path) -> None:
    """A page documenting shortcodes keeps its examples, printed as Hugo prints them."""
    body = render_one(
        tmp_path,
        "Use `{{</* alert */>}}` or `{{%/* note */%}}`.\n\n"
        '```html\n{{</* blocks/cover title="Welcome" */>}}\n...\n{{< /* /blocks/cover */ >}}\n'
        "{{< real-wrapper >}}\n```\n",
    ).body
    assert "<code>{{&lt; alert &gt;}}</code>" in body
    assert "<code>{{% note %}}</code>" in body
    assert '{{&lt; blocks/cover title="Welcome" &gt;}}\n...\n{{&lt; /blocks/cover &gt;}}\n' in body
    assert "real-wrapper" not in body  # an unescaped shortcode in code is still expanded away


def test_jekyll_liquid_tags_vanish_and_raw_stays(tmp_path: Path) -> None:
    """Liquid tags and outputs go in prose; ``raw`` blocks and ``{{ }}`` in code stay."""
    body = render_one(
        tmp_path,
        "{% include header.html %}\n\nSite: {{ site.title }}.\n\n"
        "{% comment %}hidden{% endcomment %}\n\n"
        "{% raw %}Use {{ name }} literally.{% endraw %}\n\n"
        "```jinja\nHello {{ user }} {% include x.html %}\n```\n",
    ).body
    assert "header.html" not in body
    assert "<p>Site: .</p>" in body
    assert "hidden" not in body
    assert "<p>Use {{ name }} literally.</p>" in body
    assert '<code class="language-jinja">Hello {{ user }} \n</code>' in body


def test_ref_shortcodes_and_figures_become_links_and_images(tmp_path: Path) -> None:
    """``ref`` resolves like a link to the named file; ``figure`` becomes an image."""
    write_tree(
        tmp_path,
        {
            "guide/a.md": (
                '[Setup]({{< ref "setup.md#step-2" >}})\n\n'
                '{{< figure src="shot one.png" caption="The dashboard" >}}\n'
            ),
            "guide/setup.md": "# Setup\n",
        },
    )
    body = fetch(connector(tmp_path), "guide/a.md").body
    assert f'<a href="{BASE_URL}/guide/setup/#step-2">Setup</a>' in body
    assert f'<img src="{BASE_URL}/guide/shot%20one.png" alt="The dashboard">' in body


def test_a_link_target_only_the_generator_knows_is_dropped(tmp_path: Path) -> None:
    """A link whose target starts with a template value keeps its text, loses its target."""
    body = render_one(tmp_path, "See [the repo](<{{% param github_repo %}}/blob/main>).\n").body
    assert body == "<p>See <a>the repo</a>.</p>"


def test_docusaurus_admonitions_become_titled_blockquotes(tmp_path: Path) -> None:
    """``:::kind Title`` blocks, nested too, become blockquotes led by their title in bold."""
    body = render_one(
        tmp_path,
        ":::tip Pro move\n\nUse **keys**.\n\n::::note\n\nNested.\n\n::::\n\n:::\n\n"
        ":::warning[Heads up]\nCareful.\n:::\n\nAfter.\n",
    ).body
    assert body.startswith("<blockquote>\n<p><strong>Pro move</strong></p>\n<p>Use <strong>keys")
    assert "<blockquote>\n<p><strong>Note</strong></p>\n<p>Nested.</p>\n</blockquote>" in body
    assert "<p><strong>Heads up</strong></p>\n<p>Careful.</p>" in body
    assert body.endswith("</blockquote>\n<p>After.</p>")
    assert ":::" not in body


def test_github_alerts_and_heading_attributes_are_cleaned(tmp_path: Path) -> None:
    """``> [!WARNING]`` gets a bold label; ``{#id}`` after a heading disappears."""
    body = render_one(tmp_path, "## Install {#install}\n\n> [!WARNING]\n> Stop.\n").body
    assert "<h2>Install</h2>" in body
    assert "<strong>Warning:</strong>" in body
    assert "[!" not in body


@pytest.mark.parametrize(
    ("markdown", "prepared"),
    [
        (  # only one-line rewrites, each line told from code
            "## Install {#install}\n\n```md\n## Shown {#shown}\n> [!NOTE]\n:::tip\n```\n\n"
            "> [!TIP]\n> Go.\n\n    > [!NOTE]\n",
            "## Install\n\n```md\n## Shown {#shown}\n> [!NOTE]\n:::tip\n```\n\n"
            "> **Tip:**\n> Go.\n\n    > [!NOTE]\n",
        ),
        (  # an admonition moves lines: an alert inside it stays, code is found again after
            ":::note\n\n> [!TIP]\n> x\n\n:::\n\n## H {#h}\n\n> [!caution]\n> y\n\n"
            "```\n> [!NOTE]\n```\n",
            "> **Note**\n>\n> \n> > [!TIP]\n> > x\n> \n\n\n## H\n\n> **Caution:**\n> y\n\n"
            "```\n> [!NOTE]\n```\n",
        ),
        (":::\n\n# T {.c}\n", ":::\n\n# T\n"),  # a closing fence with nothing open stays
    ],
)
def test_admonition_alert_and_heading_lines_are_rewritten_outside_code(
    markdown: str, prepared: str
) -> None:
    """Each line that may be rewritten is rewritten unless cmark reads it as code."""
    assert prepare(markdown) == prepared


@pytest.mark.parametrize(
    ("markdown", "prepared"),
    [
        # a span of two backticks holds a single one; a tag after it is prose
        ("Use ``{{ a }} ` {{< x >}}`` here {{ b }}.\n", "Use ``{{ a }} ` `` here .\n"),
        # a blank line ends a span before it closes: both actions are prose
        ("`{{ a }}\n\n{{ b }}`\n", "`\n\n`\n"),
    ],
)
def test_code_spans_in_prose_keep_their_template_expressions(markdown: str, prepared: str) -> None:
    """A code span closes with a run of as many backticks, never across a blank line."""
    assert prepare(markdown) == prepared


# -- page URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "front_matter", "url"),
    [
        ("index.md", "", f"{BASE_URL}/"),
        ("README.md", "", f"{BASE_URL}/"),
        ("guide/_index.md", "", f"{BASE_URL}/guide/"),
        ("guide/README.md", "", f"{BASE_URL}/guide/"),
        ("guide/setup.md", "", f"{BASE_URL}/guide/setup/"),
        ("guide/setup.md", "slug: install", f"{BASE_URL}/guide/install/"),
        ("guide/setup.md", "slug: /install", f"{BASE_URL}/install/"),
        ("guide/setup.md", "slug: ../../../../../etc/x", f"{BASE_URL}/etc/x/"),
        ("guide/setup.md", "slug: page.html", f"{BASE_URL}/guide/page.html"),
        ("guide/setup.md", "permalink: /about/us/", f"{BASE_URL}/about/us/"),
        ("guide/setup.md", "url: /docs/setup", f"{BASE_URL}/docs/setup/"),
    ],
)
def test_page_urls_follow_path_slug_permalink_and_url(
    tmp_path: Path, path: str, front_matter: str, url: str
) -> None:
    """The page URL is the base URL plus the slug, permalink, url or folded path."""
    text = f"---\n{front_matter}\n---\nBody\n" if front_matter else "Body\n"
    assert render_one(tmp_path, text, name=path).url == url


def test_url_template_and_default_base_url(tmp_path: Path) -> None:
    """``url_template`` placeholders fill in; without base_url the source's URL is used."""
    source = SourceInfo(name="kb", url="https://kb.example.com/")
    write_tree(tmp_path, {"guide/set up.md": "Body\n"})
    templated = connector(
        tmp_path, source=source, url_template="{base_url}/{dir}/{name}.html?p={path}"
    )
    assert fetch(templated, "guide/set up.md").url == (
        "https://kb.example.com/guide/set%20up.html?p=guide/set%20up"
    )
    plain = connector(tmp_path, source=source)
    assert fetch(plain, "guide/set up.md").url == "https://kb.example.com/guide/set%20up/"


# -- links ------------------------------------------------------------------------------------


def test_relative_links_point_at_published_pages_and_files(tmp_path: Path) -> None:
    """Links to Markdown files become their page URLs; other files live under the base URL."""
    write_tree(
        tmp_path,
        {
            "guide/a.md": (
                "[b](b.md#part) [moved](moved.md) [up](../index.md) [folder](sub/) "
                "[self](#top) [site](/pricing/) [ext](https://x.org/a) [mail](mailto:a@b.c)\n\n"
                "![logo](img/logo%20v2.png) [pdf](../files/guide.pdf?dl=1)\n"
            ),
            "guide/b.md": "# B\n",
            "guide/moved.md": "---\nslug: /elsewhere\n---\nMoved\n",
            "guide/sub/README.md": "# Sub\n",
            "index.md": "# Home\n",
        },
    )
    body = fetch(connector(tmp_path), "guide/a.md").body
    hrefs = re.findall(r'(?:href|src)="([^"]*)"', body)
    assert hrefs == [
        f"{BASE_URL}/guide/b/#part",
        f"{BASE_URL}/elsewhere/",
        f"{BASE_URL}/",
        f"{BASE_URL}/guide/sub/",
        f"{BASE_URL}/guide/a/#top",
        "https://docs.example.com/pricing/",
        "https://x.org/a",
        "mailto:a@b.c",
        f"{BASE_URL}/guide/img/logo%20v2.png",
        f"{BASE_URL}/files/guide.pdf?dl=1",
    ]


@pytest.mark.parametrize(
    "target",
    [
        "../../secret.md",
        "../../../../etc/passwd",
        "%2e%2e/%2e%2e/secret.md",
        "..%2f..%2fsecret.md",
        "%2E%2E%2F%2E%2E%2Fsecret.md",
        "..\\\\..\\\\secret.md",  # each \\\\ is one backslash to Markdown
        "sub/../../../secret.md",
    ],
)
def test_links_escaping_the_root_keep_only_their_text(tmp_path: Path, target: str) -> None:
    """A link or image that would leave the tree loses its target, never points outside."""
    (tmp_path / "secret.md").write_text("---\nslug: leaked\n---\n", encoding="utf-8")
    root = write_tree(tmp_path / "root", {"a/page.md": f"[x]({target}) ![y](<{target}>)\n"})
    body = fetch(connector(root), "a/page.md").body
    assert body == '<p><a>x</a> <img alt="y"></p>'


_SEGMENTS = st.sampled_from(
    ["..", ".", "a", "b.md", "%2e%2e", "%2E%2e%2f", "..%5c", "%252e%252e", "", "c d", "%25"]
)


@given(st.lists(_SEGMENTS, min_size=1, max_size=8), st.sampled_from(["", "x/", "x/y/z/"]))
def test_resolved_relative_links_never_leave_the_base_url(segments: list[str], folder: str) -> None:
    """Whatever a link holds, it stays under the base URL (site links: its origin) or goes."""
    urls = SiteUrls(BASE_URL, None)
    value = "/".join(segments) or "."
    site_link = unquote(value).replace("\\", "/").startswith("/")
    resolved = urls.resolve(
        value,
        from_path=f"{folder}page.md",
        page_url=f"{BASE_URL}/page/",
        page_of=lambda path: None,
    )
    if urlsplit(value).netloc:  # scheme-relative: a link to another host, like https://
        assert resolved == f"https:{value}"
        return
    prefix = "https://docs.example.com/" if site_link else BASE_URL + "/"
    assert resolved is None or resolved.startswith(prefix)
    assert resolved is None or not re.search(r"/\.\.?(/|$)", resolved.split("?")[0])


def test_linked_pages_are_read_only_as_far_as_their_url_goes(tmp_path: Path) -> None:
    """A link takes its target's slug, url or permalink, YAML or TOML, from any encoding."""
    write_tree(
        tmp_path,
        {
            "a.md": (
                "[plain](plain.md) [words](words.md) [slug](slug.md) [toml](toml.md) "
                "[bom](bom.md) [broken](broken.md) [missing](missing.md) [nul](x%00y.md)\n"
            ),
            "plain.md": "# No front matter, url: /nowhere/ in the text\n",
            "words.md": "---\ntitle: Mentions no key\n---\nslug: /nowhere/ in the body\n",
            "slug.md": "---\ntitle: S\nslug: /moved/\n---\nBody\n",
            "toml.md": '+++\nurl = "/toml-page/"\n+++\nBody\n',
            "broken.md": "---\nslug: [unclosed\n---\nBody\n",
        },
    )
    (tmp_path / "bom.md").write_bytes("---\npermalink: /bom/\n---\nBody\n".encode("utf-16"))
    body = fetch(connector(tmp_path), "a.md").body
    assert re.findall(r'href="([^"]*)"', body) == [
        f"{BASE_URL}/plain/",
        f"{BASE_URL}/words/",
        f"{BASE_URL}/moved/",
        f"{BASE_URL}/toml-page/",
        f"{BASE_URL}/bom/",
        f"{BASE_URL}/broken/",
        f"{BASE_URL}/missing/",
        f"{BASE_URL}/x%00y/",
    ]


def test_a_new_listing_sees_linked_pages_move(tmp_path: Path) -> None:
    """What a run learnt of linked pages is forgotten when the next listing starts."""
    write_tree(tmp_path, {"a.md": "[b](b.md)\n", "b.md": "# B\n"})
    conn = connector(tmp_path)
    list(conn.list())
    assert f'href="{BASE_URL}/b/"' in fetch(conn, "a.md").body
    write_tree(tmp_path, {"b.md": "---\nslug: /bee/\n---\n# B\n"})
    list(conn.list())
    assert f'href="{BASE_URL}/bee/"' in fetch(conn, "a.md").body


def test_links_through_a_symlinked_folder_never_read_outside(tmp_path: Path) -> None:
    """A link into a folder that is a symlink out of the tree gets its path's URL, unread."""
    outside = write_tree(tmp_path / "outside", {"secret.md": "---\nslug: /leaked/\n---\nS\n"})
    root = write_tree(tmp_path / "root", {"a.md": "[s](out/secret.md) [i](out/)\n"})
    (root / "out").symlink_to(outside)
    write_tree(outside, {"index.md": "---\nslug: /leaked-index/\n---\nI\n"})
    body = fetch(connector(root), "a.md").body
    assert re.findall(r'href="([^"]*)"', body) == [f"{BASE_URL}/out/secret/", f"{BASE_URL}/out/"]
