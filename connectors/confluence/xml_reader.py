"""The XML half of the ``confluence_export`` connector: list and fetch from XML exports.

One :class:`XmlSite` reads one export, or the current exports of a folder
(:mod:`syncd.connectors.confluence.exports`), as one site:

ref id
    The page id (the same id the HTML export names its files with, so a space moved from HTML
    to XML exports keeps its pages in Intercom).
version
    ``v<version>:<lastModificationDate>`` of the page, plus a digest of its trail (space name,
    ancestors' titles and its own title), which its body opens with. Listing reads metadata
    only, so a page whose version did not change costs no body and no conversion. A page
    that *includes* another does not change version when only the included page does:
    ``--full-resync`` picks that up.
document
    title     the page's exact title
    body      a one-line trail (space, ancestors, page), then the storage format converted
              (:mod:`syncd.connectors.confluence.storage`), links absolute
    url       ``page_url_template`` with the site's ``base_url`` and the page id
    metadata  ``page_id``, ``content_type`` (page or blogpost), ``space_key``, ``space_name``,
              ``ancestors`` (titles, root first), ``ancestor_ids``, ``parent_id``,
              ``version``, ``last_modified``, ``export`` (file name)
excluded
    A page with a view restriction (its own or an ancestor's) is listed and fetched as
    excluded, reason ``restricted``, unless ``restricted_pages: publish``; a page with no body
    as excluded, reason ``empty``. Neither is ever left out without a word.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import structlog

from syncd.connectors.base import (
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    DocumentTooLarge,
    SourceUnavailable,
)
from syncd.connectors.confluence.exports import Selection
from syncd.connectors.confluence.links import LinkContext
from syncd.connectors.confluence.storage import (
    RenderState,
    StorageContext,
    StorageError,
    StorageRenderer,
    parse_storage,
)
from syncd.connectors.confluence.storage_macros import ExpansionTooLarge, render_macro
from syncd.connectors.confluence.storage_xml import check_depth
from syncd.connectors.confluence.tidy import clean_converted
from syncd.connectors.confluence.wiki_markup import wiki_to_html
from syncd.connectors.confluence.xml_bodies import Body, BodyStore
from syncd.connectors.confluence.xml_entities import MAX_RUN_BYTES, EntitiesSource
from syncd.connectors.confluence.xml_index import STORAGE, WIKI, PageInfo, SiteIndex, build_index
from syncd.render.sanitize import NestingTooDeep, check_nesting

log = structlog.get_logger(__name__)
TRAIL_SEPARATOR = " \u203a "  # as the HTML export's documents open


@dataclasses.dataclass(slots=True)
class _Part:
    """One export read into the site: its index and, once needed, its bodies."""

    source: EntitiesSource
    index: SiteIndex
    stamp: tuple[int, int] | None  # the export's (size, mtime) when pass 1 read it
    spool_dir: Path | None = None  # where pass 2 keeps the bodies (None: system temp)
    store: BodyStore | None = None
    failed: str | None = None  # why pass 2 could not read the bodies, once it has failed

    def body(self, page_id: str) -> Body | None:
        """The page's body (None when it has none); DocumentError if the export moved on."""
        body_id = self.index.bodies.get(page_id)
        if body_id is None:
            return None
        if self.store is None:
            self.store = self._pass2()
        body = self.store.get(body_id)
        if body is None:
            raise DocumentError(
                f"page {page_id}: its body {body_id} was listed but is not in"
                f" {self.source.describe()} any more"
            )
        return body

    def _pass2(self) -> BodyStore:
        """Read the bodies once; a failure fails every later fetch without reading again."""
        if self.failed is None:
            # Pass 2 must read the file pass 1 indexed: a backup rewritten under the same
            # name in between has other bodies, and pages must not come out empty.
            if self.source.stamp() != self.stamp:
                self.failed = (
                    f"{self.source.describe()} changed after it was listed; the next run reads"
                    " the new export"
                )
            else:
                try:
                    return BodyStore(
                        self.source, self.index.bodies.values(), spool_dir=self.spool_dir
                    )
                except SourceUnavailable as exc:
                    self.failed = str(exc)
        raise DocumentError(self.failed)


class XmlSite:
    """The published pages of the chosen exports, listed and converted on demand."""

    def __init__(
        self,
        *,
        base_url: str,
        page_url: Callable[[str], str],
        spaces: Collection[str] | None,
        include_attachments_list: bool = False,
        skip_restricted: bool = True,
        spool_dir: Path | None = None,
    ) -> None:
        self.base_url = base_url
        self.page_url = page_url
        self.spaces = spaces
        self.skip_restricted = skip_restricted
        self.spool_dir = spool_dir
        self.include_attachments_list = include_attachments_list
        self.parts: list[_Part] = []
        self._owner: dict[str, _Part] = {}
        self._restricted: dict[str, PageInfo] = {}
        self._unselected: dict[str, PageInfo] = {}

    def read_one(self, source: EntitiesSource) -> None:
        """Index one export (pass 1)."""
        self._add(self._read(source))

    def read_selection(self, selection: Selection) -> None:
        """Index the current exports of a folder, each space from its current export."""
        newer = set(selection.spaces)
        held: set[str] = set(newer)
        if selection.site is not None:
            site = self._read(selection.site.source, skip_spaces=newer)
            self._add(site)
            held |= {key.lower() for key in site.index.all_space_keys}
        for candidate in selection.spaces.values():
            self._add(self._read(candidate.source))
        for key, candidate in selection.stale.items():
            if key not in held:  # the newest backup lacks this space: keep its own export
                self._add(self._read(candidate.source))
                held.add(key)
        if selection.fallback_site is not None:
            previous = self._read(selection.fallback_site.source, skip_spaces=held)
            if previous.index.pages:
                log.warning(
                    "confluence.spaces_missing_from_newest_backup",
                    spaces=sorted({s.key for s in previous.index.spaces.values()}),
                    read_from=previous.source.describe(),
                )
                self._add(previous)

    def _read(self, source: EntitiesSource, *, skip_spaces: Collection[str] = ()) -> _Part:
        """Pass 1 over one export, with the stamp pass 2 will check."""
        stamp = source.stamp()
        index = build_index(
            source,
            spaces=self.spaces,
            skip_spaces=skip_spaces,
            skip_restricted=self.skip_restricted,
        )
        return _Part(source, index, stamp, self.spool_dir)

    def _add(self, part: _Part) -> None:
        self.parts.append(part)
        for page_id in part.index.pages:
            self._owner.setdefault(page_id, part)
        for page_id, page in part.index.restricted.items():
            self._restricted.setdefault(page_id, page)
        for page_id, page in part.index.unselected.items():
            self._unselected.setdefault(page_id, page)

    def read_from(self) -> dict[str, str]:
        """Which export each chosen space was read from (space key -> export name)."""
        spaces: dict[str, str] = {}
        for part in self.parts:
            for space in part.index.spaces.values():
                spaces.setdefault(space.key, part.source.describe())
        return spaces

    def refs(self) -> Iterator[DocumentRef]:
        """Every published page's ref, and those of restricted pages (fetched as excluded)."""
        for page_id, part in self._owner.items():
            page = part.index.pages[page_id]
            yield DocumentRef(id=page_id, version=self._version(part.index, page))
        for page_id, page in self._restricted.items():
            if page_id not in self._owner:  # another export may hold it unrestricted
                yield DocumentRef(id=page_id, version=f"restricted:v{page.version}:{page.modified}")
        for page_id, page in self._unselected.items():
            if page_id not in self._owner and page_id not in self._restricted:
                yield DocumentRef(id=page_id, version=f"unselected:v{page.version}")

    def _trail(self, index: SiteIndex, page: PageInfo) -> list[str]:
        space = index.space_of(page)
        return [space.name, *(a.title for a in index.ancestors(page))]

    def _version(self, index: SiteIndex, page: PageInfo) -> str:
        # The title too: Confluence bumps the version on a rename, an edited export may not.
        trail = "\x1f".join([*self._trail(index, page), page.title]).encode()
        digest = hashlib.sha256(trail).hexdigest()[:12]
        return f"v{page.version}:{page.modified}:{digest}"

    # Lookups across every part, for links and includes.

    def _find(self, space_key: str, title: str) -> str | None:
        for part in self.parts:
            page = part.index.find(space_key, title)
            if page is not None and self._owner.get(page.id) is part:
                return page.id
        return None

    def _user(self, key: str) -> str | None:
        for part in self.parts:
            if key in part.index.users:
                return part.index.users[key]
        return None

    def _load(self, page_id: str) -> tuple[str, str] | None:
        part = self._owner.get(page_id)
        if part is None:
            return None
        body = part.body(page_id)
        if body is None or body.body_type != STORAGE:
            return None
        if body.cut:
            raise ExpansionTooLarge(f"it includes page {page_id}, whose body is too large")
        page = part.index.pages[page_id]
        return body.text, part.index.space_of(page).key

    def fetch(self, ref: DocumentRef) -> Document:
        """The document of one listed page."""
        part = self._owner.get(ref.id)
        if part is None and (hidden := self._restricted.get(ref.id)) is not None:
            log.debug("confluence.page_restricted", page_id=hidden.id, title=hidden.title)
            raise DocumentExcluded(
                f"page {hidden.id} {hidden.title!r}: view-restricted in Confluence, it or an"
                " ancestor (restricted_pages: skip)",
                reason="restricted",
            )
        if part is None and (other := self._unselected.get(ref.id)) is not None:
            raise DocumentExcluded(
                f"page {other.id} {other.title!r}: its space is not named in `spaces`",
                reason="space not selected",
            )
        if part is None:
            raise DocumentError(f"page {ref.id}: not a current page of the export")
        index = part.index
        page = index.pages[ref.id]
        space = index.space_of(page)
        where = f"page {page.id} {page.title!r} ({part.source.describe()})"
        links = LinkContext(
            page_id=page.id,
            base_url=self.base_url,
            page_ids=frozenset(),
            page_url=self.page_url,
        )
        content = self._content(part, page, space.key, links, where)
        ancestors = index.ancestors(page)
        crumbs = TRAIL_SEPARATOR.join(
            html.escape(step) for step in [*self._trail(index, page), page.title]
        )
        sections = [f"<p>{crumbs}</p>", content]
        names = index.attachments.get(page.id, [])
        if self.include_attachments_list and names:
            items = "".join(
                f'<li><a href="{html.escape(links.download_url(page.id, name))}">'
                f"{html.escape(name)}</a></li>"
                for name in names
            )
            sections.append(f"<h2>Attachments</h2><ul>{items}</ul>")
        metadata: dict[str, Any] = {
            "page_id": page.id,
            "content_type": page.kind,
            "space_key": space.key,
            "space_name": space.name,
            "ancestors": [a.title for a in ancestors],
            "ancestor_ids": [a.id for a in ancestors],
            "parent_id": ancestors[-1].id if ancestors else None,
            "version": page.version,
            "last_modified": page.modified,
            "export": part.source.describe(),
        }
        return Document(
            title=page.title,
            body="\n".join(section for section in sections if section),
            body_format="html",
            url=self.page_url(page.id),
            metadata=metadata,
        )

    def _content(
        self, part: _Part, page: PageInfo, space_key: str, links: LinkContext, where: str
    ) -> str:
        body = part.body(page.id)
        if body is not None and body.cut:
            raise DocumentTooLarge(
                f"{where}: its body is larger than the limit of {MAX_RUN_BYTES // 1024**2} MiB"
                " for one page; split the page"
            )
        if body is None or not body.text.strip():
            if not (self.include_attachments_list and part.index.attachments.get(page.id)):
                # Its trail alone would be a page of breadcrumbs: nothing for Fin to answer from.
                raise DocumentExcluded(f"{where}: no body in the export", reason="empty")
            return ""
        if body.body_type == WIKI:
            check_nesting(body.text, where)
            converted = wiki_to_html(body.text, base_url=self.base_url)
        elif body.body_type == STORAGE:
            try:
                tree = parse_storage(body.text)
            except StorageError as exc:
                check_nesting(body.text, where)  # too deep to read says more than malformed
                raise DocumentError(f"{where}: {exc}") from exc
            check_depth(tree, body.text, where)
            ctx = StorageContext(
                page_id=page.id,
                space_key=space_key,
                base_url=self.base_url,
                page_url=self.page_url,
                download_url=links.download_url,
                find_page=self._find,
                page_exists=lambda page_id: page_id in self._owner,
                user_name=self._user,
                load=self._load,
            )
            state = RenderState()
            try:
                renderer = StorageRenderer(ctx, macros=render_macro, state=state)
                converted = renderer.children(tree)
            except ExpansionTooLarge as exc:  # the same at this version: fetched once
                raise DocumentTooLarge(f"{where}: {exc}") from None
            except StorageError as exc:
                raise DocumentError(f"{where}: {exc}") from exc
            except RecursionError:  # each page nests little, but includes add up
                raise NestingTooDeep(
                    f"{where}: with the pages it includes, nested too deep to convert"
                ) from None
            for note in state.notes:
                log.info("confluence.include_skipped", page_id=page.id, note=note)
            if state.dropped:
                log.info("confluence.macros_dropped", page_id=page.id, macros=sorted(state.dropped))
        else:
            raise DocumentError(
                f"{where}: its body has bodyType {body.body_type}, which is neither the storage"
                " format (2) nor wiki markup (0); nothing to publish"
            )
        return clean_converted(converted, links)

    def close(self) -> None:
        """Delete the bodies spooled to disk."""
        for part in self.parts:
            if part.store is not None:
                part.store.close()
                part.store = None


def space_keys(values: Sequence[str] | None) -> list[str] | None:
    """The configured space keys, stripped; None when every space is wanted."""
    if values is None:
        return None
    return [value.strip() for value in values if value.strip()]


_XML_VERSION = re.compile(r"^v(\d+):(.*):([0-9a-f]{12})$")


def describe_change(old: str, new: str) -> str | None:
    """Two listed versions of an XML export's page (``v<version>:<modified>:<place>``) in
    words: ``Confluence version 3 -> 4, modified 2024-05-02 10:11:12``."""
    before, after = _XML_VERSION.match(old), _XML_VERSION.match(new)
    if before is None or after is None:
        return None
    modified = f", modified {after[2]}" if after[2] else ""
    if before[1] != after[1]:
        return f"Confluence version {before[1]} -> {after[1]}{modified}"
    if before[3] != after[3]:
        return f"Confluence version {after[1]}, title or place in the page tree changed"
    return f"Confluence version {after[1]}{modified}"
