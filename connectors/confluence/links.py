"""Links and images of an exported page, made absolute or removed.

An export links relatively, and its targets are files of the export, not URLs anyone can open.
Each ``href`` and ``src`` in a body is resolved to one of:

page link       ``Other-Page_123.html`` or ``123.html`` (``#anchor`` kept) -> that page's URL,
                when page 123 is in the export; otherwise the link is kept as plain text
attachment      ``attachments/<pageId>/<attachmentId>.<ext>`` -> ``{base_url}/download/
                attachments/{pageId}/{original name}``; the original name is on the element
                (``data-linked-resource-default-alias``), in the page's Attachments list, or
                the link's own text
server link     ``/download/attachments/...`` (the view-file macro) -> the same download URL;
                other server-relative paths (``/display/...``) -> ``{base_url}`` + path
internal        thumbnails, document conversion, REST, static resources and UI icons: the
                server's plumbing, never published (images dropped, links unwrapped); so
                are the server's own screens (``*.action`` other than ``viewpage.action``:
                ``diffpagesbyversion.action``, the recently-updated ``changes.action``),
                plugins, and people's profiles (``/display/~user``, ``/people/...``), on the
                site or the exporting server; history and profile screens of any host too
user mention    ``a.confluence-userlink`` / ``a.user-mention`` -> the person's name, no link
                (the user name when it shows only a profile picture)
external        ``http(s)``, ``mailto:`` and ``tel:`` kept; ``#anchor`` -> the page's URL

Afterwards every remaining ``href`` and ``src`` is absolute. Nothing here is ever fetched.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from urllib.parse import quote, unquote, urlsplit

from syncd.connectors.confluence.archive import page_id_from_name

# Paths (relative to the site or the export) that are the server's plumbing, not content.
_INTERNAL = re.compile(
    r"^/?(?:rest/|download/(?:resources|thumbnails|temp)/|s/|images/|styles/"
    r"|attachments/thumbnails/|plugins/|display/~|~|users/|people/|(?:[\w-]+/)?(?!viewpage\.)"
    r"[\w-]+\.action)"
)
# Screens of any Confluence: a page's history and diffs, activity feeds, people's profiles.
_SERVER_SCREENS = re.compile(
    r"/(?:display/~|pages/(?:diffpagesbyversion|viewpreviousversions|viewinfo)\.action"
    r"|plugins/recently-updated/|users/viewuserprofile\.action)"
)
_ATTACHMENT = re.compile(r"^/?(?:download/)?attachments/(\d+)/([^/]+)$")
_KEPT_SCHEMES = {"http", "https", "mailto", "tel"}
# Pages link to the same pages and files again and again: each URL is split once.
_split = functools.lru_cache(maxsize=4096)(urlsplit)


@dataclasses.dataclass(frozen=True, slots=True)
class LinkContext:
    """What resolving the links of one page needs to know."""

    page_id: str
    base_url: str
    page_ids: frozenset[str]
    page_url: Callable[[str], str]
    attachment_names: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def download_url(self, container_id: str, file_name: str) -> str:
        """The site URL of an attachment by its page and original file name."""
        return f"{self.base_url}/download/attachments/{container_id}/{quote(file_name, safe='')}"


#: An element's attribute by name (``_Element.get`` of lxml): the links of exported pages and
#: of converted storage bodies resolve by the same rules, applied by ``tidy.clean_body``.
Attribute = Callable[[str], object]


def _alias(attribute: Attribute) -> str | None:
    alias = attribute("data-linked-resource-default-alias")
    return str(alias) if alias else None


def resolve(  # noqa: PLR0911 - one exit per kind of link, as in the table above
    url: str, attribute: Attribute, ctx: LinkContext, label: Callable[[], str] | None = None
) -> str | None:
    """The absolute URL an ``href``/``src`` of the export stands for, or None to remove it.

    ``attribute`` reads the element's attributes; ``label`` gives a link's text (None for an
    image), the file name of last resort for an attachment.
    """
    url = url.strip()
    if not url:
        return None
    if url.startswith("#"):
        return f"{ctx.page_url(ctx.page_id)}{url}"
    if url.startswith("//"):
        url = f"https:{url}"
    parts = _split(url)
    if parts.scheme:
        return _absolute(url, attribute, ctx)
    path = unquote(parts.path).removeprefix("./")
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    attachment = _ATTACHMENT.match(path)
    if attachment:
        return _attachment(path, attachment[1], attachment[2], ctx, attribute, label)
    if _INTERNAL.match(path):
        return None
    if path.startswith("/"):
        query = f"?{parts.query}" if parts.query else ""
        return f"{ctx.base_url}{quote(path, safe='/%:@!$&()*+,;=~')}{query}{fragment}"
    page_id = page_id_from_name(path) if "/" not in path else None
    if page_id is not None and page_id in ctx.page_ids:
        return f"{ctx.page_url(page_id)}{fragment}"
    return None


def _absolute(url: str, attribute: Attribute, ctx: LinkContext) -> str | None:
    """An absolute URL as it is, unless its scheme is unsafe or it is the server's plumbing."""
    server = str(attribute("data-base-url") or "")
    return _checked(url, ctx.base_url, urlsplit(server).netloc if server else "")


@functools.lru_cache(maxsize=4096)  # and checked once
def _checked(url: str, base_url: str, server: str) -> str | None:
    parts = _split(url)
    if parts.scheme.lower() not in _KEPT_SCHEMES:
        return None
    if _SERVER_SCREENS.search(parts.path):
        return None
    site = _split(base_url)
    if parts.netloc in {site.netloc, server}:
        # A site under a context path (https://host/wiki) links to /wiki/display/~x.
        path = parts.path
        context = site.path.rstrip("/")
        if context and path.startswith(f"{context}/"):
            path = path.removeprefix(context)
        if _INTERNAL.match(path):
            return None
    return url


def _attachment(
    path: str,
    container_id: str,
    file_name: str,
    ctx: LinkContext,
    attribute: Attribute,
    label: Callable[[], str] | None,
) -> str | None:
    """The download URL of an attachment, by the original file name when the path lacks it."""
    if not path.startswith(("/", "download/")):
        # In the export the file is named by attachment id; the site knows its real name.
        known = _alias(attribute) or ctx.attachment_names.get(path)
        if known is None and label is not None:
            known = label() or None
        if known is None:
            return None
        file_name = known
    return ctx.download_url(container_id, file_name)


def attachment_links(ctx: LinkContext, attachments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(URL, file name) of a page's Attachments list, in its order."""
    found = []
    for href, name in attachments:
        match = _ATTACHMENT.match(unquote(href).removeprefix("./"))
        if match:
            found.append((ctx.download_url(match[1], name), name))
    return found
