"""What a Confluence XML export publishes: the index of current pages, and their bodies.

Two passes over the entities file (:mod:`syncd.connectors.confluence.xml_entities`), never more:

pass 1, :func:`build_index`
    Spaces, users, attachments' names, and the *published* pages' metadata (id, title, space,
    parent, version, dates), with which body belongs to which page. Bodies' texts are skipped.
    Memory holds ids and titles: nothing that grows with the size of the pages.
pass 2, :class:`~syncd.connectors.confluence.xml_bodies.BodyStore`
    Run on the first fetch: the texts of the published pages' bodies only, compressed into an
    anonymous temporary file and read back one at a time. A body the stream cut at the raw
    page limit (:data:`~syncd.connectors.confluence.xml_entities.CUT_MARK`) is kept as
    *cut*, without its text: its page fails alone.

A page is *published* when it is a ``Page`` or ``BlogPost`` object, its ``contentStatus`` is
``current`` (or missing, in old exports), it has neither ``originalVersion`` nor
``originalVersionId`` (historical versions also say ``current``), and its space is current
and chosen. ``Draft`` objects (Confluence 5), ``draft`` pages (either with or without an
original), ``deleted`` (trash) and ``archived`` content are never published. A space export's
descriptor names its space; other spaces in it ("extraneous", CONFSERVER-16575) are dropped.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Collection

from syncd.connectors.confluence.xml_entities import (
    EntitiesSource,
    XmlObject,
    iter_objects,
)

PAGE_CLASSES = frozenset({"Page", "BlogPost"})
_PASS1 = PAGE_CLASSES | {
    "Space", "BodyContent", "Attachment", "ConfluenceUserImpl", "InternalUser",
    "DefaultHibernateUser", "ContentPermissionSet", "ContentPermission",
}  # fmt: skip
STORAGE = "2"  # bodyType of the XHTML-based storage format (Confluence 4.0 and later)
WIKI = "0"  # bodyType of the wiki markup of Confluence 3 (a missing bodyType means the same)


@dataclasses.dataclass(frozen=True, slots=True)
class SpaceInfo:
    """A space of the export."""

    id: str
    key: str
    name: str
    home_id: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class PageInfo:
    """A published page or blog post, without its body."""

    id: str
    kind: str  # "page" or "blogpost"
    title: str
    space_id: str
    parent_id: str | None
    version: str
    modified: str
    body_ids: tuple[str, ...]  # the bodyContents collection, when the export writes one


def is_published(obj: XmlObject) -> bool:
    """Whether a Page/BlogPost object is current content (see the module docstring)."""
    if obj.cls not in PAGE_CLASSES:
        return False
    if (obj.text("contentStatus") or "current") != "current":
        return False
    return obj.text("originalVersion") is None and obj.text("originalVersionId") is None


@dataclasses.dataclass(frozen=True, slots=True)
class AttachedFile:
    """The current version of a file attached to a page: ``attachments/<page>/<id>/<version>``
    in the export."""

    id: str
    name: str
    version: str


@dataclasses.dataclass(slots=True)
class SiteIndex:
    """Pass 1's result: the published pages of the chosen spaces and what resolves links."""

    spaces: dict[str, SpaceInfo] = dataclasses.field(default_factory=dict)
    pages: dict[str, PageInfo] = dataclasses.field(default_factory=dict)
    titles: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    users: dict[str, str] = dataclasses.field(default_factory=dict)  # user key -> shown name
    bodies: dict[str, str] = dataclasses.field(default_factory=dict)  # page id -> body id
    attachments: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    files: dict[str, list[AttachedFile]] = dataclasses.field(default_factory=dict)  # by page
    # Pages of the chosen spaces left out for a view restriction (theirs or an ancestor's):
    # listed, so that each is excluded by name, never silently missing.
    restricted: dict[str, PageInfo] = dataclasses.field(default_factory=dict)
    # Pages of spaces that ``spaces`` does not name: listed, excluded as "space not selected"
    # (so that narrowing ``spaces`` says why their pages go, rather than calling them gone).
    unselected: dict[str, PageInfo] = dataclasses.field(default_factory=dict)
    all_space_keys: frozenset[str] = frozenset()  # every current space, chosen or not

    def space_of(self, page: PageInfo) -> SpaceInfo:
        """The page's space."""
        return self.spaces[page.space_id]

    def find(self, space_key: str, title: str) -> PageInfo | None:
        """The published page with this title in this space (both compared case-blind)."""
        page_id = self.titles.get((space_key.lower(), title.strip().lower()))
        return self.pages.get(page_id) if page_id else None

    def ancestors(self, page: PageInfo) -> list[PageInfo]:
        """The published ancestors of a page, root first; stops at a missing or looping parent."""
        chain: list[PageInfo] = []
        seen = {page.id}
        parent_id = page.parent_id
        while parent_id and parent_id not in seen:
            parent = self.pages.get(parent_id)
            if parent is None:
                break
            chain.append(parent)
            seen.add(parent_id)
            parent_id = parent.parent_id
        chain.reverse()
        return chain


def _space(obj: XmlObject) -> SpaceInfo | None:
    key = obj.text("key")
    if key is None or (obj.text("spaceStatus") or "CURRENT").upper() != "CURRENT":
        return None
    return SpaceInfo(id=obj.id, key=key, name=obj.text("name") or key, home_id=obj.text("homePage"))


def _page(obj: XmlObject) -> PageInfo:
    return PageInfo(
        id=obj.id,
        kind="blogpost" if obj.cls == "BlogPost" else "page",
        title=(obj.props.get("title") or "").strip(),
        # A few distinct values each: one string apiece, not one per page (300,000 pages).
        space_id=sys.intern(obj.text("space") or ""),
        parent_id=obj.text("parent"),
        version=sys.intern(obj.text("version") or ""),
        modified=obj.text("lastModificationDate") or "",
        body_ids=tuple(obj.collections.get("bodyContents", ())),
    )


@dataclasses.dataclass(slots=True)
class _Pass1:
    """What pass 1 gathers before it can tell which of it is wanted."""

    spaces: dict[str, SpaceInfo] = dataclasses.field(default_factory=dict)
    pages: dict[str, PageInfo] = dataclasses.field(default_factory=dict)
    owner_body: dict[str, str] = dataclasses.field(default_factory=dict)  # owner id -> body id
    ownerless: set[str] = dataclasses.field(default_factory=set)  # bodies without `content`
    user_names: dict[str, str] = dataclasses.field(default_factory=dict)  # key -> username
    display: dict[str, str] = dataclasses.field(default_factory=dict)  # username -> full name
    attachments: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    files: dict[str, list[AttachedFile]] = dataclasses.field(default_factory=dict)
    view_sets: dict[str, str] = dataclasses.field(default_factory=dict)  # set id -> content id
    used_sets: set[str] = dataclasses.field(default_factory=set)  # sets holding a permission

    def restricted(self) -> set[str]:
        """Content ids with a view restriction: a View permission set that names someone."""
        return {owner for set_id, owner in self.view_sets.items() if set_id in self.used_sets}

    def add(self, obj: XmlObject) -> None:
        """Take what pass 1 keeps of one object."""
        cls = obj.cls
        if cls in PAGE_CLASSES:
            if is_published(obj):
                self.pages[obj.id] = _page(obj)
        elif cls == "BodyContent":
            self._body(obj)
        elif cls == "Space":
            space = _space(obj)
            if space is not None:
                self.spaces[obj.id] = space
        elif cls == "ContentPermissionSet":
            owner = obj.text("owningContent")
            if owner and (obj.text("type") or "").lower() == "view":
                self.view_sets[obj.id] = owner
        elif cls == "ContentPermission":
            if obj.text("owningSet"):
                self.used_sets.add(obj.text("owningSet") or "")
        elif cls == "Attachment":
            container = obj.text("containerContent") or obj.text("content")
            name = obj.text("title") or obj.text("fileName")
            if container and name and is_current_attachment(obj):
                self.attachments.setdefault(container, []).append(name)
                attached = AttachedFile(obj.id, name, obj.text("version") or "1")
                self.files.setdefault(container, []).append(attached)
        else:
            self._user(obj)

    def _body(self, obj: XmlObject) -> None:
        owner = obj.text("content")
        if owner is None:
            self.ownerless.add(obj.id)
        else:
            # Bodies are indexed by owner id alone: some exports name the owner's class as
            # the abstract ContentEntityObject. The first body of an owner wins.
            self.owner_body.setdefault(owner, obj.id)

    def _user(self, obj: XmlObject) -> None:
        name = obj.text("name")
        if name is None:
            return
        if obj.cls == "ConfluenceUserImpl":
            self.user_names[obj.id] = name
            return
        # InternalUser (Crowd) and DefaultHibernateUser (Confluence 3) carry display names.
        full = obj.text("displayName") or obj.text("fullName")
        if full:
            self.display[name] = " ".join(full.split())


def is_current_attachment(obj: XmlObject) -> bool:
    """Whether an Attachment object is the current version of a file in use."""
    if (obj.text("contentStatus") or "current") != "current":
        return False
    return obj.text("originalVersion") is None and obj.text("originalVersionId") is None


def build_index(
    source: EntitiesSource,
    *,
    spaces: Collection[str] | None = None,
    skip_spaces: Collection[str] = (),
    skip_restricted: bool = True,
) -> SiteIndex:
    """Pass 1: the index of the export's published pages in the chosen spaces.

    ``spaces`` (space keys, case-blind) chooses spaces; None chooses all but personal ones.
    ``skip_spaces`` leaves out spaces another export provides. ``skip_restricted`` leaves out
    pages with a view restriction and, as Confluence inherits it, their descendants.
    """
    found = _Pass1()
    for obj in iter_objects(source, _PASS1, skip=("body",)):
        found.add(obj)
    index = SiteIndex(all_space_keys=frozenset(s.key for s in found.spaces.values()))
    unselected = _choose_spaces(index, found, source.descriptor(), spaces, skip_spaces)
    hidden = _restricted_trees(found) if skip_restricted else set()
    for page in found.pages.values():
        if page.space_id in unselected:
            index.unselected[page.id] = page
            continue
        if page.space_id not in index.spaces:
            continue
        if page.id in hidden:
            index.restricted[page.id] = page
            continue
        index.pages[page.id] = page
        body_id = found.owner_body.get(page.id) or next(
            (body for body in page.body_ids if body in found.ownerless), None
        )
        if body_id is not None:
            index.bodies[page.id] = body_id
        key = sys.intern(index.spaces[page.space_id].key.lower())
        index.titles.setdefault((key, page.title.lower()), page.id)
        if page.id in found.attachments:
            index.attachments[page.id] = sorted(set(found.attachments[page.id]))
            index.files[page.id] = sorted(found.files[page.id], key=lambda f: (f.name, f.id))
    index.users = {key: found.display.get(name, name) for key, name in found.user_names.items()}
    # Confluence 3 names people by username only; their full names still resolve mentions.
    for name, full in found.display.items():
        index.users.setdefault(name, full)
    return index


def _choose_spaces(
    index: SiteIndex,
    found: _Pass1,
    descriptor: dict[str, str],
    spaces: Collection[str] | None,
    skip_spaces: Collection[str],
) -> set[str]:
    """Fill ``index.spaces`` with the chosen spaces; the ids of those ``spaces`` left out."""
    own_key = descriptor.get("spaceKey") if descriptor.get("exportType") == "space" else None
    chosen = {key.lower() for key in spaces} if spaces is not None else None
    skipped = {key.lower() for key in skip_spaces}
    unselected: set[str] = set()
    for space in found.spaces.values():
        key = space.key.lower()
        if own_key is not None and key != own_key.lower():
            continue  # an extraneous space of a space export
        if key in skipped:
            continue
        if chosen is None and key.startswith("~"):
            continue  # personal spaces are published only when named in `spaces`
        if chosen is None or key in chosen:
            index.spaces[space.id] = space
        elif not key.startswith("~"):
            unselected.add(space.id)
    return unselected


def _restricted_trees(found: _Pass1) -> set[str]:
    """Published pages under a view restriction: restricted themselves or below one."""
    restricted = found.restricted()
    if not restricted:
        return set()
    hidden: set[str] = set()
    for page in found.pages.values():
        chain: list[PageInfo] = []
        seen: set[str] = set()
        current: PageInfo | None = page
        while current is not None and current.id not in seen:
            if current.id in restricted or current.id in hidden:
                hidden.update(p.id for p in chain)
                hidden.add(current.id)
                break
            seen.add(current.id)
            chain.append(current)
            current = found.pages.get(current.parent_id or "")
    return hidden
