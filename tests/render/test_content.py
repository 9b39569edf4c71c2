"""Rendering documents into payloads: sanitizing, Markdown, and what the hash covers."""

from __future__ import annotations

import dataclasses

from syncd.connectors.base import Document
from syncd.render import content


@dataclasses.dataclass(frozen=True)
class Settings:
    """A source's page settings, as a configured source provides them."""

    ai_agent_availability: bool = True
    ai_copilot_availability: bool = True


def payload(body: str, **kw: object) -> content.Payload:
    doc = Document(title=str(kw.pop("title", "T")), body=body, url="https://x.example.com/a")
    flags = {"ai_agent_availability": True, "ai_copilot_availability": False, **kw}
    return content.render(doc, external_id="a", settings=Settings(**flags))  # type: ignore[arg-type]


def test_scripts_styles_and_handlers_never_reach_intercom() -> None:
    """Whatever a connector produced, the payload has no script, style or event handler."""
    html = payload(
        '<p onclick="x()">Hi<script>alert(1)</script></p><style>p{}</style>'
        '<a href="javascript:alert(1)">j</a><img src="https://x/i.png" onerror="y()">'
    ).html
    for bad in ("script", "style", "onclick", "onerror", "javascript:", "alert"):
        assert bad not in html
    assert "<p>Hi</p>" in html
    assert 'src="https://x/i.png"' in html


def test_markdown_bodies_render_with_code_languages_and_tables() -> None:
    """Markdown bodies become HTML with language classes, tables and task lists."""
    doc = Document(title="T", body="```go\nx\n```\n\n| a |\n|---|\n| b |\n", body_format="markdown")
    html = content.render(doc, external_id="a", settings=Settings()).html
    assert '<code class="language-go">' in html
    assert "<th>a</th>" in html and "<td>b</td>" in html


def test_hash_covers_what_is_sent_and_nothing_else() -> None:
    """Equal payloads hash equal; a change of title, body, URL or a flag changes the hash."""
    base = payload("<p>x</p>").digest()
    assert payload("<p>x</p>").digest() == base
    assert payload("<p>x</p>\n\n\n").digest() == base  # cosmetic whitespace churn
    assert payload("<p>y</p>").digest() != base
    assert payload("<p>x</p>", title="U").digest() != base
    assert payload("<p>x</p>", ai_copilot_availability=True).digest() != base


def test_converter_version_is_part_of_the_hash(monkeypatch: object) -> None:
    """A converter upgrade changes every hash, so every page is re-sent once."""
    import pytest

    before = payload("<p>x</p>").digest()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(content, "CONVERTER_VERSION", "999")
        assert payload("<p>x</p>").digest() != before


def test_blank_titles_fall_back_to_the_external_id() -> None:
    """A document with a blank title is published under its external id."""
    assert payload("<p>x</p>", title="  \n ").title == "a"


def test_html_to_text_is_readable() -> None:
    """The text form used in plans keeps headings, lists and links readable."""
    text = content.html_to_text(
        "<h2>Setup</h2><ul><li>one</li></ul><p><a href='https://x'>x</a></p>"
    )
    assert "## Setup" in text and "- one" in text and "[x](https://x)" in text


def test_markdown_rendering_does_not_leak_native_memory() -> None:
    """Rendering thousands of pages keeps the process's memory flat (cmark-gfm frees its trees)."""
    import os
    from pathlib import Path

    def resident_kib() -> int:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024

    page = "# Title\n\n" + "word " * 2000 + "\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    for _ in range(200):  # warm up allocator pools
        content.markdown_to_html(page)
    before = resident_kib()
    for _ in range(3000):
        content.markdown_to_html(page)
    grown = resident_kib() - before
    assert grown < 20_000, f"rendering 3,000 pages grew resident memory by {grown} KiB"


def test_the_request_body_is_the_payload_in_the_page_fields() -> None:
    """Every payload field is a page field; the body sends each one, bar an absent URL."""
    names = [field.name for field in content.PAGE_FIELDS]
    payload_fields = {field.name for field in dataclasses.fields(content.Payload)}
    assert payload_fields | {"locale", "source_id"} == set(names)
    body = payload("<p>x</p>").request_body(7)
    assert list(body) == names
    assert body["locale"] == "en" and body["source_id"] == 7 and body["external_id"] == "a"
    no_url = dataclasses.replace(payload("<p>x</p>"), url=None).request_body(7)
    assert "url" not in no_url and no_url["ai_copilot_availability"] is False
