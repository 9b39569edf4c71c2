"""A live page's storage format as HTML: the export connector's renderer, fed by the site.

The storage-format renderer of XML exports (:mod:`syncd.connectors.confluence.storage` and
:mod:`~syncd.connectors.confluence.storage_macros`) asks its context for other pages, people
and bodies. Here the site answers (:class:`LiveContext`):

include, excerpt-include
    The target is found by (space, title): from this run's listing when it holds the space,
    else by CQL. Its body is read through the API. A page that includes itself, directly or
    not, is included once (the renderer's guard); at most :data:`MAX_LOADS` bodies are read
    for one page, so a page of a hundred includes cannot stall a run.
children
    The page tree of the listing when the space was listed this run, else CQL ``parent = id``;
    ``all`` or ``depth`` descend further (at most :data:`MAX_CHILDREN` entries in all).
mentions
    ``ri:user`` names (Cloud account ids, Data Center user keys) become display names, asked
    once per person and run.

Pages the account may see but that are left out (a view restriction with
``restricted_pages: skip``) are neither included nor linked to as published pages.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Protocol

import structlog
from lxml import etree

from syncd.connectors.base import DocumentError
from syncd.connectors.confluence.links import LinkContext
from syncd.connectors.confluence.storage import (
    RenderState,
    StorageContext,
    StorageError,
    StorageRenderer,
    ac,
    text_of,
)
from syncd.connectors.confluence.storage_macros import parameters, render_macro
from syncd.connectors.confluence.storage_xml import check_depth, parse_storage
from syncd.connectors.confluence.tidy import clean_converted
from syncd.render.sanitize import check_nesting

log = structlog.get_logger(__name__)

MAX_LOADS = 20  # included bodies read for one page
MAX_CHILDREN = 200  # entries of one children macro
DEFAULT_DEPTH_ALL = 5  # levels shown for ``all=true`` without a depth


class Site(Protocol):
    """What rendering asks the site: pages by title, bodies, people, the page tree."""

    def find(self, space_key: str, title: str) -> str | None:
        """The id of the published page titled so in the space."""
        ...

    def load(self, page_id: str) -> tuple[str, str] | None:
        """(storage body, space key) of a page to include."""
        ...

    def user(self, key: str) -> str | None:
        """A person's display name."""
        ...

    def children_of(self, page_id: str) -> list[str]:
        """Ids of a page's published children, in the site's order."""
        ...

    def title_of(self, page_id: str) -> str:
        """A published page's title."""
        ...

    def page_url(self, page_id: str) -> str:
        """A page's URL on the site."""
        ...


class LoadBudget:
    """Counts the included bodies one page reads (see :data:`MAX_LOADS`)."""

    def __init__(self, load: Callable[[str], tuple[str, str] | None]) -> None:
        self._load = load
        self.used = 0
        self.refused: list[str] = []

    def __call__(self, page_id: str) -> tuple[str, str] | None:
        if self.used >= MAX_LOADS:
            self.refused.append(page_id)
            return None
        self.used += 1
        return self._load(page_id)


def _depth(params: dict[str, etree._Element]) -> int:
    depth_param = params.get("depth")
    text = text_of(depth_param) if depth_param is not None else ""
    if text.isdigit() and int(text) > 0:
        return int(text)
    all_param = params.get("all")
    if all_param is not None and text_of(all_param).lower() == "true":
        return DEFAULT_DEPTH_ALL
    return 1


def children_macro(tree: Site) -> Callable[[StorageRenderer, etree._Element], str]:
    """A macro renderer that draws ``children`` from ``tree`` and leaves the rest as they were."""

    def render(renderer: StorageRenderer, element: etree._Element) -> str:
        name = (element.get(ac("name")) or "").strip().lower()
        if name != "children":
            return render_macro(renderer, element)
        params = parameters(element)
        root: str | None = renderer.ctx.page_id
        page_param = params.get("page")
        if page_param is not None:
            resource = renderer.resource(page_param)
            if resource is None:
                link = page_param.find(ac("link"))
                resource = renderer.resource(link) if link is not None else None
            root = renderer.page_target(resource) if resource is not None else None
        if root is None:
            return ""
        budget = [MAX_CHILDREN]
        return _list(tree, root, _depth(params), budget)

    return render


def _list(tree: Site, parent: str, depth: int, budget: list[int]) -> str:
    items = []
    for child in tree.children_of(parent):
        if budget[0] <= 0:
            break
        budget[0] -= 1
        nested = _list(tree, child, depth - 1, budget) if depth > 1 else ""
        url = html.escape(tree.page_url(child), quote=True)
        items.append(f'<li><a href="{url}">{html.escape(tree.title_of(child))}</a>{nested}</li>')
    return f"<ul>{''.join(items)}</ul>" if items else ""


def render_storage(
    storage: str,
    *,
    where: str,
    page_id: str,
    space_key: str,
    base: str,
    site: Site,
    exists: Callable[[str], bool],
) -> str:
    """A page's storage-format body as clean HTML with absolute links; DocumentError if broken."""
    if not storage.strip():
        return ""
    links = LinkContext(
        page_id=page_id, base_url=base, page_ids=frozenset(), page_url=site.page_url
    )
    budget = LoadBudget(site.load)
    ctx = StorageContext(
        page_id=page_id,
        space_key=space_key,
        base_url=base,
        page_url=site.page_url,
        download_url=links.download_url,
        find_page=site.find,
        page_exists=exists,
        user_name=site.user,
        load=budget,
    )
    state = RenderState()
    try:
        tree = parse_storage(storage)
    except StorageError as exc:
        check_nesting(storage, where)  # too deep to read says more than malformed
        raise DocumentError(f"{where}: {exc}") from exc
    # As the XML export's pages: a body nested thousands deep fails alone with its reason,
    # before the converter recurses into it.
    check_depth(tree, storage, where)
    try:
        renderer = StorageRenderer(ctx, macros=children_macro(site), state=state)
        converted = renderer.children(tree)
    except StorageError as exc:
        raise DocumentError(f"{where}: {exc}") from exc
    for note in state.notes:
        log.info("confluence.include_skipped", page_id=page_id, note=note)
    if budget.refused:
        log.warning("confluence.includes_capped", page_id=page_id, skipped=budget.refused)
    return clean_converted(converted, links)
