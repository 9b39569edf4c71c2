"""The shared HTML allowlist: what it keeps and drops, and each caller's attribute filter."""

from __future__ import annotations

import random
import re
import threading

import pytest

from syncd.render.sanitize import (
    _FLAT,
    MAX_NESTING,
    NestingTooDeep,
    SanitizedHtml,
    clean_html,
    html_text,
    nesting_depth,
)

_PAGE = (
    '<p onclick="x()">Hi <a href="javascript:alert(1)">bad</a> <a href="/ok" rel="x">ok</a>'
    '<script>alert(1)</script><img src="a.png" style="x"></p>\n\n\n\n<pre class="p">x</pre>'
)


def test_the_allowlist_keeps_structure_and_drops_what_runs() -> None:
    """Scripts, handlers, styles and javascript: URLs go; text, links and images stay."""
    assert clean_html(_PAGE) == (
        '<p>Hi <a>bad</a> <a href="/ok">ok</a><img src="a.png"></p>\n\n<pre class="p">x</pre>'
    )


def test_a_filter_rewrites_or_drops_values_and_applies_to_its_call_only() -> None:
    """The filter sees every kept attribute; None drops it; the next call runs unfiltered."""
    seen: list[tuple[str, str, str]] = []

    def only_links(element: str, attribute: str, value: str) -> str | None:
        seen.append((element, attribute, value))
        return "https://x.org" + value if attribute == "href" else None

    html = clean_html(_PAGE, attribute_filter=only_links)
    assert html == '<p>Hi <a>bad</a> <a href="https://x.org/ok">ok</a><img></p>\n\n<pre>x</pre>'
    assert ("img", "src", "a.png") in seen
    assert clean_html(_PAGE).count('src="a.png"') == 1


def test_concurrent_callers_each_get_their_own_filter() -> None:
    """Threads cleaning at once never see another thread's filter."""
    results: dict[int, set[str]] = {}

    def work(number: int) -> None:
        def mark(element: str, attribute: str, value: str) -> str:
            return f"{value}?t={number}"

        found: set[str] = set()
        for _ in range(300):
            found.add(clean_html('<a href="/p">p</a>', attribute_filter=mark))
        results[number] = found

    threads = [threading.Thread(target=work, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {number: {f'<a href="/p?t={number}">p</a>'} for number in range(4)}


def test_html_text_is_what_a_reader_sees() -> None:
    """Tags go, entities decode, scripts and comments vanish, whitespace runs collapse."""
    assert html_text('<span class="mw-page-title-main">Main  Page</span>') == "Main Page"
    assert html_text("A &amp; B <i>x</i>&lt;y&gt;<script>no()</script><!-- c -->\n z") == (
        "A & B x<y> z"
    )
    assert html_text("") == ""


def test_blank_lines_in_code_are_kept_while_runs_between_blocks_collapse() -> None:
    """Three blank lines inside ``<pre>`` stay as written; outside, runs shrink to one."""
    html = "<p>a</p>\n\n\n\n<pre><code>x = 1\n\n\n\ny = 2\n</code></pre>\n\n\n<p>b</p>"
    assert clean_html(html) == (
        "<p>a</p>\n\n<pre><code>x = 1\n\n\n\ny = 2\n</code></pre>\n\n<p>b</p>"
    )


def test_nesting_depth_counts_elements_that_hold_others() -> None:
    """Depth counts nested containers; void elements and runs of <p>, <li>, <td> add none."""
    assert nesting_depth("<div><ul><li><p>a<br>b<p>c</ul></div>" * 100) == 2
    assert nesting_depth("<p>x" * 1_000 + "<li>y" * 1_000) == 0
    assert nesting_depth("<blockquote>" * 10_000, limit=50) == 51  # stops counting past it


def _walked_depth(html: str) -> int:
    """The depth by a plain walk over the tags: the reference the native count is held to."""
    depth = deepest = 0
    for closing, name, self_closing in re.findall(r"<(/?)([A-Za-z][\w:-]*)[^>]*?(/?)>", html):
        if self_closing or name.lower() in _FLAT:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def test_nesting_depth_equals_a_walk_over_the_tags_and_is_never_lower() -> None:
    """Well-formed HTML: the same depth as a walk over its tags. With stray end tags and
    unclosed start tags the count may be higher, never lower."""
    rng = random.Random(5)
    names = ["div", "SPAN", "ul", "li", "p", "a", "td", "x:y", "section", "img", "br/"]

    def tree(depth: int) -> str:
        if depth > 150 or rng.random() < 0.03:
            return "text (with <br> and a/b>c)"
        name = rng.choice(names[:3] + names[5:6] + names[8:9])
        inner = "".join(tree(depth + 1) for _ in range(rng.randint(1, 2) if depth < 4 else 1))
        return f'<{name} class="c">{inner}<p>x<img src="i"/></{name}>'

    for _ in range(200):
        page = tree(0) * 2
        expected = min(_walked_depth(page), MAX_NESTING + 1)
        if page.count("<") > MAX_NESTING:
            assert nesting_depth(page) == expected
        else:  # a short page is bounded by its number of tags, without counting
            assert nesting_depth(page) >= expected
    for _ in range(500):
        soup = "".join(
            f"<{rng.choice(names)}>" if rng.random() < 0.6 else f"</{rng.choice(names)}>"
            for _ in range(rng.randint(130, 400))
        )
        assert nesting_depth(soup) >= min(_walked_depth(soup), MAX_NESTING + 1)


def test_html_nested_too_deep_is_refused_before_sanitizing() -> None:
    """100,000 nested <div> fail at once, as a page too large, instead of minutes in nh3."""
    with pytest.raises(NestingTooDeep, match=f"more than {MAX_NESTING} levels deep"):
        clean_html("<div>" * 100_000 + "x")
    assert clean_html("<div>" * MAX_NESTING + "x" + "</div>" * MAX_NESTING).count("<div>") == (
        MAX_NESTING
    )


def test_the_sanitizers_own_output_is_not_parsed_again_but_any_change_to_it_is() -> None:
    page = '<p onclick="x()">Hi <a href="https://example.com/a">there</a></p>'
    filtered = clean_html(page, attribute_filter=lambda _e, _a, v: v.replace("/a", "/b"))
    assert filtered == '<p>Hi <a href="https://example.com/b">there</a></p>'
    assert isinstance(filtered, SanitizedHtml)
    assert clean_html(filtered) is filtered  # the engine's second pass
    edited = filtered + '<script>alert(1)</script><img src="javascript:x()">'
    assert type(edited) is str
    assert clean_html(edited) == filtered + "<img>"
    # A filter is applied even to sanitized HTML: it may drop what the first pass kept.
    dropped = clean_html(filtered, attribute_filter=lambda _e, a, v: None if a == "href" else v)
    assert dropped == "<p>Hi <a>there</a></p>"
