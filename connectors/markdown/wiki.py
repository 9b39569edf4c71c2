"""The conventions of git-backed wikis (``options.wiki``): GitHub, GitLab, Gitea, Azure DevOps.

A wiki is a git repository of page files; the host decides what a file means. Per host:

pages
    Which files are pages. GitHub (Gollum) and GitLab take the Markdown extensions (``.md``,
    ``.markdown``, ``.mdown``, ``.mkd``, ``.mkdn``; their other markups are not Markdown and
    are left out), Gitea and Azure DevOps ``.md`` only. Never pages: GitHub's ``_Sidebar``,
    ``_Footer`` and ``_Header``; GitLab's ``_sidebar`` and ``templates/``; Gitea's
    ``_Sidebar`` and ``_Footer``; Azure's ``.order`` files and ``.attachments/`` (hidden
    files and folders are never pages anyway).

title
    The file name without its extension, ``-`` shown as a space. GitLab: a front-matter
    ``title`` first. Gitea: a name ending in ``.-`` keeps its hyphens (and loses the mark);
    names are query-escaped. Azure: ``-`` is a space and ``%2D`` a real hyphen (names are
    URI-encoded).

page URL
    As the host shows it, from the source's ``base_url`` (else its ``url``), the wiki's home
    such as ``https://github.com/acme/eng/wiki``: GitHub and Gitea ``{base}/{Name}`` (one
    flat namespace; folders do not show), GitLab ``{base}/{folder/name}``, Azure
    ``{base}?pagePath=/{Title}/{Sub title}``.

wiki link
    ``[[Page]]`` and ``[[Text|Page]]`` (GitHub, Gitea: text first; Gitea swaps them when the
    first part is clearly a URL), GitLab ``[[Text|slug]]`` too. Resolved to the page's URL:
    GitHub and Gitea match names ignoring case, spaces standing for hyphens, anywhere in
    the wiki; GitLab matches the slug from the wiki root, then from the page's folder. A link
    to a page that does not exist stays as its text. Azure has no wiki links. Markdown links
    to a page by its name (``[x](Other-Page)``, Azure's ``[x](/Parent/Child)``) get the page
    URL too. Code spans and fenced code are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import quote, unquote

Kind = Literal["github", "gitlab", "gitea", "azure"]
KINDS: tuple[Kind, ...] = ("github", "gitlab", "gitea", "azure")

_MARKDOWN = (".md", ".markdown", ".mdown", ".mkd", ".mkdn")
_SUFFIXES: dict[Kind, tuple[str, ...]] = {
    "github": _MARKDOWN,
    "gitlab": _MARKDOWN,
    "gitea": (".md",),
    "azure": (".md",),
}
_NOT_PAGES: dict[Kind, frozenset[str]] = {  # file names without extension, lower case
    "github": frozenset({"_sidebar", "_footer", "_header"}),
    "gitlab": frozenset({"_sidebar"}),
    "gitea": frozenset({"_sidebar", "_footer"}),
    "azure": frozenset(),
}
_NOT_PAGE_FOLDERS: dict[Kind, tuple[str, ...]] = {
    "github": (),
    "gitlab": ("templates/",),
    "gitea": (),
    "azure": (".attachments/",),
}
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# A code span (left alone) or a wiki link, whichever starts first.
_TOKEN = re.compile(
    r"(?P<code>(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`))|\[\[(?P<link>[^\[\]\n]+)\]\]"
)
_LOOKS_LIKE_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)", re.IGNORECASE)
_URL_SAFE = "-._~!$&'()*+,;=:@"


class Wiki:
    """One host's conventions for one wiki published at ``base_url``."""

    def __init__(self, kind: Kind, base_url: str) -> None:
        self.kind = kind
        self.base_url = base_url.rstrip("/")
        self._suffixes = _SUFFIXES[kind]
        self._pages: dict[str, str] = {}  # lookup key -> path
        self._paths: frozenset[str] = frozenset()

    # -- files -----------------------------------------------------------------------------

    def is_page(self, path: str) -> bool:
        """Whether the file at ``path`` is a page of this wiki."""
        if not path.lower().endswith(self._suffixes):
            return False
        if path.startswith(_NOT_PAGE_FOLDERS[self.kind]):
            return False
        return self.stem(path).lower() not in _NOT_PAGES[self.kind]

    def stem(self, path: str) -> str:
        """The file name of ``path`` without its extension."""
        name = path.rpartition("/")[2]
        for suffix in self._suffixes:
            if name.lower().endswith(suffix):
                return name[: -len(suffix)]
        return name

    def page_name(self, path: str) -> str:
        """The path without its extension: GitLab's slug, Azure's page path."""
        folder, _, _ = path.rpartition("/")
        return f"{folder}/{self.stem(path)}" if folder else self.stem(path)

    def set_pages(self, paths: Iterable[str]) -> None:
        """The pages that exist, for links (the listing's, in path order)."""
        self._paths = frozenset(paths)
        pages: dict[str, str] = {}
        for path in sorted(self._paths):
            pages.setdefault(self._key(self.page_name(path)), path)
            if self.kind in ("github", "gitea"):  # one flat namespace
                pages.setdefault(self._key(self.stem(path)), path)
        self._pages = pages

    def _key(self, name: str) -> str:
        if self.kind in ("github", "gitea"):
            return name.replace(" ", "-").lower()
        return name.replace(" ", "-")

    # -- titles and URLs -------------------------------------------------------------------

    def title(self, path: str, front_matter: Mapping[str, Any]) -> str:
        """The page title as the host shows it."""
        if self.kind == "gitlab":
            value = front_matter.get("title")
            if isinstance(value, (str, int, float)) and str(value).strip():
                return " ".join(str(value).split())
        return self._segment_title(self.stem(path))

    def _segment_title(self, name: str) -> str:
        if self.kind == "gitea":
            name = unquote(name)
            if name.endswith(".-"):
                return name[:-2]
            return name.replace("-", " ")
        if self.kind == "azure":
            return unquote(name.replace("-", " "))
        return name.replace("-", " ")

    def page_url(self, path: str) -> str:
        """The URL the host shows the page at."""
        if self.kind == "gitlab":
            return f"{self.base_url}/{quote(self.page_name(path), safe=_URL_SAFE + '/')}"
        if self.kind == "azure":
            segments = [self._segment_title(s) for s in self.page_name(path).split("/")]
            return f"{self.base_url}?pagePath={quote('/' + '/'.join(segments), safe='/')}"
        return f"{self.base_url}/{quote(self.stem(path), safe=_URL_SAFE)}"

    # -- links -----------------------------------------------------------------------------

    def find(self, target: str, from_path: str) -> str | None:
        """The path of the page a link names, or None when no such page exists."""
        target = target.strip()
        if self.kind in ("github", "gitea"):
            name = target.rpartition("/")[2] if "/" in target else target
            return self._pages.get(self._key(name.removesuffix(".md")))
        folder = from_path.rpartition("/")[0]
        name = target.removesuffix(".md")
        candidates = [name.lstrip("/")]
        if not name.startswith("/") and folder:
            candidates.append(f"{folder}/{name}")
        for candidate in candidates:
            found = self._pages.get(self._key(_normalize(candidate)))
            if found is not None:
                return found
        return None

    def link_url(self, value: str, from_path: str) -> str | None:
        """The page URL of a Markdown link's target naming a page of the wiki, else None."""
        if not value or "://" in value or value.startswith(("#", "mailto:", "//")):
            return None
        target, _, fragment = value.partition("#")
        target = unquote(target.partition("?")[0])
        if not target:
            return None
        path = self.find(target, from_path)
        if path is None:
            return None
        return self.page_url(path) + (f"#{fragment}" if fragment else "")

    def rewrite_links(self, body: str, from_path: str) -> str:
        """``body`` with its ``[[wiki links]]`` made Markdown links, or text when missing."""
        if self.kind == "azure" or "[[" not in body:
            return body
        out: list[str] = []
        fence: str | None = None
        for line in body.splitlines(keepends=True):
            marker = _FENCE.match(line)
            if fence is not None:
                if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                    fence = None
                out.append(line)
            elif marker:
                fence = marker.group(1)
                out.append(line)
            else:
                out.append(_TOKEN.sub(lambda m: self._replace(m, from_path), line))
        return "".join(out)

    def _replace(self, match: re.Match[str], from_path: str) -> str:
        if match.group("code") is not None:
            return match.group(0)
        text, page = self._parts(match.group("link"))
        if _LOOKS_LIKE_URL.match(page):
            return f"[{_escape(text)}](<{page}>)"
        page_name, _, fragment = page.partition("#")
        path = self.find(page_name, from_path)
        if path is None:
            return _escape(text)  # a page that does not exist: its text stays
        url = self.page_url(path) + (f"#{fragment.strip()}" if fragment.strip() else "")
        return f"[{_escape(text)}](<{url}>)"

    def _parts(self, inner: str) -> tuple[str, str]:
        """(text, page) of a wiki link's inside, in the host's order."""
        if "|" not in inner:
            return inner.strip(), inner.strip()
        first, _, second = (part.strip() for part in inner.partition("|"))
        if (
            self.kind == "gitea"
            and _LOOKS_LIKE_URL.match(first)
            and not _LOOKS_LIKE_URL.match(second)
        ):
            return second, first  # MediaWiki order, which Gitea accepts for URLs
        return first, second


def _normalize(name: str) -> str:
    return "/".join(part for part in name.split("/") if part and part != ".")


def _escape(text: str) -> str:
    return re.sub(r"([\[\]\\*_`<>])", r"\\\1", text)
