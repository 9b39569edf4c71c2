"""The REST resources the ``confluence`` connector reads, for Cloud and for Data Center.

who we are
    ``/rest/api/user/current`` on both; an ``anonymous`` answer is refused.
spaces
    Cloud ``/api/v2/spaces?keys=``; Data Center ``/rest/api/space/{key}``.
listing (ids and versions)
    Cloud ``/api/v2/spaces/{id}/pages`` and ``/blogposts`` with ``status=current``, cursor
    paging; Data Center ``/rest/api/content?spaceKey=&type=&expand=version,ancestors``,
    offset paging.
one body (storage format)
    Cloud ``/api/v2/pages/{id}`` (or ``/blogposts/{id}``) with ``body-format=storage``; Data
    Center ``/rest/api/content/{id}`` with the body, ancestors and read restrictions expanded.
search (CQL) and a page's own read restriction
    ``/rest/api/content/search`` and ``/rest/api/content/{id}/restriction/byOperation/read``
    on both.

Listings never ask for bodies: a run where nothing changed reads ids and versions only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from syncd.connectors.base import SourceUnavailable
from syncd.connectors.confluence.live.client import NotFound, SiteClient
from syncd.connectors.confluence.live.options import Deployment

_RESTRICTIONS = "restrictions.read.restrictions.user,restrictions.read.restrictions.group"
SEARCH_LIMIT = 50  # Data Center caps content/search with expansions far below `limit`
ID_BATCH = 100  # ids per `id in (...)` CQL query: keeps the URL short


@dataclasses.dataclass(frozen=True, slots=True)
class Space:
    """A chosen space: its key, its name, and on Cloud its numeric id."""

    key: str
    name: str
    id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Meta:
    """What a listing says of one page or blog post (no body)."""

    id: str
    kind: str  # "page" or "blogpost"
    title: str
    space_key: str
    parent_id: str | None
    number: int
    modified: str
    webui: str
    position: int | None = None
    ancestors: tuple[tuple[str, str], ...] | None = None  # (id, title), root first; v1 only


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def meta_v1(item: dict[str, Any], space_key: str | None = None) -> Meta:
    """A v1 content object (``expand=version,ancestors,space``) as :class:`Meta`."""
    version = item.get("version") or {}
    ancestors = tuple(
        (str(a.get("id")), str(a.get("title", "")))
        for a in item.get("ancestors") or []
        if isinstance(a, dict) and a.get("type", "page") == "page"
    )
    key = space_key or str((item.get("space") or {}).get("key", ""))
    return Meta(
        id=str(item.get("id")),
        kind=str(item.get("type", "page")),
        title=str(item.get("title", "")),
        space_key=key,
        parent_id=ancestors[-1][0] if ancestors else None,
        number=_int(version.get("number")),
        modified=str(version.get("when", "")),
        webui=str((item.get("_links") or {}).get("webui", "")),
        position=(item.get("extensions") or {}).get("position"),
        ancestors=ancestors,
    )


def meta_v2(item: dict[str, Any], kind: str, space_key: str) -> Meta:
    """A v2 page or blog post object as :class:`Meta`."""
    version = item.get("version") or {}
    parent = item.get("parentId") if item.get("parentType", "page") == "page" else None
    position = item.get("position")
    return Meta(
        id=str(item.get("id")),
        kind=kind,
        title=str(item.get("title", "")),
        space_key=space_key,
        parent_id=str(parent) if parent else None,
        number=_int(version.get("number")),
        modified=str(version.get("createdAt", "")),
        webui=str((item.get("_links") or {}).get("webui", "")),
        position=position if isinstance(position, int) else None,
    )


def children_index(metas: Iterable[Meta]) -> dict[str, list[str]]:
    """Parent id -> its child pages' ids, in the site's order (position, then title)."""
    children: dict[str, list[Meta]] = {}
    for meta in metas:
        if meta.parent_id is not None and meta.kind == "page":
            children.setdefault(meta.parent_id, []).append(meta)
    return {
        parent: [kid.id for kid in sorted(kids, key=order)] for parent, kids in children.items()
    }


def title_index(metas: Iterable[Meta]) -> dict[tuple[str, str], str]:
    """(lower-case space key, lower-case title) -> page id; a page wins over a blog post."""
    index: dict[tuple[str, str], str] = {}
    for meta in sorted(metas, key=lambda m: m.kind != "page"):
        index.setdefault((meta.space_key.lower(), meta.title.lower()), meta.id)
    return index


def order(meta: Meta) -> tuple[int, str]:
    """Where a page sits among its siblings: its position (unset last), then its title."""
    return (meta.position if meta.position is not None else 1 << 30, meta.title)


def is_anonymous(user: dict[str, Any]) -> bool:
    """Whether ``user/current`` describes an anonymous visitor rather than an account."""
    named = user.get("accountId") or user.get("username") or user.get("userKey")
    return user.get("type") == "anonymous" or not named


def is_restricted(answer: dict[str, Any]) -> bool:
    """Whether a ``restrictions.read`` object names any user or group."""
    read = answer.get("read", answer)
    found = (read or {}).get("restrictions") or {}
    return any(((found.get(kind) or {}).get("results") or []) for kind in ("user", "group"))


class SiteApi:
    """The resources of the table above, on one site, for one deployment."""

    def __init__(self, client: SiteClient, deployment: Deployment, page_size: int) -> None:
        self.client = client
        self.deployment = deployment
        self.page_size = page_size

    def whoami(self) -> dict[str, Any]:
        """The account the site takes us for (``type``, ``displayName``, ``timeZone``)."""
        return self.client.get("/rest/api/user/current")

    def spaces(self, keys: Sequence[str]) -> dict[str, Space]:
        """The chosen spaces by key; SourceUnavailable when one is missing."""
        found: dict[str, Space] = {}
        if self.deployment == "cloud":
            params: dict[str, str | int] = {"keys": ",".join(keys), "limit": 250}
            for batch in self.client.cursor_pages("/api/v2/spaces", params):
                for item in batch:
                    space = Space(str(item.get("key")), str(item.get("name", "")), str(item["id"]))
                    found[space.key.lower()] = space
        else:
            for key in keys:
                try:
                    item = self.client.get(f"/rest/api/space/{key}")
                except NotFound:
                    continue
                space = Space(str(item.get("key", key)), str(item.get("name", "")))
                found[space.key.lower()] = space
        missing = [key for key in keys if key.lower() not in found]
        if missing:
            raise SourceUnavailable(
                f"Confluence at {self.client.site}: no space {', '.join(missing)} that this"
                " account can see (check the key, and that the account may view the space);"
                " nothing is deleted"
            )
        return {key: found[key.lower()] for key in keys}

    def listing(self, space: Space, kinds: Sequence[str]) -> Iterator[Meta]:
        """Every current page (and blog post) of a space, without bodies."""
        if self.deployment == "cloud":
            for kind in kinds:
                path = f"/api/v2/spaces/{space.id}/{'pages' if kind == 'page' else 'blogposts'}"
                params: dict[str, str | int] = {"status": "current", "limit": self.page_size}
                for batch in self.client.cursor_pages(path, params):
                    for item in batch:
                        yield meta_v2(item, kind, space.key)
            return
        for kind in kinds:
            params = {
                "spaceKey": space.key,
                "type": kind,
                "status": "current",
                "expand": "version,ancestors",
                "limit": self.page_size,
            }
            for batch in self.client.offset_pages("/rest/api/content", params):
                for item in batch:
                    yield meta_v1(item, space.key)

    def body(self, page_id: str, kind: str) -> tuple[str, Meta | None, bool | None]:
        """(storage body, v1 meta or None, own read restriction if known); NotFound if gone."""
        if self.deployment == "cloud":
            plural = "pages" if kind == "page" else "blogposts"
            item = self.client.get(f"/api/v2/{plural}/{page_id}", {"body-format": "storage"})
            storage = ((item.get("body") or {}).get("storage") or {}).get("value")
            return str(storage or ""), None, None
        expand = f"body.storage,version,ancestors,space,{_RESTRICTIONS}"
        item = self.client.get(f"/rest/api/content/{page_id}", {"expand": expand})
        storage = ((item.get("body") or {}).get("storage") or {}).get("value")
        restricted = is_restricted(item.get("restrictions") or {})
        return str(storage or ""), meta_v1(item), restricted

    def direct(self, page_id: str, spaces: dict[str, Space], kinds: Sequence[str]) -> Meta | None:
        """A page asked for by id, not through the search index; None unless it is current,
        of one of ``kinds`` and in one of ``spaces`` (lower-case key -> space)."""
        if self.deployment == "datacenter":
            try:
                item = self.client.get(
                    f"/rest/api/content/{page_id}", {"expand": "version,ancestors,space"}
                )
            except NotFound:
                return None
            meta = meta_v1(item)
            current = item.get("status", "current") == "current" and meta.kind in kinds
            return meta if current and meta.space_key.lower() in spaces else None
        by_id = {space.id: space for space in spaces.values()}
        for kind in kinds:
            try:
                item = self.client.get(
                    f"/api/v2/{'pages' if kind == 'page' else 'blogposts'}/{page_id}"
                )
            except NotFound:
                continue
            space = by_id.get(str(item.get("spaceId")))
            if item.get("status") != "current" or space is None:
                return None
            return meta_v2(item, kind, space.key)
        return None

    def own_restriction(self, page_id: str) -> bool:
        """Whether the page itself carries a view restriction (inherited ones are not told)."""
        try:
            answer = self.client.get(f"/rest/api/content/{page_id}/restriction/byOperation/read")
        except NotFound:
            return True  # it exists (we were told of it) yet we may not see it
        return is_restricted({"read": answer})

    def search(self, cql: str, expand: str = "version,ancestors,space") -> Iterator[dict[str, Any]]:
        """Every result of a CQL query (cursor links followed, offsets recomputed)."""
        params: dict[str, str | int] = {"cql": cql, "expand": expand, "limit": SEARCH_LIMIT}
        for batch in self.client.offset_pages("/rest/api/content/search", params):
            yield from batch

    def restricted_in(self, space_key: str, kinds: Sequence[str]) -> set[str]:
        """The ids of the space's content that carries its own view restriction (a sweep)."""
        cql = f"space = {quote_cql(space_key)} and type in ({', '.join(kinds)})"
        return {
            str(item.get("id"))
            for item in self.search(cql, expand=_RESTRICTIONS)
            if is_restricted(item.get("restrictions") or {})
        }

    def user_name(self, key: str) -> str | None:
        """The display name of a user named by account id (Cloud) or user key (Data Center)."""
        field = "accountId" if self.deployment == "cloud" else "key"
        try:
            answer = self.client.get("/rest/api/user", {field: key})
        except NotFound:
            return None
        name = answer.get("displayName") or answer.get("publicName")
        return str(name) if name else None


def timestamp(value: str) -> float | None:
    """An ISO 8601 instant (``...Z`` or with an offset) in Unix seconds; None if unreadable."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None
    except ValueError:
        return None


def quote_cql(value: str) -> str:
    """A CQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
