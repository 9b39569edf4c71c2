"""The ``mediawiki`` connector: pages of a (private) MediaWiki, read through its Action API.

How the connector vocabulary maps onto a wiki:

ref id
    The page id, as a string. A page keeps its id when it is moved (renamed), so a rename is
    an update of the same Intercom page, never a delete plus a create.

version
    ``<lastrevid>@<touched>`` from ``prop=info``. ``lastrevid`` changes with every edit and
    every move; ``touched`` also changes when something the page *renders* changes without a
    revision of its own: an edited template, a category or link target created. Either way
    the page is fetched again; an unchanged rendering then hashes equal and sends nothing.

listing
    ``generator=allpages`` over each configured namespace, redirects left out, in the largest
    batches the wiki allows (5000 for bots), following ``continue`` to the end. Any error
    while listing raises :class:`SourceUnavailable`, so the engine deletes nothing.

document
    ``action=parse`` of the page: the rendered HTML cleaned of wiki machinery with absolute
    links (:mod:`syncd.connectors.mediawiki.html`), the display title as text, the page's visible
    categories as ``metadata["labels"]`` and the page's URL. A page in one of
    ``exclude_categories`` (hidden categories included) is :class:`DocumentExcluded`.

change feed
    :meth:`MediaWikiConnector.poll_changes` asks the wiki's recent changes what changed since
    a cursor, in one request; :meth:`MediaWikiConnector.lookup` gives the current refs of
    named pages (see :mod:`syncd.connectors.mediawiki.changes`).

Failures: a page that cannot be rendered raises :class:`DocumentError` naming its id and
title. Transient failures (lag, overload, outages) are retried within the bounds of
:class:`~syncd.connectors.mediawiki.api.RetryPolicy`; once a page has outlasted them, later pages
are asked once each until the wiki answers again, so an outage costs one retry budget per
run, not one per page.

Authentication is a bot password (``username: Name@app``, made at Special:BotPasswords, with
the *basic* and *high-volume* grants), an OAuth 2 bearer ``token``, or nothing for a wiki that
anyone may read. A private wiki answers anonymous reads with ``readapidenied``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, NamedTuple, Self
from urllib.parse import quote, urlsplit

import httpx
import pydantic

from syncd.connectors.base import (
    NOTHING,
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
from syncd.connectors.mediawiki import changes, files
from syncd.connectors.mediawiki.api import ActionApi, RetryPolicy, WikiError, WikiUnavailable
from syncd.connectors.mediawiki.html import clean_page_html
from syncd.extract.attachments import AttachmentOptions
from syncd.net.plaintext import refuse_plain_http
from syncd.render.sanitize import html_text

_MISSING_PAGE_CODES = {"nosuchpageid", "missingtitle"}
_TEMPLATE_FIELDS = {"title", "pageid"}


def normalize_category(name: str) -> str:
    """A category name as MediaWiki compares it: no prefix, spaces, first letter upper."""
    name = re.sub(r"^\s*category\s*:", "", name, flags=re.IGNORECASE)
    name = " ".join(name.replace("_", " ").split())
    return name[:1].upper() + name[1:]


def title_path(title: str) -> str:
    """A page title as it appears in the wiki's URLs (``Sync test/Home`` -> ``Sync_test/Home``)."""
    return quote(title.replace(" ", "_"), safe="/:;@$!*(),~")


class _Site(NamedTuple):
    """What the connector needs to know of the wiki, from ``meta=siteinfo``."""

    server: str  # "https://wiki.example.com", no trailing slash
    articlepath: str  # "/wiki/$1"


class MediaWikiOptions(ConnectorOptions):
    """Options of the ``mediawiki`` connector.

    ``page_url_template`` overrides the page URLs (default: the wiki's ``server`` and
    ``articlepath`` from ``meta=siteinfo``); it may use ``{title}`` (URL-encoded, underscores
    for spaces) and ``{pageid}``, as in ``https://wiki.example.com/wiki/{title}``.
    """

    api_url: str
    username: str | None = None
    password: pydantic.SecretStr | None = None
    token: pydantic.SecretStr | None = None
    namespaces: list[int] = pydantic.Field(default_factory=lambda: [0], min_length=1)
    page_url_template: str | None = None
    exclude_categories: list[str] = pydantic.Field(default_factory=list)
    attachments: AttachmentOptions = pydantic.Field(default_factory=AttachmentOptions)
    timeout: float = pydantic.Field(default=30.0, gt=0)

    @pydantic.field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected the http:// or https:// address of the wiki's api.php")
        return value

    @pydantic.field_validator("password", "token")
    @classmethod
    def _secret_over_tls(
        cls, value: pydantic.SecretStr | None, info: pydantic.ValidationInfo
    ) -> pydantic.SecretStr | None:
        if value is not None and isinstance(url := info.data.get("api_url"), str):
            refuse_plain_http(url, what=f"the wiki {info.field_name}", context=info.context)
        return value

    @pydantic.field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[int]) -> list[int]:
        if any(ns < 0 for ns in value):
            raise ValueError("namespaces are ids of content namespaces (0 and up)")
        return list(dict.fromkeys(value))

    @pydantic.field_validator("page_url_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http:// or https:// URL with {title} or {pageid}")
        fields = set(re.findall(r"\{(\w*)\}", value))
        if not fields or not fields <= _TEMPLATE_FIELDS:
            raise ValueError("use {title} and/or {pageid} (and no other {field})")
        return value

    @pydantic.model_validator(mode="after")
    def _one_way_to_log_in(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both 'username' and 'password' (a bot password) or neither")
        if self.username is not None and self.token is not None:
            raise ValueError("give either 'username' and 'password' or 'token', not both")
        return self


class MediaWikiConnector(Connector[MediaWikiOptions]):
    """Reads the pages of one wiki's namespaces; see the module docstring for the mapping."""

    def __init__(
        self,
        options: MediaWikiOptions,
        *,
        source: SourceInfo,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int | None = None,
    ) -> None:
        """Build the connector; nothing is read from the wiki until :meth:`list` or :meth:`fetch`.

        ``transport`` replaces the network (tests), ``retry`` bounds retries of transient
        failures, ``batch_size`` caps the pages per listing call (default: the wiki's maximum).
        """
        super().__init__(options, source=source)
        token = options.token.get_secret_value() if options.token is not None else None
        self._retry = retry or RetryPolicy()
        self._api = ActionApi(
            options.api_url,
            timeout=options.timeout,
            bearer_token=token,
            retry=self._retry,
            transport=transport,
            stop=source.stop,
        )
        self._batch_size: int | str = batch_size if batch_size is not None else "max"
        self._excluded = {normalize_category(name) for name in options.exclude_categories}
        self._site: _Site | None = None
        self._titles: dict[str, str] = {}

    def close(self) -> None:
        """Close the HTTP session."""
        self._api.close()

    def _site_info(self) -> _Site:
        """Log in (once) and read the wiki's ``server`` and ``articlepath`` (once)."""
        if self._site is not None:
            return self._site
        options = self.options
        if options.username is not None and options.password is not None:
            self._api.login(options.username, options.password.get_secret_value())
        general = self._api.get(action="query", meta="siteinfo", siprop="general")
        site = general.get("query", {}).get("general", {})
        server, articlepath = site.get("server"), site.get("articlepath")
        if not isinstance(server, str) or not isinstance(articlepath, str):
            raise WikiError("siteinfo", "the wiki did not report its server and article path")
        if server.startswith("//"):  # protocol-relative, as on Wikimedia wikis
            server = f"{urlsplit(options.api_url).scheme}:{server}"
        self._site = _Site(server=server.rstrip("/"), articlepath=articlepath)
        return self._site

    def wiki_url(self, title: str) -> str:
        """A page's address on the wiki itself (its ``server`` and ``articlepath``)."""
        site = self._site_info()
        return site.server + site.articlepath.replace("$1", title_path(title))

    def page_url(self, title: str, page_id: str) -> str:
        """The URL people are sent to for a page: the template's, else the wiki's own."""
        template = self.options.page_url_template
        if template is None:
            return self.wiki_url(title)
        return template.replace("{title}", title_path(title)).replace("{pageid}", page_id)

    def _link_rewriter(self) -> Callable[[str], str] | None:
        """With a ``{title}``-only template, links to wiki pages follow the template too."""
        template = self.options.page_url_template
        if template is None or "{pageid}" in template:
            return None  # a link names a title, not a page id: leave it on the wiki
        site = self._site_info()
        prefix = site.server + site.articlepath.split("$1")[0]

        def rewrite(url: str) -> str:
            if not url.startswith(prefix) or "?" in url:
                return url
            path, _, fragment = url[len(prefix) :].partition("#")
            target = template.replace("{title}", path)
            return f"{target}#{fragment}" if fragment else target

        return rewrite

    def describe_change(self, old: str, new: str) -> str | None:
        """The page's last revision ids (versions are ``revid@touched``)."""
        old_revision, new_revision = old.partition("@")[0], new.partition("@")[0]
        if old_revision == new_revision:
            return f"revision {new_revision}, page touched since"
        return f"revision {old_revision} -> {new_revision}"

    def list(self) -> Iterator[DocumentRef]:
        """Every non-redirect page of the configured namespaces; SourceUnavailable on error."""
        try:
            refs = self._list_all()
        except WikiError as exc:
            hint = ""
            if exc.code == "readapidenied":
                hint = " (the wiki is private: configure username and password, or token)"
            raise SourceUnavailable(
                f"cannot list the pages of {self.options.api_url}: {exc}{hint}"
            ) from exc
        yield from refs

    def lookup(self, ids: Collection[str]) -> Sequence[DocumentRef]:
        """The named pages as :meth:`list` would give them now; SourceUnavailable on error."""
        try:
            self._site_info()
            found = list(changes.lookup(self._api, ids, self.options.namespaces))
        except WikiError as exc:
            raise SourceUnavailable(
                f"cannot look pages up on {self.options.api_url}: {exc}"
            ) from exc
        for ref, title in found:
            self._titles[ref.id] = title
        return [ref for ref, _ in found]

    def poll_changes(self, cursor: str | None) -> Poll:
        """The pages the wiki's recent changes name since ``cursor``, in one request."""
        try:
            self._site_info()
            if cursor is None:
                return Poll(NOTHING, changes.first_cursor())
            return changes.poll(self._api, cursor, self.options.namespaces, self._batch_size)
        except WikiError as exc:
            raise SourceUnavailable(
                f"cannot ask {self.options.api_url} for changes: {exc}"
            ) from exc

    def _list_all(self) -> tuple[DocumentRef, ...]:
        # Collected in full before anything is yielded: a listing that fails halfway must
        # not look like a complete one with pages missing.
        self._site_info()
        refs: dict[str, DocumentRef] = {}
        for namespace in self.options.namespaces:
            params: dict[str, str | int] = {
                "action": "query",
                "generator": "allpages",
                "gapnamespace": namespace,
                "gapfilterredir": "nonredirects",
                "gaplimit": self._batch_size,
                "prop": "info",
            }
            while True:
                answer = self._api.get(**params)
                for page in answer.get("query", {}).get("pages", []):
                    if "missing" in page or "lastrevid" not in page:
                        continue
                    ref_id = str(page["pageid"])
                    self._titles[ref_id] = str(page.get("title", ""))
                    version = f"{page['lastrevid']}@{page.get('touched', '')}"
                    refs[ref_id] = DocumentRef(id=ref_id, version=version)
                follow = answer.get("continue")
                if not isinstance(follow, dict):
                    break
                params = {**params, **follow}
        if self.options.attachments:
            refs.update(files.list_files(self._api, self.options.attachments, self._batch_size))
        return tuple(refs.values())

    def _describe(self, ref: DocumentRef) -> str:
        title = self._titles.get(ref.id)
        return f"page {ref.id} ({title!r})" if title else f"page {ref.id}"

    def _render(self, ref: DocumentRef) -> dict[str, Any]:
        """``action=parse`` of one page; DocumentError naming the page when it fails."""
        try:
            self._site_info()
            answer = self._api.get(
                action="parse",
                pageid=ref.id,
                prop="text|displaytitle|categories|revid",
                disableeditsection=1,
                disablelimitreport=1,
                disabletoc=1,
            )
        except WikiError as exc:
            if isinstance(exc, WikiUnavailable):
                # Every later page would wait out the same outage again: until the wiki
                # answers, ask once per page instead of retrying each one in full.
                self._api.retry = dataclasses.replace(self._retry, attempts=1)
            if exc.code in _MISSING_PAGE_CODES:
                raise DocumentError(
                    f"{self._describe(ref)} no longer exists on the wiki"
                    " (deleted after it was listed)"
                ) from exc
            raise DocumentError(f"cannot render {self._describe(ref)}: {exc}") from exc
        self._api.retry = self._retry
        parsed = answer.get("parse")
        if not isinstance(parsed, dict) or not isinstance(parsed.get("text"), str):
            raise DocumentError(f"the wiki returned no rendering for {self._describe(ref)}")
        return parsed

    def fetch(self, ref: DocumentRef) -> Document:
        """The page as rendered now; DocumentError names the page, DocumentExcluded by category."""
        if files.is_file_ref(ref.id):
            self._site_info()  # logs in: a private wiki's files need the session
            options, source = self.options.attachments, self.source
            return files.fetch_file(self._api, ref, options=options, source_info=source)
        parsed = self._render(ref)
        title = str(parsed.get("title") or self._titles.get(ref.id) or ref.id)
        self._titles[ref.id] = title
        categories = [
            (normalize_category(str(c.get("category", ""))), bool(c.get("hidden")))
            for c in parsed.get("categories", [])
        ]
        excluded = sorted(name for name, _ in categories if name in self._excluded)
        if excluded:
            raise DocumentExcluded(
                f"{self._describe(ref)} is in excluded category {', '.join(excluded)}",
                reason="category",
            )
        try:
            url = self.page_url(title, ref.id)
            wiki_url = self.wiki_url(title)
            rewrite = self._link_rewriter()
        except WikiError as exc:
            raise DocumentError(f"cannot build the URL of {self._describe(ref)}: {exc}") from exc
        display = html_text(str(parsed.get("displaytitle") or ""))
        return Document(
            title=display or title,
            body=clean_page_html(parsed["text"], page_url=wiki_url, rewrite_link=rewrite),
            body_format="html",
            url=url,
            metadata={
                "labels": [name for name, hidden in categories if not hidden],
                "title": title,
                "revision": parsed.get("revid"),
            },
            changed_at=changes.touched_at(ref.version),
        )
