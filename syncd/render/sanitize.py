"""The HTML allowlist every page passes through before it reaches Intercom.

What a knowledge-base article needs (structure, tables, code with its language, links and
images) and nothing that runs or restyles: no scripts, styles, event handlers, forms or
``javascript:`` URLs. Connectors that clean HTML themselves use it, and the engine applies it
once more to whatever any connector produced, except what is still exactly this module's own
output (:class:`SanitizedHtml`).

HTML nested deeper than :data:`MAX_NESTING` elements is refused before the sanitizer sees it
(:class:`NestingTooDeep`): html5ever's tree building is quadratic in the depth, and it runs
in native code holding the GIL, where a stop cannot interrupt it (100,000 nested ``<div>``
took 12 CPU minutes). No page written by hand nests a tenth as deep.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from html import unescape
from itertools import accumulate

import nh3

from syncd.connectors.base import DocumentTooLarge

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "input", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "samp", "section", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "u", "ul",
})  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "pre": {"class"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "input": {"type", "checked", "disabled"},
    "ol": {"start"},
    "details": {"open"},
    "*": {"id"},
}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_BLANK_RUNS = re.compile(r"\n{3,}")
# Code keeps every blank line it has; blank runs are collapsed only between its blocks.
_PRE_BLOCKS = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL)

#: The deepest element nesting a page may have (see the module docstring).
MAX_NESTING = 128
# Elements that never hold others, and those whose start tag closes an open one of their
# kind (a run of <p> or <li> nests nothing), so neither deepens the tree a parser builds.
_FLAT = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rt", "rp",
})  # fmt: skip
# On the lower-cased HTML: a tag that closes itself (<x ... />), then each tag's name, with
# the slash of an end tag. Possessive, so that a tag is read once, without backtracking.
_SELF_CLOSING = re.compile(r"<[a-z][^>]*+(?<=/)>")
_TAG_NAME = re.compile(r"<(/?[a-z][a-z0-9:-]*+)")


class _Steps(dict[str, int]):
    """How a tag name moves the depth: +1 for a start tag, -1 for an end tag, 0 for a flat one.

    Filled as names are met, so that the lookup of a known name stays in native code (a page
    names a few dozen kinds of element); a page of made-up names does not grow it for long.
    """

    def __missing__(self, name: str) -> int:
        end = name.startswith("/")
        step = 0 if name.removeprefix("/") in _FLAT else (-1 if end else 1)
        if len(self) < 4096:
            self[name] = step
        return step


_STEPS = _Steps()


class NestingTooDeep(DocumentTooLarge):
    """A page's HTML nests elements deeper than :data:`MAX_NESTING`."""


def nesting_depth(html: str, limit: int = MAX_NESTING) -> int:
    """How deep the elements of ``html`` nest, counted up to ``limit + 1`` and no further.

    Exact for well-formed HTML. With stray end tags the count can only be higher than a
    parser's: it is the deepest running sum of the steps less the lowest one below zero.
    """
    if html.count("<") <= limit:
        return html.count("<")  # an upper bound, and the common case: a short page
    # Native-code passes (regular expressions, map, accumulate): a loop in Python over every
    # tag cost more than the sanitizer itself on a 10 KB page.
    names = _TAG_NAME.findall(_SELF_CLOSING.sub("", html.lower()))
    if not names:
        return 0
    depths = list(accumulate(map(_STEPS.__getitem__, names)))
    return min(max(depths) - min(0, *depths), limit + 1)


def check_nesting(html: str, what: str = "the page's HTML") -> None:
    """NestingTooDeep when ``html`` nests deeper than :data:`MAX_NESTING`."""
    if nesting_depth(html) > MAX_NESTING:
        raise NestingTooDeep(
            f"{what} nests elements more than {MAX_NESTING} levels deep; no page needs"
            " that, and sanitizing it would take minutes: flatten it"
        )


class SanitizedHtml(str):
    """HTML as :func:`clean_html` returned it, already within the allowlist.

    Connectors that clean their HTML (with their own attribute filter) hand the engine a
    SanitizedHtml, and the engine's own pass returns it as it is instead of parsing it twice.
    Any change to it (joining, slicing, replacing) gives a plain ``str``, which is sanitized
    again: only the sanitizer's own output is ever trusted.
    """

    __slots__ = ()


AttributeFilter = Callable[[str, str, str], str | None]


class _Filters(threading.local):
    """The attribute filter of the clean_html call running on this thread, if any."""

    current: AttributeFilter | None = None


_filters = _Filters()


def _current_filter(element: str, attribute: str, value: str) -> str | None:
    current = _filters.current
    return value if current is None else current(element, attribute, value)


def _cleaner(attribute_filter: AttributeFilter | None) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style", "noscript", "template"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel=None,
    )


# Built once: nh3.clean converts the whole allowlist for every call, which took more than half
# of its time on a typical page (58 -> 25 us). A filtered call goes through one shared cleaner
# whose callback looks up the caller's filter; nh3 calls it back on the calling thread.
_PLAIN = _cleaner(None)
_FILTERED = _cleaner(_current_filter)
_NO_TAGS = nh3.Cleaner(tags=set(), attributes={})


def clean_html(html: str, *, attribute_filter: AttributeFilter | None = None) -> SanitizedHtml:
    """Sanitize ``html`` to the allowlist; ``attribute_filter`` may rewrite or drop values.

    NestingTooDeep when it nests deeper than :data:`MAX_NESTING`. A :class:`SanitizedHtml`
    without a filter is returned as it is: cleaning is idempotent.
    """
    if type(html) is SanitizedHtml and attribute_filter is None:
        return html
    check_nesting(html)
    if attribute_filter is None:
        cleaned = _PLAIN.clean(html)
    else:
        outer, _filters.current = _filters.current, attribute_filter
        try:
            cleaned = _FILTERED.clean(html)
        finally:
            _filters.current = outer
    if "\n\n\n" in cleaned:
        parts = _PRE_BLOCKS.split(cleaned)
        # split() puts the <pre> blocks it keeps at the odd positions.
        parts[::2] = [_BLANK_RUNS.sub("\n\n", part) for part in parts[::2]]
        cleaned = "".join(parts)
    return SanitizedHtml(cleaned.strip())


def html_text(html: str) -> str:
    """The text of an HTML fragment as a reader sees it: tags dropped, entities decoded,
    script and style content left out, whitespace runs collapsed to one space."""
    return " ".join(unescape(_NO_TAGS.clean(html)).split())
