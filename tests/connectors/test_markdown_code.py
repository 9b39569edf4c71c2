"""Markdown code stays code: template expressions in every kind of code, Docsy tab panes."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.render import cmark
from tests.connectors.test_markdown_support import render_one

GITHUB_EXPRESSION = "REPO_NAME: ${{ github.event.repository.name }}"


@pytest.mark.parametrize(
    "markdown",
    [
        # a fence indented inside a list item (Docsy's deployment/github-pages.md)
        f"1. Paste this:\n\n   ```yaml\n   env:\n     {GITHUB_EXPRESSION}\n   ```\n",
        # a fence in a list item nested in another
        f"- a\n  1. b\n\n     ```yaml\n     {GITHUB_EXPRESSION}\n     ```\n",
        # a fence in a block quote
        f"> ```yaml\n> {GITHUB_EXPRESSION}\n> ```\n",
        # a tilde fence holding a backtick fence
        f"~~~markdown\n```yaml\n{GITHUB_EXPRESSION}\n```\n~~~\n",
        # an indented code block
        f"Config:\n\n    {GITHUB_EXPRESSION}\n",
        # an indented code block inside a list item
        f"1. Config:\n\n       {GITHUB_EXPRESSION}\n",
        # an inline code span, also one running over two lines of its paragraph
        f"Set `{GITHUB_EXPRESSION}` first.\n",
        "Set `REPO_NAME: ${{ github.event\n.repository.name }}` first.\n",
    ],
)
def test_template_expressions_in_code_are_kept(tmp_path: Path, markdown: str) -> None:
    """A ``${{ ... }}`` expression in any kind of Markdown code is published as written."""
    body = render_one(tmp_path, markdown).body
    assert "${{ github.event" in body
    assert "repository.name }}" in body


def test_hugo_partial_examples_in_code_stay(tmp_path: Path) -> None:
    """Hugo's ``{{ partial ... }}`` shown in an indented block or a nested fence is kept."""
    body = render_one(
        tmp_path,
        '1. Add:\n\n   ```go-html-template\n   {{ partial "hooks/head-end.html" . }}\n   ```\n\n'
        'Or:\n\n    {{ partial "footer.html" . }}\n',
    ).body
    assert body.count('{{ partial "') == 2


def test_expressions_in_prose_still_go(tmp_path: Path) -> None:
    """Outside code a Liquid or Go template output is still removed: the site fills it in."""
    body = render_one(tmp_path, "Version {{ site.version }} is out.\n").body
    assert body == "<p>Version  is out.</p>"


def test_a_lone_backtick_does_not_make_the_next_paragraph_code(tmp_path: Path) -> None:
    """A code span never crosses a blank line, so a stray backtick protects nothing after it."""
    body = render_one(tmp_path, "It`s here.\n\nVersion {{ site.version }} `x`.\n").body
    assert "site.version" not in body


def test_four_space_indented_shortcode_in_a_list_is_prose(tmp_path: Path) -> None:
    """A list item's indented continuation is not code, so its shortcodes are still handled."""
    body = render_one(
        tmp_path, '1.  Step:\n\n    {{< alert title="Careful" >}}Back up.{{< /alert >}}\n'
    ).body
    assert "<strong>Careful</strong>" in body
    assert "{{" not in body


def test_code_block_lines_follow_cmark() -> None:
    """cmark reports fenced, nested and indented code blocks by their lines."""
    text = "1. a\n\n   ```\n   x\n   ```\n\n> ~~~\n> y\n> ~~~\n\n    z\n"
    assert cmark.code_block_lines(text) == [(3, 5), (7, 9), (11, 11)]


def test_whether_a_line_is_code_is_settled_by_the_lines_up_to_it() -> None:
    """cmark never looks ahead, so the text after the last line asked about need not be parsed.

    What tab panes and admonitions rely on: each non-blank line is code in a prefix of the
    text ending with it exactly when it is code in the whole text.
    """
    text = (
        "1. a\n\n   ```\n   x\n   ```\n   > ~~~\n   > open\n\nafter\n\n"
        "    indented\n\n    more\nlazy\n\n<div>\n\n    html\n</div>\n\n"
        "- item\n\n      in item\n\nSetext\n===\n    continued\n\n```\nnever closed\n"
    )
    lines = text.split("\n")

    def code(part: str) -> set[int]:
        blocks = cmark.code_block_lines(part)
        return {number for first, last in blocks for number in range(first, last + 1)}

    whole = code(text)
    assert whole  # the text does hold code
    for number, line in enumerate(lines, 1):
        if line.strip():
            prefix = "\n".join(lines[:number])
            assert (number in code(prefix)) == (number in whole), (number, line)


# -- tab panes ---------------------------------------------------------------------------


PANE = """Set it:

{{< tabpane >}}
{{< tab header="Configuration file:" disabled=true />}}
{{< tab header="hugo.toml" lang="toml" >}}
[params.ui]
sidebar_search_disable = true
{{< /tab >}}
{{< tab header="hugo.yaml" lang="yaml" >}}
# a YAML comment, not a heading
params:
  ui:
    sidebar_search_disable: true
{{< /tab >}}
{{< /tabpane >}}

After.
"""


def test_tab_panes_become_labelled_code_blocks(tmp_path: Path) -> None:
    """Each tab is its header as a bold label then a code block in its language."""
    body = render_one(tmp_path, PANE).body
    assert body == (
        "<p>Set it:</p>\n"
        "<p><strong>Configuration file:</strong></p>\n"
        "<p><strong>hugo.toml</strong></p>\n"
        '<pre><code class="language-toml">[params.ui]\nsidebar_search_disable = true\n'
        "</code></pre>\n"
        "<p><strong>hugo.yaml</strong></p>\n"
        '<pre><code class="language-yaml"># a YAML comment, not a heading\nparams:\n  ui:\n'
        "    sidebar_search_disable: true\n</code></pre>\n"
        "<p>After.</p>"
    )


def test_tab_pane_inside_a_list_item_stays_in_it(tmp_path: Path) -> None:
    """A pane opened at a list item's indentation stays inside the item, content unindented."""
    body = render_one(
        tmp_path,
        '1.  Front matter:\n\n    {{< tabpane >}}\n{{< tab header="yaml" lang="yaml" >}}\n'
        "---\ntitle: Search\n---\n{{< /tab >}}\n    {{< /tabpane >}}\n\n1.  Next.\n",
    ).body
    assert (
        "<li>\n<p>Front matter:</p>\n<p><strong>yaml</strong></p>\n"
        '<pre><code class="language-yaml">---\ntitle: Search\n---\n</code></pre>\n</li>'
    ) in body
    assert "<li>\n<p>Next.</p>\n</li>" in body


def test_text_tabs_stay_markdown(tmp_path: Path) -> None:
    """In a ``text=true`` pane a tab's Markdown (with its own fence) renders as Markdown."""
    body = render_one(
        tmp_path,
        '{{< tabpane text=true >}}\n{{% tab header="English" lang="en" %}}\n'
        "**Welcome!**\n\n```toml\nx = 1\n```\n{{% /tab %}}\n{{< /tabpane >}}\n",
    ).body
    assert body == (
        "<p><strong>English</strong></p>\n<p><strong>Welcome!</strong></p>\n"
        '<pre><code class="language-toml">x = 1\n</code></pre>'
    )


def test_positional_headers_and_lang_equals_header(tmp_path: Path) -> None:
    """``{{< tab "Go" >}}`` names the tab; ``langEqualsHeader`` makes it the language."""
    body = render_one(
        tmp_path,
        '{{< tabpane langEqualsHeader=true >}}\n{{< tab "Go" >}}\npackage main\n{{< /tab >}}\n'
        "{{< tab PHP >}}\n<?php echo 1;\n{{< /tab >}}\n{{< /tabpane >}}\n",
    ).body
    assert '<p><strong>Go</strong></p>\n<pre><code class="language-go">package main\n' in body
    assert '<pre><code class="language-php">&lt;?php echo 1;\n</code></pre>' in body


def test_a_tab_without_a_language_is_plain_code(tmp_path: Path) -> None:
    """A tab with neither ``lang`` nor ``text`` is still code, keeping its indentation."""
    body = render_one(
        tmp_path,
        '{{< tabpane >}}\n{{< tab header="Shell" >}}\n  if x:\n    y\n{{< /tab >}}\n'
        "{{< /tabpane >}}\n",
    ).body
    assert body == "<p><strong>Shell</strong></p>\n<pre><code>if x:\n  y\n</code></pre>"


def test_tab_content_holding_a_fence_gets_a_longer_fence(tmp_path: Path) -> None:
    """Backticks in a code tab cannot close the block that holds them."""
    body = render_one(
        tmp_path,
        '{{< tabpane >}}\n{{< tab header="md" lang="markdown" >}}\n```js\nx\n```\n'
        "{{< /tab >}}\n{{< /tabpane >}}\n",
    ).body
    assert '<pre><code class="language-markdown">```js\nx\n```\n</code></pre>' in body


def test_escaped_and_fenced_panes_are_left_as_examples(tmp_path: Path) -> None:
    """A pane shown inside a code block is an example of the syntax and stays one."""
    body = render_one(
        tmp_path,
        '```\n{{< tabpane >}}\n{{< tab header="a" >}}x{{< /tab >}}\n{{< /tabpane >}}\n```\n',
    ).body
    assert "<strong>" not in body
    assert body.startswith("<pre><code>")


def test_template_expressions_in_a_code_tab_are_kept(tmp_path: Path) -> None:
    """A GitHub Actions expression inside a YAML tab survives as code."""
    body = render_one(
        tmp_path,
        '{{< tabpane >}}\n{{< tab header="ci.yaml" lang="yaml" >}}\n'
        f"{GITHUB_EXPRESSION}\n{{{{< /tab >}}}}\n{{{{< /tabpane >}}}}\n",
    ).body
    assert GITHUB_EXPRESSION in body


def test_a_code_tab_holding_one_fenced_block_is_that_block(tmp_path: Path) -> None:
    """A tab whose content is a single fence publishes that block, not a fence inside code."""
    body = render_one(
        tmp_path,
        '{{< tabpane >}}\n{{< tab header="Linux" >}}\n```sh\napt install x\n```\n{{< /tab >}}\n'
        "{{< /tabpane >}}\n",
    ).body
    assert body == (
        '<p><strong>Linux</strong></p>\n<pre><code class="language-sh">apt install x\n</code></pre>'
    )


def test_alerts_and_admonitions_shown_in_code_stay_as_written(tmp_path: Path) -> None:
    """A ``> [!IMPORTANT]`` or ``:::note`` line inside a code block is an example, kept verbatim."""
    body = render_one(
        tmp_path,
        "1. Write:\n\n   ```markdown\n   > [!IMPORTANT]\n   > Check first.\n   ```\n\n"
        "2. Or:\n\n       :::note Title\n       Text.\n       :::\n\n> [!TIP]\n> Real.\n",
    ).body
    assert "&gt; [!IMPORTANT]\n&gt; Check first." in body
    assert ":::note Title\nText.\n:::" in body
    assert "<strong>Tip:</strong>" in body


def test_a_shortcode_title_does_not_run_into_the_text_after_it(tmp_path: Path) -> None:
    """``{{< alert title="Careful" >}}Back up.`` keeps the title and the text apart."""
    body = render_one(
        tmp_path, '- {{< alert title="Careful" >}}Back up.{{< /alert >}}\n- Next.\n'
    ).body
    assert body == "<ul>\n<li><strong>Careful</strong>\nBack up.</li>\n<li>Next.</li>\n</ul>"


def test_a_comment_in_a_list_items_code_is_not_the_title(tmp_path: Path) -> None:
    """Without a front-matter title, ``# install`` in a fence inside a list item is no heading."""
    document = render_one(tmp_path, "1. Run:\n\n   ```sh\n   # install\n   ```\n\n# Setup\n")
    assert document.title == "Setup"


def test_a_cards_header_title_subtitle_and_footer_are_all_shown(tmp_path: Path) -> None:
    """Docsy shows every one of a card's four labels; each is published on its own line."""
    body = render_one(
        tmp_path,
        '{{< card header="John Adams" title="Second" subtitle="President: 1797-1801" '
        'footer="Massachusetts" >}}\nBorn 1735.\n{{< /card >}}\n',
    ).body
    assert body == (
        "<p><strong>John Adams</strong><br>\n<strong>Second</strong><br>\n"
        "President: 1797-1801<br>\nMassachusetts\nBorn 1735.</p>"
    )


def test_unusual_line_separators_do_not_shift_code_from_prose(tmp_path: Path) -> None:
    """A form feed or U+2028 in prose leaves the code block where cmark sees it."""
    body = render_one(
        tmp_path,
        "Intro\u2028still intro\x0c.\n\n```yaml\nname: ${{ github.ref }}\n```\n\n"
        "Version {{ site.version }} here.\n",
    ).body
    assert "name: ${{ github.ref }}" in body
    assert "site.version" not in body
