"""From the HTML DokuWiki renders for a page (``getPageHTML``) to the article Fin should see.

What the renderer puts in that is wiki machinery, not article: section-edit markers (the
``<!-- EDIT{...} -->`` comments and ``sectionedit`` classes), links to pages that do not exist
(``wikilink2``, "red links"), the "Download Snippet" link of a ``<file>`` block (``do=export_code``,
useless outside the wiki), and, from some plugins or templates, edit buttons, forms and a table
of contents. Links are root-relative (``/dokuwiki/doku.php?id=ops:start``): they are resolved
against the wiki's root URL, never glued to it (that would double ``/dokuwiki``). Code blocks
(``<pre class="code bash">`` full of GeSHi highlighting spans) become ``<pre><code
class="language-bash">`` with the code's text, as every other source gives them.

The result is deterministic: the same rendering always gives the same string.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from bs4.element import Comment

_MACHINERY_CLASSES = frozenset(
    {"secedit", "editbutton_section", "editbutton_table", "toc", "dw__toc", "btn_secedit"}
)
_MACHINERY_TAGS = frozenset({"form", "script", "style", "link", "meta", "noscript", "button"})
_PLAIN_LANGUAGES = frozenset({"", "txt", "text", "plain", "file", "code"})
_HEADING = re.compile(r"<h([1-5])\b[^>]*>(.*?)</h\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def first_heading(rendered: str) -> str | None:
    """The text of the first ``<h1>``-``<h5>`` (DokuWiki's page title), entities decoded."""
    match = _HEADING.search(rendered)
    if match is None:
        return None
    text = " ".join(html.unescape(_TAG.sub("", match.group(2))).split())
    return text or None


def page_url(base_url: str, page: str, style: str) -> str:
    """A page's address on the wiki: ``query`` (``doku.php?id=``), ``path`` or ``rewrite``."""
    quoted = quote(page, safe=":")
    if style == "rewrite":
        return f"{base_url}{quoted}"
    if style == "path":
        return f"{base_url}doku.php/{quoted}"
    return f"{base_url}doku.php?id={quoted}"


def url_style_of(page_html: str, base_url: str, page: str) -> str:
    """Which URL style a page of the wiki uses for its own links (``query`` if it cannot tell).

    ``page_html`` is the wiki's full page for ``page`` (``doku.php?id=<page>``), whose
    template links back to the page (edit, index, breadcrumbs) in the wiki's configured style.
    """
    base_path = urlsplit(base_url).path
    quoted = re.escape(quote(page, safe=":"))
    checks = (
        ("path", rf"doku\.php/{quoted}\b"),
        ("query", rf"doku\.php\?id={quoted}\b"),
        ("rewrite", rf"href=\"(?:https?://[^/\"]+)?{re.escape(base_path)}{quoted}[?#\"]"),
    )
    for style, pattern in checks:
        if re.search(pattern, page_html):
            return style
    return "query"


def _is_machinery(tag: Tag) -> bool:
    if tag.name in _MACHINERY_TAGS or tag.get("id") == "dw__toc":
        return True
    classes = tag.get("class")
    return isinstance(classes, list) and not _MACHINERY_CLASSES.isdisjoint(classes)


def _code_block(pre: Tag, soup: BeautifulSoup) -> None:
    """``<pre class="code bash">`` with highlighting spans -> ``<pre><code class=...>``."""
    classes = [c for c in (pre.get("class") or []) if c not in {"code", "file"}]
    language = classes[0] if classes and classes[0] not in _PLAIN_LANGUAGES else ""
    code = soup.new_tag("code")
    if language:
        code["class"] = f"language-{language}"
    # GeSHi fills a blank line of code with one no-break space.
    lines = pre.get_text().split("\n")
    code.string = "\n".join("" if line == "\xa0" else line for line in lines)
    pre.clear()
    pre.append(code)
    del pre["class"]


def clean_page_html(rendered: str, *, base_url: str, page_url: str) -> str:
    """The article HTML of a rendered page, without wiki machinery, with absolute links.

    ``base_url`` is the wiki's root (root-relative links resolve against it); ``page_url``
    the page's own address (anchors like ``#fn__1`` resolve against it). Class attributes
    go (they style the wiki, not the article), except a code block's language.
    """
    soup = BeautifulSoup(rendered, "lxml")
    body = soup.body
    if body is None:
        return ""
    # One walk over the tree in document order (bs4's find_all per kind of element took
    # most of the cleaning time); what was removed or replaced is remembered by id.
    gone: set[int] = set()
    for node in list(body.descendants):
        if id(node) in gone:
            continue
        if isinstance(node, Comment):
            node.extract()  # the section-edit markers
            continue
        if not isinstance(node, Tag):
            continue
        machinery = _is_machinery(node)
        if machinery or node.name == "pre":
            gone.update(id(child) for child in node.descendants)
            if machinery:
                node.decompose()
            else:
                _code_block(node, soup)
            continue
        _tidy(node, base_url, page_url)
    return "".join(str(child) for child in body.children).strip()


def _tidy(tag: Tag, base_url: str, page_url: str) -> None:
    """Links and images made absolute, links to nowhere unwrapped, classes dropped."""
    if tag.name == "a":
        href = tag.get("href")
        classes = tag.get_attribute_list("class")
        if not isinstance(href, str) or not href.strip() or "wikilink2" in classes:
            # A link to a page that does not exist (or to nowhere) helps no reader; an image
            # whose media is missing keeps its picture.
            tag.unwrap()
            return
        if "do=export_code" in href:
            tag.unwrap()  # the file name stays; the download lives inside the wiki only
            return
        href = href.strip()
        tag["href"] = urljoin(page_url if href.startswith("#") else base_url, href)
    elif tag.name == "img":
        src = tag.get("src")
        if isinstance(src, str):
            tag["src"] = urljoin(base_url, src.strip())
    tag.attrs.pop("class", None)
