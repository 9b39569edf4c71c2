"""Storage format to clean HTML: every macro, link and repair, read through the connector."""

from __future__ import annotations

import re
from pathlib import Path

import hypothesis
import pytest
from bs4 import BeautifulSoup
from hypothesis import strategies as st

from syncd.connectors.base import Document
from syncd.connectors.confluence.links import LinkContext
from syncd.connectors.confluence.storage import StorageContext, StorageError, StorageRenderer
from syncd.connectors.confluence.storage_macros import render_macro
from tests.connectors.confluence_xml_builder import XmlExportBuilder
from tests.connectors.test_confluence import SITE, fetch_all, make_connector

STORAGE_TAG = re.compile(r"</?(?:ac|ri|at):|<!\[CDATA\[|\]\] ?>|ac:name|ri:")


def macro(name: str, body: str = "", /, **params: str) -> str:
    """A structured macro with parameters and a body element (given whole)."""
    parameters = "".join(
        f'<ac:parameter ac:name="{key.rstrip("_")}">{value}</ac:parameter>'
        for key, value in params.items()
    )
    opening = f'<ac:structured-macro ac:name="{name}" ac:schema-version="1">'
    return f"{opening}{parameters}{body}</ac:structured-macro>"


def rich(html: str) -> str:
    """A rich-text macro body."""
    return f"<ac:rich-text-body>{html}</ac:rich-text-body>"


def plain(text: str) -> str:
    """A plain-text macro body, in CDATA as Confluence writes it."""
    return f"<ac:plain-text-body><![CDATA[{text}]]></ac:plain-text-body>"


def page_link(title: str, space: str | None = None, body: str = "") -> str:
    """An ac:link to a page by title (and space key)."""
    key = f' ri:space-key="{space}"' if space else ""
    return f'<ac:link><ri:page ri:content-title="{title}"{key}/>{body}</ac:link>'


def convert(tmp_path: Path, body: str, **others: str) -> dict[str, Document]:
    """Publish a page with ``body`` (id 100, ENG) beside other pages (title -> body)."""
    export = XmlExportBuilder()
    export.space("1", "ENG", "Engineering")
    export.space("2", "OPS", "Operations")
    export.page("100", "Subject", body)
    for number, (title, other) in enumerate(others.items(), start=2):
        export.page(str(100 * number), title.replace("_", " "), other)
    export.page("900", "Ops page", "<p>Ops.</p>", space="2")
    export.user("ff80aa", "jdoe", "Jane Doe")
    export.user("ff80bb", "rroe")
    with make_connector(export.write_zip(tmp_path / "export.zip")) as connector:
        documents = fetch_all(connector)
    for ref_id, document in documents.items():
        assert not STORAGE_TAG.search(document.body), (ref_id, document.body)
        soup = BeautifulSoup(document.body, "html.parser")
        for tag in soup.find_all(href=True):
            assert str(tag["href"]).startswith(("https://", "http://", "mailto:")), tag
        for tag in soup.find_all(src=True):
            assert str(tag["src"]).startswith(("https://", "http://")), tag
    return documents


def body_of(tmp_path: Path, body: str, **others: str) -> str:
    """The converted body of the page, without its trail."""
    return convert(tmp_path, body, **others)["100"].body.split("\n", 1)[1]


def test_code_macros_keep_language_title_and_exact_text(tmp_path: Path) -> None:
    """Code keeps its language (also the unnamed parameter) and title; CDATA text is verbatim."""
    code = 'if (a < b && c) { s = "]]>"; } // &nbsp; stays literal'
    # Storage format splits a CDATA section around a literal "]]>".
    body = body_of(
        tmp_path,
        macro("code", plain(code.replace("]]>", "]]]]><![CDATA[>")), language="js", title="Example")
        + macro("code", plain("SELECT 1"), _="SQL")
        + macro("noformat", plain("[[raw]] {{x}}")),
    )
    assert "<p><strong>Example</strong></p>" in body
    assert (
        '<pre><code class="language-javascript">if (a &lt; b &amp;&amp; c) { s = "]]&gt;"; }'
        " // &amp;nbsp; stays literal</code></pre>"
    ) in body
    assert '<code class="language-sql">SELECT 1</code>' in body
    assert "<pre><code>[[raw]] {{x}}</code></pre>" in body


@pytest.mark.parametrize(
    ("name", "heading"),
    [("info", "Info: Heads up"), ("note", "Note: Heads up"), ("tip", "Tip: Heads up"),
     ("warning", "Warning: Heads up"), ("panel", "Heads up")],
)  # fmt: skip
def test_admonitions_become_titled_blockquotes(tmp_path: Path, name: str, heading: str) -> None:
    """info, note, tip, warning and panel become blockquotes headed by kind and title."""
    body = body_of(tmp_path, macro(name, rich("<p>Careful.</p>"), title="Heads up"))
    assert f"<blockquote><p><strong>{heading}</strong></p><p>Careful.</p></blockquote>" in body


def test_expand_is_open_status_is_text_layouts_unwrap(tmp_path: Path) -> None:
    """Expand shows its content, status its title, layouts only their cells' content."""
    layout = (
        '<ac:layout><ac:layout-section ac:type="two_equal"><ac:layout-cell><p>Left</p>'
        "</ac:layout-cell><ac:layout-cell><p>Right</p></ac:layout-cell></ac:layout-section>"
        "</ac:layout>"
    )
    body = body_of(
        tmp_path,
        macro("expand", rich("<p>Hidden detail.</p>"), title="More")
        + "<p>State: "
        + macro("status", colour="Green", title="DONE")
        + "</p>"
        + layout,
    )
    assert '<details open=""><summary>More</summary><p>Hidden detail.</p></details>' in body
    assert "<p>State: DONE</p>" in body
    assert "<p>Left</p><p>Right</p>" in body


def test_task_lists_emoticons_and_dropped_macros(tmp_path: Path) -> None:
    """Tasks get checkboxes; emoticons become text; TOC, placeholders and dynamic lists drop."""
    tasks = (
        "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>complete"
        "</ac:task-status><ac:task-body>Ship it</ac:task-body></ac:task><ac:task>"
        "<ac:task-id>2</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        '<ac:task-body>Tell <ac:link><ri:user ri:userkey="ff80aa"/></ac:link></ac:task-body>'
        "</ac:task></ac:task-list>"
    )
    body = body_of(
        tmp_path,
        macro("toc", maxLevel="3")
        + "<p>Before<ac:placeholder>Type here</ac:placeholder></p>"
        + tasks
        + '<p>Mood <ac:emoticon ac:name="smile"/> <ac:emoticon ac:name="blue-star"'
        ' ac:emoji-fallback=":star:"/></p>'
        + macro("children", depth="2")
        + macro("recently-updated")
        + macro("jira", key="OPS-12", server="Jira")
        + macro("jira", jqlQuery="project = OPS")
        + macro("mathinline", body="--uriencoded--a%5e2+b%5e2"),
    )
    assert '<li><input checked disabled type="checkbox"> Ship it</li>' in body
    assert '<li><input disabled type="checkbox"> Tell Jane Doe</li>' in body
    assert "Mood \U0001f642 :star:" in body
    assert "Type here" not in body and "maxLevel" not in body
    assert "OPS-12" in body and "project = OPS" not in body
    assert "<code>a^2+b^2</code>" in body


def test_page_links_resolve_by_space_and_title(tmp_path: Path) -> None:
    """ri:page links go to the target's URL by id, in this space or another; missing ones too."""
    body = body_of(
        tmp_path,
        "<p>"
        + page_link(
            "guide", body="<ac:plain-text-link-body><![CDATA[the guide]]></ac:plain-text-link-body>"
        )
        + " "
        + page_link("Ops page", space="OPS")
        + " "
        + page_link("Nowhere", space="HR")
        + ' <ac:link ac:anchor="Setup"><ri:page ri:content-title="Guide"/>'
        "<ac:link-body><em>setup</em></ac:link-body></ac:link>"
        + ' <ac:link ac:anchor="top"><ac:plain-text-link-body><![CDATA[top]]>'
        + "</ac:plain-text-link-body></ac:link>"
        + "</p>",
        Guide="<p>Guide.</p>",
    )
    assert f'<a href="{SITE}/pages/viewpage.action?pageId=200">the guide</a>' in body
    assert f'<a href="{SITE}/pages/viewpage.action?pageId=900">Ops page</a>' in body
    assert f'<a href="{SITE}/display/HR/Nowhere">Nowhere</a>' in body
    assert f'<a href="{SITE}/pages/viewpage.action?pageId=200#Setup"><em>setup</em></a>' in body
    assert f'<a href="{SITE}/pages/viewpage.action?pageId=100#top">top</a>' in body


def test_attachments_and_images_link_to_the_download_url(tmp_path: Path) -> None:
    """Attachments and images point at /download/attachments/{pageId}/{file name}."""
    body = body_of(
        tmp_path,
        '<p><ac:image ac:width="300" ac:alt="Diagram"><ri:attachment ri:filename="arch v2.png"/>'
        "</ac:image></p>"
        '<p><ac:image><ri:attachment ri:filename="logo.png"><ri:page ri:content-title="Guide"/>'
        "</ri:attachment></ac:image></p>"
        '<p><ac:image><ri:url ri:value="https://cdn.example.com/x.png"/></ac:image></p>'
        '<p><ac:link><ri:attachment ri:filename="spec.pdf"/></ac:link></p>'
        + macro("view-file", name='<ri:attachment ri:filename="deck.pptx"/>')
        + macro("widget", url='<ri:url ri:value="https://video.example.com/v/1"/>'),
        Guide="<p>Guide.</p>",
    )
    base = f"{SITE}/download/attachments"
    assert f'<img alt="Diagram" src="{base}/100/arch%20v2.png" width="300">' in body
    assert f'<img alt="logo.png" src="{base}/200/logo.png">' in body
    assert '<img alt="" src="https://cdn.example.com/x.png">' in body
    assert f'<a href="{base}/100/spec.pdf">spec.pdf</a>' in body
    assert f'<a href="{base}/100/deck.pptx">deck.pptx</a>' in body
    assert '<a href="https://video.example.com/v/1">' in body


def test_user_references_become_names(tmp_path: Path) -> None:
    """Mentions show the person's display name, else the username."""
    body = body_of(
        tmp_path,
        '<p><ac:link><ri:user ri:userkey="ff80aa"/></ac:link>, '
        '<ac:link><ri:user ri:userkey="ff80bb"/></ac:link> and '
        '<ac:link><ri:user ri:username="someone"/></ac:link></p>',
    )
    assert "<p>Jane Doe, rroe and someone</p>" in body


def test_include_and_excerpt_include_are_inlined(tmp_path: Path) -> None:
    """include inlines the target's body; excerpt-include its excerpt; hidden excerpts hide."""
    param = (
        '<ac:parameter ac:name=""><ac:link><ri:page ri:content-title="{}"/></ac:link>'
        "</ac:parameter>"
    )
    body = body_of(
        tmp_path,
        f'<ac:structured-macro ac:name="include">{param.format("Shared")}</ac:structured-macro>'
        f'<ac:structured-macro ac:name="excerpt-include">{param.format("Source")}'
        "</ac:structured-macro>",
        Shared='<p>Shared text with <ac:image><ri:attachment ri:filename="s.png"/></ac:image></p>',
        Source="<p>Not this.</p>" + macro("excerpt", rich("<p>Just this.</p>"), hidden="true"),
    )
    assert (
        f'<p>Shared text with <img alt="s.png" src="{SITE}/download/attachments/200/s.png"></p>'
        in body
    )
    assert "<p>Just this.</p>" in body and "Not this." not in body


def test_include_cycles_are_cut(tmp_path: Path) -> None:
    """Pages that include each other (or themselves) are included once, without looping."""

    def include(title: str) -> str:
        return (
            '<ac:structured-macro ac:name="include"><ac:parameter ac:name="">'
            f'<ac:link><ri:page ri:content-title="{title}"/></ac:link></ac:parameter>'
            "</ac:structured-macro>"
        )

    documents = convert(
        tmp_path,
        "<p>Subject.</p>" + include("A") + include("Subject"),
        A="<p>A.</p>" + include("B"),
        B="<p>B.</p>" + include("A") + include("Subject"),
    )
    body = documents["100"].body
    assert body.count("<p>A.</p>") == 1 and body.count("<p>B.</p>") == 1
    assert body.count("<p>Subject.</p>") == 1


def test_repairs_broken_cdata_entities_and_undeclared_prefixes(tmp_path: Path) -> None:
    """`]] >`, HTML entities XML lacks, unknown entities and Word's o:p all parse."""
    body = body_of(
        tmp_path,
        "<p>a&nbsp;b &mdash; c&hellip; &copy; &bogus; AT&T</p>"
        '<p class="MsoNormal">Word<o:p></o:p></p>'
        + '<p><ac:link><ri:page ri:content-title="Guide"/><ac:plain-text-link-body>'
        "<![CDATA[x < y]]></ac:plain-text-link-body></ac:link></p>",
        Guide="<p>G</p>",
    )
    # The builder, like Confluence, wrote that CDATA's end as "]] >" inside entities.xml.
    assert "<p>a\xa0b \u2014 c\u2026 \xa9 &amp;bogus; AT&amp;T</p>" in body
    assert "<p>Word</p>" in body
    assert ">x &lt; y</a>" in body


def test_unknown_macros_keep_their_body(tmp_path: Path) -> None:
    """An unknown macro shows its rich body, or its plain body as code, else nothing."""
    body = body_of(
        tmp_path,
        macro("fancy-box", rich("<p>Inside.</p>"))
        + macro("plantuml", plain("@startuml\nA -> B\n@enduml"))
        + macro("mystery"),
    )
    assert "<p>Inside.</p>" in body
    assert "A -&gt; B" in body
    assert "mystery" not in body


FRAGMENTS = [
    "<p>", "</p>", "text", "&nbsp;", "&bogus;", "&", "]] >", "<![CDATA[x", "]]>",
    '<ac:structured-macro ac:name="code">', '<ac:structured-macro ac:name="include">',
    "</ac:structured-macro>", '<ac:parameter ac:name="">', "</ac:parameter>",
    "<ac:plain-text-body>", "</ac:plain-text-body>", "<ac:rich-text-body>",
    "</ac:rich-text-body>", "<ac:link>", "</ac:link>", '<ri:page ri:content-title="Guide"/>',
    '<ri:attachment ri:filename="a b.png">', "</ri:attachment>", "<ac:image>", "</ac:image>",
    "<ac:task-list><ac:task>", "</ac:task></ac:task-list>", "<o:p>", "</o:p>", "<table><tr>",
    "<td>", "</td>", "</tr></table>", '<a href="/display/X">', "</a>", "\x02",
]  # fmt: skip


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(st.lists(st.sampled_from(FRAGMENTS), max_size=30))
# A CDATA section outside any macro is text: its storage markup is shown, escaped, as words.
@hypothesis.example(["<![CDATA[x", '<ac:structured-macro ac:name="code">', "]] >"])
def test_any_body_converts_or_fails_with_a_storage_error(parts: list[str]) -> None:
    """Whatever a body holds, conversion gives HTML or a StorageError, never another exception."""
    links = LinkContext(
        page_id="100", base_url=SITE, page_ids=frozenset(), page_url=lambda i: f"{SITE}/p/{i}"
    )
    ctx = StorageContext(
        page_id="100",
        space_key="ENG",
        base_url=SITE,
        page_url=links.page_url,
        download_url=links.download_url,
        find_page=lambda space, title: "200" if title == "Guide" else None,
        page_exists=lambda page_id: page_id in {"100", "200"},
        user_name=lambda key: None,
        load=lambda page_id: ("".join(parts), "ENG"),  # includes itself, via Guide
    )
    try:
        html = StorageRenderer(ctx, macros=render_macro).render_body("".join(parts))
    except StorageError:
        return
    assert not STORAGE_TAG.search("".join(re.findall(r"<[^>]*>", html)))  # in no tag
