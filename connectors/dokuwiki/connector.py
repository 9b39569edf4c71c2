"""The ``dokuwiki`` connector: pages of a (private) DokuWiki, read through its remote API.

How the connector vocabulary maps onto a DokuWiki:

ref id
    The page id (``ops:runbooks:restart``), as the wiki cleans it. DokuWiki has no other
    identity for a page: a renamed page is a new page, and the old one is deleted.

version
    ``<revision>@<md5 of the text>`` from the listing (:mod:`syncd.connectors.dokuwiki.pages`).
    A no-op run is one listing call (after the dialect check and the login) and no request
    to Intercom.

listing
    Every page the user may read, or those of the configured ``namespaces``, collected in full
    before anything is yielded. A failed call, an answer that is not a list, or an empty
    listing of a namespace the user may not read raises :class:`SourceUnavailable`, so the
    engine deletes nothing. A wrong password is a :class:`SourceUnavailable` saying so.

document
    ``getPageHTML`` of the page, cleaned (:mod:`syncd.connectors.dokuwiki.html`); the title
    is the page's first heading, else its id; the URL is the page's address on the wiki in
    the wiki's own style (``doku.php?id=``, ``doku.php/`` or rewritten), learnt once per run
    from the wiki's page, or set by ``url_style``.

change feed
    :meth:`DokuWikiConnector.poll_changes` asks the wiki's recent changes what changed since a
    cursor, in one call (:mod:`syncd.connectors.dokuwiki.changes`); :meth:`lookup` gives the
    current refs of named pages. A deleted page is named deleted, checked by the lookup,
    and removed through the engine's mass-delete guard.

Authentication is ``dokuwiki.login`` / ``core.login`` with ``username`` and ``password``
(cookies, never HTTP basic auth nor the URL), or nothing for a wiki anyone may read.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from typing import Literal, Self

import httpx
import pydantic

from syncd.connectors.base import (
    NOTHING,
    Connector,
    ConnectorOptions,
    Document,
    DocumentError,
    DocumentRef,
    Poll,
    SourceInfo,
    SourceUnavailable,
)
from syncd.connectors.dokuwiki import changes, media, pages
from syncd.connectors.dokuwiki.api import (
    MISSING_PAGE,
    DokuWikiApi,
    NotAllowed,
    WikiError,
    WikiUnavailable,
)
from syncd.connectors.dokuwiki.html import clean_page_html, first_heading, page_url, url_style_of
from syncd.extract.attachments import AttachmentOptions
from syncd.net.plaintext import refuse_plain_http
from syncd.net.retry import RetryPolicy

_NAMESPACE = re.compile(r"^[a-z0-9_.\-]+(:[a-z0-9_.\-]+)*$")


class DokuWikiOptions(ConnectorOptions):
    """Options of the ``dokuwiki`` connector.

    ``base_url`` is the wiki's root, where ``doku.php`` lives. ``namespaces`` limits the
    listing (``[ops, hr]``; empty: every page the user may read). ``url_style`` is how page
    URLs look: ``auto`` asks the wiki, ``query`` is ``doku.php?id=<page>``, ``path`` is
    ``doku.php/<page>``, ``rewrite`` is ``<base_url><page>``.
    """

    base_url: str
    username: str | None = None
    password: pydantic.SecretStr | None = None
    namespaces: list[str] = pydantic.Field(default_factory=list)
    url_style: Literal["auto", "query", "path", "rewrite"] = "auto"
    timeout: float = pydantic.Field(default=30.0, gt=0)
    # Media files of these types become pages too (see syncd.connectors.dokuwiki.media).
    attachments: AttachmentOptions = pydantic.Field(default_factory=AttachmentOptions)

    @pydantic.field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", value):
            raise ValueError("expected the http:// or https:// address of the wiki's root")
        value = re.sub(r"doku\.php$", "", value)
        return value if value.endswith("/") else value + "/"

    @pydantic.field_validator("password")
    @classmethod
    def _password_over_tls(
        cls, value: pydantic.SecretStr | None, info: pydantic.ValidationInfo
    ) -> pydantic.SecretStr | None:
        if value is not None and isinstance(url := info.data.get("base_url"), str):
            refuse_plain_http(url, what="the wiki password", context=info.context)
        return value

    @pydantic.field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        cleaned = [ns.strip().strip(":").lower() for ns in value]
        for ns in cleaned:
            if not _NAMESPACE.match(ns):
                raise ValueError(f"{ns!r} is not a DokuWiki namespace (like ops or ops:runbooks)")
        return list(dict.fromkeys(cleaned))

    @pydantic.model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both 'username' and 'password' or neither")
        return self


class DokuWikiConnector(Connector):
    """Reads the pages of one DokuWiki; see the module docstring for the mapping."""

    Options = DokuWikiOptions
    options: DokuWikiOptions

    def __init__(
        self,
        options: ConnectorOptions,
        *,
        source: SourceInfo,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Build the connector; nothing is asked of the wiki until it is listed or polled.

        ``transport`` replaces the network (tests count requests with it); ``retry`` bounds
        retries of transient failures (timeouts, dropped connections, 5xx).
        """
        if not isinstance(options, DokuWikiOptions):
            raise TypeError("DokuWikiConnector needs DokuWikiOptions")
        super().__init__(options, source=source)
        self._api = DokuWikiApi(
            options.base_url,
            timeout=options.timeout,
            transport=transport,
            stop=source.stop,
            retry=retry,
        )
        self._style: str | None = None if options.url_style == "auto" else options.url_style

    def close(self) -> None:
        """Close the HTTP session."""
        self._api.close()

    def _connect(self, doing: str) -> None:
        """Find the API and log in (once); SourceUnavailable saying why not."""
        options = self.options
        password = options.password.get_secret_value() if options.password else None
        try:
            self._api.connect(options.username, password)
        except WikiError as exc:
            raise SourceUnavailable(f"cannot {doing} {options.base_url}: {exc}") from exc

    def _unavailable(self, doing: str, exc: WikiError) -> SourceUnavailable:
        hint = ""
        if isinstance(exc, NotAllowed) and self.options.username is None:
            hint = " (the wiki is private: configure username and password)"
        return SourceUnavailable(f"cannot {doing} {self.options.base_url}: {exc}{hint}")

    def describe_change(self, old: str, new: str) -> str | None:
        """The page's revisions (versions are ``revision@md5``)."""
        old_revision, new_revision = old.partition("@")[0], new.partition("@")[0]
        if old_revision == new_revision:
            return f"revision {new_revision}, text changed within the same second"
        return f"revision {old_revision} -> {new_revision}"

    def list(self) -> Iterator[DocumentRef]:
        """Every page the user may read in the configured namespaces; SourceUnavailable."""
        self._connect("list the pages of")
        try:
            rows = self._list_all()
            files = self._list_media()
        except WikiError as exc:
            raise self._unavailable("list the pages of", exc) from exc
        yield from (DocumentRef(id=row.page, version=row.version) for row in rows)
        yield from files

    def _list_media(self) -> tuple[DocumentRef, ...]:
        if not self.options.attachments:
            return ()
        found = media.list_media(self._api, self.options.namespaces, self.options.attachments)
        return tuple(sorted(found.values(), key=lambda ref: ref.id))

    def _list_all(self) -> tuple[pages.PageRow, ...]:
        # Collected in full before anything is yielded: a listing that fails halfway must
        # not look like a complete one with pages missing.
        found: dict[str, pages.PageRow] = {}
        for namespace in self.options.namespaces or [""]:
            rows = pages.list_namespace(self._api, namespace)
            if not rows and not pages.readable(self._api, namespace):
                where = f"namespace {namespace!r}" if namespace else "any page"
                raise NotAllowed(
                    f"user {self.options.username!r} may not read {where} of the wiki"
                    " (its ACL gives no read access), so nothing is published or deleted"
                )
            for row in rows:
                if pages.in_namespace(row.page, self.options.namespaces):
                    found[row.page] = row
        return tuple(sorted(found.values(), key=lambda row: row.page))

    def lookup(self, ids: Collection[str]) -> Sequence[DocumentRef]:
        """The named pages as :meth:`list` would give them now; SourceUnavailable on error."""
        self._connect("look pages up on")
        wanted = {page for page in ids if pages.in_namespace(page, self.options.namespaces)}
        try:
            rows = list(pages.lookup(self._api, wanted))
        except WikiError as exc:
            raise self._unavailable("look pages up on", exc) from exc
        return [DocumentRef(id=row.page, version=row.version) for row in rows]

    def poll_changes(self, cursor: str | None) -> Poll:
        """The pages the wiki's recent changes name since ``cursor``, in one call."""
        self._connect("ask for the changes of")
        if cursor is None:
            return Poll(NOTHING, changes.first_cursor())
        scope = self.options.namespaces
        try:
            return changes.poll(self._api, cursor, lambda page: pages.in_namespace(page, scope))
        except WikiError as exc:
            raise self._unavailable("ask for the changes of", exc) from exc

    def _url_style(self, page: str) -> str:
        """The wiki's URL style, asked once per run from the page's own address on the wiki."""
        if self._style is None:
            try:
                response = self._api.get_text(page_url(self.options.base_url, page, "query"))
            except WikiError:
                return "query"  # not remembered: the next page asks again
            self._style = url_style_of(response, self.options.base_url, page)
        return self._style

    def fetch(self, ref: DocumentRef) -> Document:
        """The page as the wiki renders it now; DocumentError names the page."""
        self._connect("read pages of")
        if media.is_media_ref(ref.id):
            options, base_url = self.options.attachments, self.options.base_url
            return media.fetch_media(
                self._api, ref, base_url=base_url, options=options, source=self.source
            )
        try:
            rendered = self._api.call("core.getPageHTML", "wiki.getPageHTML", {"page": ref.id})
        except WikiError as exc:
            if isinstance(exc, WikiUnavailable):
                # Every later page would wait out the same outage again: until the wiki
                # answers, ask once per page instead of retrying each one in full.
                self._api.outage(True)
            if exc.code != MISSING_PAGE:
                raise DocumentError(f"cannot render page {ref.id}: {exc}") from exc
            rendered = ""
        self._api.outage(False)
        if not isinstance(rendered, str):
            raise DocumentError(f"the wiki answered no rendering for page {ref.id}")
        if not rendered.strip():
            # A page that exists always renders something: it was deleted after the listing.
            raise DocumentError(f"page {ref.id} no longer exists on the wiki")
        base_url = self.options.base_url
        url = page_url(base_url, ref.id, self._url_style(ref.id))
        revision = ref.version.partition("@")[0]
        return Document(
            title=first_heading(rendered) or ref.id,
            body=clean_page_html(rendered, base_url=base_url, page_url=url),
            body_format="html",
            url=url,
            metadata={"page": ref.id, "revision": revision},
            changed_at=float(revision) if revision.isdigit() else None,
        )
