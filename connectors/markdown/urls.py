"""Paths and URLs of a Markdown tree: file patterns, page URLs and link resolution.

path
    A file's location relative to the tree root, with POSIX separators (``guide/setup.md``).
    This is the Markdown connector's ref id.

page path
    A page's path without its extension, where ``index``, ``_index`` and ``README`` stand for
    their folder: ``guide/setup.md`` -> ``guide/setup``, ``guide/_index.md`` -> ``guide``,
    ``README.md`` -> the empty page path (the site root).

slug
    Where the page is published, relative to the base URL. From front matter: ``url`` (Hugo)
    or ``permalink`` (Jekyll) are site paths from the root; ``slug`` is taken from the root
    when it starts with ``/`` and from the file's folder otherwise (Docusaurus and Hugo agree
    on this). ``..`` cannot climb above the root: it stops there, as it does in a browser.
    Without any of these keys the slug is the page path.

page URL
    ``{base_url}/{slug}/``; no trailing slash when the slug names a file (``baz.html``), and
    ``{base_url}/`` for the root page. A ``url_template`` replaces this rule; its
    placeholders are listed in :data:`TEMPLATE_FIELDS`.

leaf bundle
    In a Hugo tree, a folder with an ``index.md`` and no ``_index.md``: ``index.md`` is its
    page, every other file inside it, at any depth, a resource of that page (see
    :func:`bundle_resource`). A tree is Hugo's from the first folder, on the way down from
    the root, that holds ``_index.md`` or a ``hugo.toml``/``hugo.yaml``/``hugo.json``;
    Docusaurus, which has neither, publishes the siblings of a category's ``index.md``.

A link resolves relative to the folder of the file that holds it, the way GitHub and
Docusaurus resolve them: to a Markdown file -> that page's URL (keeping ``#anchor``); to a
folder with an index page -> that page's URL; to any other file -> the file under the base URL.
A link that would leave the tree (``../../x``, also when hidden as ``%2e%2e%2f``) resolves to
nothing, so its text stays and its target is dropped. Root-relative links (``/about/``) are
site links and resolve against the origin of the base URL, as a browser would; one that names
a Markdown file (``/guide/setup.md``) is taken from the tree root instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

MARKDOWN_SUFFIXES = (".md", ".markdown")
INDEX_STEMS = frozenset({"index", "_index", "readme"})
TEMPLATE_FIELDS = {
    "base_url": "the base URL without a trailing slash",
    "slug": "the page's slug (see above), percent-encoded, no leading or trailing slash",
    "path": "the page path (file path without extension, index files as their folder)",
    "dir": "the folder of the file, empty at the root",
    "name": "the file name without its extension",
}
BRANCH_INDEXES = frozenset({"_index.md", "_index.markdown"})
LEAF_INDEXES = frozenset({"index.md", "index.markdown"})
HUGO_MARKS = BRANCH_INDEXES | {"hugo.toml", "hugo.yaml", "hugo.json"}
_URL_SAFE = "-._~!$&'()*+,;=:@"
_EXTRA_SLASHES = re.compile(r"(?<!:)/{2,}")
_WEB_URL = urlsplit("https://host")  # stands for the parts of any absolute web URL


class Globs:
    """Compiled ``include`` or ``exclude`` patterns (``**`` spans folders, ``*`` does not).

    A pattern ``**/*<suffix>`` (no wildcard in the suffix, the default ``**/*.md``) holds for
    exactly the paths whose last segment ends with the suffix, so it is tested as such: a
    listing asks this for every file, and a string test is several times cheaper than the
    equivalent regex. Every other pattern joins one combined regex.
    """

    __slots__ = ("regex", "suffixes")

    def __init__(self, patterns: Iterable[str]) -> None:
        suffixes: list[str] = []
        others: list[str] = []
        for pattern in patterns:
            tail = pattern.removeprefix("**/*")
            if tail != pattern and not any(char in tail for char in "*?[/"):
                suffixes.append(tail)
            else:
                others.append(_glob_to_regex(pattern))
        self.suffixes = tuple(suffixes)
        self.regex = (
            re.compile("|".join(f"(?:{part})" for part in others), re.DOTALL) if others else None
        )

    def __bool__(self) -> bool:
        return bool(self.suffixes) or self.regex is not None

    def match(self, path: str, name: str | None = None) -> bool:
        """Whether a pattern matches ``path``; ``name``, its last segment, saves a split."""
        if self.suffixes:
            if name is None:
                name = path.rpartition("/")[2]
            if name.endswith(self.suffixes):
                return True
        return self.regex is not None and self.regex.match(path) is not None


def _glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out) + r"\Z"


def bundle_state(names: Collection[str], hugo: bool) -> tuple[bool, bool]:
    """For a folder by its lower-cased entry names: (Hugo's from here down, a leaf bundle).

    ``hugo`` says whether a folder above it already made the tree Hugo's.
    """
    hugo = hugo or not HUGO_MARKS.isdisjoint(names)
    return hugo, hugo and not LEAF_INDEXES.isdisjoint(names) and BRANCH_INDEXES.isdisjoint(names)


def bundle_resource(path: str, names_of: Callable[[str], Collection[str]]) -> bool:
    """Whether the file at ``path`` is a resource of a leaf bundle, not a page.

    ``names_of(folder)`` gives the lower-cased entry names of a folder of the tree ("" is the
    root); it is asked for each folder from the root down to the file's.
    """
    parts = path.split("/")
    hugo = False
    for depth in range(len(parts)):
        hugo, bundle = bundle_state(names_of("/".join(parts[:depth])), hugo)
        if bundle and (depth < len(parts) - 1 or parts[-1].lower() not in LEAF_INDEXES):
            return True
    return False


def bundle_resources(paths: Collection[str]) -> set[str]:
    """The paths of a whole tree's file list that are leaf-bundle resources."""
    names: dict[str, set[str]] = {}
    for path in paths:
        folder, _, name = path.rpartition("/")
        names.setdefault(folder, set()).add(name.lower())
    if HUGO_MARKS.isdisjoint(set().union(*names.values())):
        return set()  # not a Hugo tree: the common case, answered without a walk
    empty: set[str] = set()
    return {path for path in paths if bundle_resource(path, lambda f: names.get(f, empty))}


def is_markdown(path: str) -> bool:
    """Whether ``path`` names a Markdown file (by its extension)."""
    return path.lower().endswith(MARKDOWN_SUFFIXES)


def split_name(path: str) -> tuple[str, str]:
    """The folder and the extension-less file name of ``path``."""
    folder, _, name = path.rpartition("/")
    stem = name
    for suffix in MARKDOWN_SUFFIXES:
        if name.lower().endswith(suffix):
            stem = name[: -len(suffix)]
            break
    return folder, stem


def page_path(path: str) -> str:
    """The page path of a Markdown file: no extension, index files stand for their folder."""
    folder, stem = split_name(path)
    if stem.lower() in INDEX_STEMS:
        return folder
    return f"{folder}/{stem}" if folder else stem


def climb(segments: Iterable[str], start: Iterable[str] = (), *, clamp: bool) -> list[str] | None:
    """Walk ``segments`` from the folder ``start``; None if ``..`` leaves the root unclamped."""
    out = list(start)
    for segment in segments:
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            elif not clamp:
                return None
            continue
        out.append(segment)
    return out


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def _encode(segments: Iterable[str]) -> str:
    return "/".join(quote(segment, safe=_URL_SAFE) for segment in segments)


class SiteUrls:
    """Builds page URLs and resolves links for one tree published at ``base_url``."""

    def __init__(self, base_url: str, template: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.scheme = parts.scheme
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.template = template

    def slug(self, path: str, front_matter: Mapping[str, Any]) -> list[str]:
        """The slug of the page at ``path`` as URL segments (not yet encoded)."""
        for key in ("url", "permalink"):
            value = front_matter.get(key)
            if isinstance(value, str) and value.strip():
                site_path = urlsplit(value.strip()).path
                return climb(site_path.split("/"), clamp=True) or []
        value = front_matter.get("slug")
        if isinstance(value, str) and value.strip():
            value = value.strip()
            folder, _ = split_name(path)
            start = [] if value.startswith("/") else _segments(folder)
            return climb(value.split("/"), start, clamp=True) or []
        return _segments(page_path(path))

    def page_url(self, path: str, front_matter: Mapping[str, Any]) -> str:
        """The public URL of the page at ``path``."""
        slug = self.slug(path, front_matter)
        if self.template is None:
            if not slug:
                return self.base_url + "/"
            trailing = "" if "." in slug[-1] else "/"
            return f"{self.base_url}/{_encode(slug)}{trailing}"
        folder, stem = split_name(path)
        url = self.template.format(
            base_url=self.base_url,
            slug=_encode(slug),
            path=_encode(_segments(page_path(path))),
            dir=_encode(_segments(folder)),
            name=quote(stem, safe=_URL_SAFE),
        )
        return _EXTRA_SLASHES.sub("/", url)

    def file_url(self, segments: list[str], *, trailing_slash: bool = False) -> str:
        """The URL of a non-page file (an image, a download) or folder of the tree."""
        tail = "/" if trailing_slash and segments else ""
        return f"{self.base_url}/{_encode(segments)}{tail}"

    def resolve(
        self,
        value: str,
        *,
        from_path: str,
        page_url: str,
        page_of: Callable[[str], str | None],
    ) -> str | None:
        """The absolute URL a link or image source in ``from_path`` points to, or None.

        ``page_of(path)`` gives the page URL of a Markdown file or a folder of the tree, or
        None when the path is neither. Absolute URLs come back unchanged (the sanitizer has
        already vetted their scheme).
        """
        value = value.strip()
        # Most links of a page are web URLs, absolute already: what urlsplit would say of
        # them is known. Brackets and non-ASCII hosts are left to it: it refuses a malformed
        # IPv6 host, and a host that NFKC normalization would change.
        web = (
            value.startswith(("https://", "http://"))
            and value.isascii()
            and "[" not in value
            and "]" not in value
        )
        parts = _WEB_URL if web else urlsplit(value)
        if not value or parts.scheme or parts.netloc:
            # Absolute already; a scheme-relative //host/x takes the site's scheme.
            return f"{self.scheme}:{value}" if value.startswith("//") else value or None
        # Decode once, as the web server would, so that %2e%2e%2f is seen as ../ here.
        raw_path = unquote(parts.path).replace("\\", "/")
        query = f"?{parts.query}" if parts.query else ""
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        if not raw_path:
            return page_url.split("#", 1)[0] + query + fragment
        if raw_path.startswith("/") and not is_markdown(raw_path):
            segments = climb(raw_path.split("/"), clamp=True) or []
            tail = "/" if raw_path.endswith("/") and segments else ""
            return f"{self.origin}/{_encode(segments)}{tail}{query}{fragment}"
        start = [] if raw_path.startswith("/") else _segments(split_name(from_path)[0])
        resolved = climb(raw_path.split("/"), start, clamp=False)
        if resolved is None:
            return None  # it leaves the tree
        page = page_of("/".join(resolved))
        if page is not None:
            return page + fragment
        return self.file_url(resolved, trailing_slash=raw_path.endswith("/")) + query + fragment
