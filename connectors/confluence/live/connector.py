"""The ``confluence`` connector: a live Confluence site (Cloud or Data Center) over REST.

How the connector vocabulary maps onto a site (resources: :mod:`.site`):

ref id and external id
    The page (or blog post) id, as in the export connector: a space moved from exports to
    the live connector keeps its pages in Intercom.
version
    ``v<Confluence version number>::<place>``, where *place* digests the space name, the
    ancestors' titles and the title, which the body's opening trail shows: a page moved under
    another parent is fetched again although Confluence kept its number. The listing reads
    ids and versions only (no bodies), so a run where nothing changed fetches nothing and
    sends nothing to Intercom.
document
    As the XML export gives it (:mod:`syncd.connectors.confluence.xml_reader`): the trail,
    then the storage format rendered by the export connector's renderer with what only a
    live site can give (:mod:`.render`); the URL is the site's own (``_links.base`` +
    ``_links.webui``).

Who we are: every run asks the site first (``/rest/api/user/current``). Data Center runs an
unknown personal access token as *anonymous* (CONFSERVER-98199), answering 200 with what
anonymous may read: such a run stops before listing, deleting nothing, as it does when a
chosen space is missing or lists nothing. Removals: a page trashed, purged, moved out of the
chosen spaces or newly view-restricted (:mod:`.restrictions`) is absent from the next full
listing, its attachments (:mod:`.attachments`) too; the engine removes them behind the
mass-delete guard. ``watch: true`` polls CQL (:mod:`.changes`); Data Center webhooks name
pages (:mod:`syncd.daemon.triggers.hooks`), which a run looks up with :meth:`lookup`.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import html
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import httpx
import structlog

from syncd.connectors.base import (
    Connector,
    ConnectorOptions,
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    Poll,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.confluence import xml_reader
from syncd.connectors.confluence.live import attachments, changes
from syncd.connectors.confluence.live.client import (
    NotFound,
    RetryPolicy,
    SiteClient,
    auth_header,
    what_to_check,
)
from syncd.connectors.confluence.live.options import ConfluenceOptions
from syncd.connectors.confluence.live.render import render_storage
from syncd.connectors.confluence.live.restrictions import (
    RestrictionCache,
    hidden,
    restricted_now,
    sweep_if_due,
)
from syncd.connectors.confluence.live.site import (
    Meta,
    SiteApi,
    Space,
    children_index,
    is_anonymous,
    meta_v1,
    order,
    quote_cql,
    timestamp,
    title_index,
)

log = structlog.get_logger(__name__)
TRAIL_SEPARATOR = xml_reader.TRAIL_SEPARATOR


class ConfluenceConnector(Connector):
    """Reads the chosen spaces of a live site; see the module docstring for the mapping."""

    Options = ConfluenceOptions
    options: ConfluenceOptions

    def __init__(
        self,
        options: ConnectorOptions,
        *,
        source: SourceInfo,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not isinstance(options, ConfluenceOptions):
            raise TypeError("ConfluenceConnector needs ConfluenceOptions")
        super().__init__(options, source=source)
        token = options.token.get_secret_value() if options.token is not None else None
        cloud = options.kind == "cloud"
        self._client = SiteClient(
            options.site,
            authorization=auth_header(options.email if cloud else None, token),
            timeout=options.timeout,
            what_to_check=what_to_check(cloud),
            retry=retry,
            transport=transport,
            stop=source.stop,
        )
        self._api = SiteApi(self._client, options.kind, options.page_size)
        self.kinds = ["page", "blogpost"] if options.blogposts else ["page"]
        self._skip = options.restricted_pages == "skip"
        self._restrictions = RestrictionCache(source.memory, options.site)
        self._zone: Any = None
        self._identified = False
        self._spaces: dict[str, Space] = {}  # lower-case key -> space
        self._metas: dict[str, Meta] = {}
        self._listed_spaces: set[str] = set()  # lower-case keys listed in full this run
        self._hidden: set[str] = set()
        self._titles: dict[tuple[str, str], str | None] = {}
        self._users: dict[str, str | None] = {}
        self._children: dict[str, list[str]] = {}
        self._broken: str | None = None  # why the site cannot be read this run, once known
        self._rechecked = False  # who we are, asked again after a page was not found
        self._swept = False  # restrictions swept by this run's listing
        self._by_title: tuple[int, dict[tuple[str, str], str]] = (0, {})
        self._files = attachments.LiveFiles(self)

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close()

    # -- who we are, and where ---------------------------------------------------------------

    def _identify(self) -> None:
        if self._identified:
            return
        me = self._api.whoami()
        anonymous = is_anonymous(me)
        if anonymous and self.options.token is not None:
            raise SourceUnavailable(
                f"Confluence at {self.options.site} took the token for an anonymous visitor:"
                " it is not a valid token of this site (Data Center runs an unknown personal"
                " access token as anonymous); check `token`. Nothing is deleted"
            )
        if anonymous:
            log.warning("confluence.anonymous", site=self.options.site)
        self._zone, self._identified = changes.zone_of(me.get("timeZone")), True

    def _chosen_spaces(self) -> dict[str, Space]:
        if not self._spaces:
            found = self._api.spaces(self.options.spaces)
            self._spaces = {key.lower(): space for key, space in found.items()}
        return self._spaces

    @property
    def base(self) -> str:
        """The site's ``_links.base``, as it last told it; ``site`` until it has."""
        return self._client.base or self.options.site

    def page_url(self, page_id: str) -> str:
        """A page's URL on the site."""
        meta = self._metas.get(page_id)
        if meta is not None and meta.webui:
            return self.base + meta.webui
        return f"{self.base}/pages/viewpage.action?pageId={page_id}"

    # -- listing ----------------------------------------------------------------------------

    def list(self) -> Iterator[DocumentRef]:
        """Every current page of the chosen spaces, restricted ones left out; no bodies read."""
        self._identify()
        metas: dict[str, Meta] = {}
        for space in self._chosen_spaces().values():
            count = 0
            for meta in self._api.listing(space, self.kinds):
                metas[meta.id] = meta
                count += 1
            if count == 0:
                raise SourceUnavailable(
                    f"Confluence at {self.options.site}: space {space.key} lists no page this"
                    " account can read; nothing is deleted (check the account's permissions)"
                )
            self._listed_spaces.add(space.key.lower())
        self._metas.update(metas)
        self._children.update(children_index(metas.values()))
        if self._skip:
            keys = [space.key for space in self._chosen_spaces().values()]
            self._swept = sweep_if_due(
                self._api, self._restrictions, keys, self.kinds, self.source.full_resync
            )
            self._hidden = hidden(metas, self._restrictions.own, self._ancestor_ids)
        # Collected in full above: a listing that fails halfway must not look complete.
        for meta in metas.values():
            if meta.id not in self._hidden:
                yield DocumentRef(id=meta.id, version=self._version(meta))
        yield from self._files.refs(metas)  # after the pages: restrictions are known

    def _ancestors(self, meta: Meta) -> tuple[tuple[str, str], ...]:
        """(id, title) of the page's ancestors, root first."""
        if meta.ancestors is not None:
            return meta.ancestors
        chain: builtins.list[tuple[str, str]] = []
        seen = {meta.id}
        parent = self._metas.get(meta.parent_id or "")
        while parent is not None and parent.id not in seen:
            seen.add(parent.id)
            chain.append((parent.id, parent.title))
            parent = self._metas.get(parent.parent_id or "")
        return tuple(chain[::-1])

    def _ancestor_ids(self, page_id: str) -> builtins.list[str]:
        meta = self._metas.get(page_id)
        return [a for a, _ in self._ancestors(meta)] if meta is not None else []

    def _trail(self, meta: Meta) -> builtins.list[str]:
        space = self._spaces.get(meta.space_key.lower())
        names = [space.name] if space is not None and space.name else []
        return [*names, *(title for _, title in self._ancestors(meta))]

    def _version(self, meta: Meta) -> str:
        place = "\x1f".join([*self._trail(meta), meta.title]).encode()
        return f"v{meta.number}::{hashlib.sha256(place).hexdigest()[:12]}"

    def describe_change(self, old: str, new: str) -> str | None:
        """Confluence's version numbers, or that the page's title or place changed."""
        return xml_reader.describe_change(old, new)

    # -- change feed ------------------------------------------------------------------------

    def poll_changes(self, cursor: str | None) -> Poll:
        """The pages CQL finds modified since ``cursor`` (see :mod:`.changes`)."""
        self._identify()
        return changes.poll(
            self._api, cursor, spaces=self.options.spaces, kinds=self.kinds, zone=self._zone
        )

    def lookup(self, ids: Collection[str]) -> Sequence[DocumentRef]:
        """The named pages as a listing would give them now, restrictions checked.

        CQL first (one request for many, with ancestors); a page CQL does not find is asked
        for directly, since the search index may lag behind an edit or a creation.
        """
        self._identify()
        spaces = self._chosen_spaces()
        found = {
            m.id: m for m in changes.lookup(self._api, ids, spaces=list(spaces), kinds=self.kinds)
        }
        for page_id in sorted(set(ids) - found.keys()):
            if page_id.isdigit() and (meta := self._api.direct(page_id, spaces, self.kinds)):
                found[page_id] = meta
        self._metas.update(found)
        refs = []
        for meta in found.values():
            chain = [meta.id, *self._ancestor_ids(meta.id)]
            if self._skip and restricted_now(self._api, self._restrictions, chain):
                self._hidden.add(meta.id)
                continue
            refs.append(DocumentRef(id=meta.id, version=self._version(meta)))
        return refs

    # -- fetching ---------------------------------------------------------------------------

    def _meta(self, ref: DocumentRef) -> Meta:
        meta = self._metas.get(ref.id) or self._api.direct(ref.id, self._spaces, self.kinds)
        if meta is None:
            raise DocumentError(f"page {ref.id} is no longer a current page of the spaces")
        self._metas[meta.id] = meta
        return meta

    def fetch(self, ref: DocumentRef) -> Document:
        """The page as it is now; DocumentExcluded when it carries a view restriction.

        Once the site refused us or kept failing, the run's later pages fail at once, naming
        why, without asking again: an expired token costs one request, not one per page.
        """
        if self._broken is not None:
            raise DocumentError(f"page {ref.id}: not read, {self._broken}")
        try:
            return self._files.fetch(ref) if attachments.is_attachment(ref.id) else self._fetch(ref)
        except SourceUnavailable as exc:
            self._broken = str(exc)
            raise DocumentError(f"page {ref.id}: {exc}") from exc

    def _fetch(self, ref: DocumentRef) -> Document:
        self._identify()
        self._chosen_spaces()
        meta = self._meta(ref)
        where = f"page {meta.id} {meta.title!r}"
        try:
            storage, fresh, restricted = self._api.body(meta.id, meta.kind)
        except NotFound as exc:
            if not self._rechecked:  # a Data Center token revoked mid-run reads as anonymous
                self._rechecked, self._identified = True, False
                self._identify()
            raise DocumentError(f"{where} is gone, or this account may not see it: {exc}") from exc
        if fresh is not None and fresh.number >= meta.number:
            meta = dataclasses.replace(fresh, webui=fresh.webui or meta.webui)
            self._metas[meta.id] = meta
        if self._skip:
            if restricted is None:  # swept a moment ago: the sweep's answer is as fresh
                own = self._restrictions.own
                restricted = meta.id in own if self._swept else self._api.own_restriction(meta.id)
            self._restrictions.mark(meta.id, restricted)
            if restricted:
                self._hidden.add(meta.id)
                raise DocumentExcluded(f"{where} has a view restriction", reason="restricted")
        space = self._spaces.get(meta.space_key.lower())
        ancestors = self._ancestors(meta)
        trail = [*self._trail(meta), meta.title]
        crumbs = TRAIL_SEPARATOR.join(html.escape(step) for step in trail)
        content = self._render(meta, storage, where)
        metadata: dict[str, Any] = {
            "page_id": meta.id,
            "content_type": meta.kind,
            "space_key": meta.space_key,
            "space_name": space.name if space is not None else None,
            "ancestors": [title for _, title in ancestors],
            "ancestor_ids": [page for page, _ in ancestors],
            "parent_id": ancestors[-1][0] if ancestors else None,
            "version": meta.number,
            "last_modified": meta.modified,
        }
        return Document(
            title=meta.title,
            body="\n".join(part for part in (f"<p>{crumbs}</p>", content) if part),
            body_format="html",
            url=self.page_url(meta.id),
            metadata=metadata,
            changed_at=timestamp(meta.modified),
        )

    def _render(self, meta: Meta, storage: str, where: str) -> str:
        return render_storage(
            storage,
            where=where,
            page_id=meta.id,
            space_key=meta.space_key,
            base=self.base,
            site=self,
            exists=lambda page_id: page_id in self._metas and page_id not in self._hidden,
        )

    # -- what the renderer asks the site ----------------------------------------------------

    def find(self, space_key: str, title: str) -> str | None:
        """The published page titled so in the space (this run's listing, else CQL)."""
        key = (space_key.lower(), title.lower())
        if self._by_title[0] != len(self._metas):  # pages added since it was built
            self._by_title = (len(self._metas), title_index(self._metas.values()))
        if (known := self._by_title[1].get(key)) is not None:
            return None if known in self._hidden else known
        if key not in self._titles:
            cql = f"space = {quote_cql(space_key)} and title = {quote_cql(title)}"
            found = next(self._api.search(f"{cql} and type in (page, blogpost)"), None)
            self._titles[key] = str(found["id"]) if found else None
            if found:
                self._metas.setdefault(str(found["id"]), meta_v1(found))
        page = self._titles[key]
        return None if page is None or page in self._hidden else page

    def load(self, page_id: str) -> tuple[str, str] | None:
        """(storage body, space key) of a page to include; None when it may not be."""
        meta = self._metas.get(page_id)
        if meta is None or page_id in self._hidden:
            return None
        try:
            storage, _, restricted = self._api.body(page_id, meta.kind)
        except NotFound:
            return None
        if self._skip and (restricted or page_id in self._restrictions.own):
            return None
        return storage, meta.space_key

    def user(self, key: str) -> str | None:
        """A person's display name, asked once per run."""
        if key not in self._users:
            self._users[key] = self._api.user_name(key)
        return self._users[key]

    def children_of(self, page_id: str) -> builtins.list[str]:
        """Published children of a page: this run's tree, else CQL ``parent``."""
        meta = self._metas.get(page_id)
        listed = meta is not None and meta.space_key.lower() in self._listed_spaces
        if not listed and page_id not in self._children:
            found = [meta_v1(item) for item in self._api.search(f"parent = {page_id}")]
            found.sort(key=order)
            for child in found:
                self._metas.setdefault(child.id, child)
            self._children[page_id] = [child.id for child in found]
        return [kid for kid in self._children.get(page_id, []) if kid not in self._hidden]

    def title_of(self, page_id: str) -> str:
        """A known page's title."""
        return meta.title if (meta := self._metas.get(page_id)) is not None else page_id
