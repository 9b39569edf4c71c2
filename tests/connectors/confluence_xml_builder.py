"""Synthetic Confluence XML exports (``entities.xml`` + descriptor) for tests, zip or folder.

Objects are written the way Confluence writes them: a flat, unordered list (bodies first,
then pages, as in real site backups), bodies in CDATA with an inner ``]]>`` written as
``]] >``, references as ``<property><id>``, collections of ``<element>``.
"""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

PKG = 'package="com.atlassian.confluence.pages"'


def cdata(text: str) -> str:
    """Text as a CDATA section, an inner CDATA end written as Confluence does."""
    return f"<![CDATA[{text.replace(']]>', ']] >')}]]>"


def prop(name: str, value: str | None) -> str:
    """A scalar property (empty when None)."""
    if value is None:
        return f'<property name="{name}"/>'
    return f'<property name="{name}">{cdata(value)}</property>'


def ref(name: str, cls: str, target: str | None) -> str:
    """A reference property."""
    if target is None:
        return ""
    return f'<property name="{name}" class="{cls}" {PKG}><id name="id">{target}</id>\n</property>'


@dataclasses.dataclass
class XmlPage:
    """A Page or BlogPost object and its body."""

    id: str
    title: str
    body: str | None = "<p>Some text.</p>"
    space: str = "1"
    parent: str | None = None
    cls: str = "Page"
    status: str | None = "current"
    original: str | None = None  # originalVersion: a historical version or an edit draft
    version: int = 1
    modified: str = "2024-05-01 10:00:00.000"
    body_type: str | None = "2"
    link_body_by: str = "content"  # "content" (back-reference), "collection", or "both"


@dataclasses.dataclass
class XmlExportBuilder:
    """Builds an XML export: spaces, pages and raw extra objects."""

    export_type: str = "all"
    space_key: str | None = None  # descriptor spaceKey, for space exports
    datetime: str = "2024-05-01 12:00:00"
    spaces: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)
    pages: list[XmlPage] = dataclasses.field(default_factory=list)
    extra: list[str] = dataclasses.field(default_factory=list)

    def space(self, space_id: str, key: str, name: str, status: str = "CURRENT") -> None:
        """Add a space."""
        self.spaces.append((space_id, key, name, status))

    def page(
        self, page_id: str, title: str, body: str | None = "<p>Some text.</p>", **kw: object
    ) -> XmlPage:
        """Add a page (or blog post, draft, historical version: see :class:`XmlPage`)."""
        page = XmlPage(page_id, title, body, **kw)  # type: ignore[arg-type]
        self.pages.append(page)
        return page

    def user(self, key: str, name: str, display: str | None = None) -> None:
        """Add a user (ConfluenceUserImpl), with a Crowd display name if given."""
        self.extra.append(
            f'<object class="ConfluenceUserImpl" package="com.atlassian.confluence.user">'
            f'<id name="key">{key}</id>{prop("name", name)}</object>'
        )
        if display:
            self.extra.append(
                f'<object class="InternalUser" package="com.atlassian.crowd">'
                f'<id name="id">9{len(self.extra)}</id>{prop("name", name)}'
                f"{prop('displayName', display)}</object>"
            )

    def attachment(self, att_id: str, container: str, name: str, status: str = "current") -> None:
        """Add an attachment of a page."""
        self.extra.append(
            f'<object class="Attachment" {PKG}><id name="id">{att_id}</id>{prop("title", name)}'
            f"{ref('containerContent', 'Page', container)}{prop('contentStatus', status)}</object>"
        )

    def restrict(
        self, set_id: str, page_id: str, kind: str = "View", *, empty: bool = False
    ) -> None:
        """Add a page restriction (a permission set naming one user, unless ``empty``)."""
        self.extra.append(
            f'<object class="ContentPermissionSet" package="com.atlassian.confluence.security">'
            f'<id name="id">{set_id}</id><property name="type">{kind}</property>'
            f"{ref('owningContent', 'Page', page_id)}</object>"
        )
        if not empty:
            self.extra.append(
                f'<object class="ContentPermission" package="com.atlassian.confluence.security">'
                f'<id name="id">{set_id}1</id><property name="type">{kind}</property>'
                f"{ref('owningSet', 'ContentPermissionSet', set_id)}</object>"
            )

    def entities(self) -> str:
        """The whole ``entities.xml``."""
        objects: list[str] = []
        for page in self.pages:
            if page.body is None:
                continue
            body_id = f"{page.id}0"
            owner = ref("content", page.cls, page.id) if page.link_body_by != "collection" else ""
            body_type = (
                ""
                if page.body_type is None
                else f'<property name="bodyType">{page.body_type}</property>'
            )
            objects.append(
                f'<object class="BodyContent" package="com.atlassian.confluence.core">'
                f'<id name="id">{body_id}</id>{prop("body", page.body)}{body_type}{owner}</object>'
            )
        for space_id, key, name, status in self.spaces:
            objects.append(
                f'<object class="Space" package="com.atlassian.confluence.spaces">'
                f'<id name="id">{space_id}</id>{prop("key", key)}{prop("name", name)}'
                f'<property name="spaceStatus" enum-class="SpaceStatus">{status}</property>'
                "</object>"
            )
        for page in self.pages:
            bodies = ""
            if page.body is not None and page.link_body_by != "content":
                bodies = (
                    '<collection name="bodyContents" class="java.util.Collection">'
                    f'<element class="BodyContent"><id name="id">{page.id}0</id></element>'
                    "</collection>"
                )
            objects.append(
                f'<object class="{page.cls}" {PKG}><id name="id">{page.id}</id>'
                f"{prop('title', page.title)}{ref('space', 'Space', page.space)}"
                f"{ref('parent', 'Page', page.parent)}{bodies}"
                f'<property name="version">{page.version}</property>'
                f'<property name="lastModificationDate">{page.modified}</property>'
                f"{ref('originalVersion', page.cls, page.original)}"
                f'<property name="originalVersionId"/>'
                f"{prop('contentStatus', page.status) if page.status else ''}</object>"
            )
        objects.extend(self.extra)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<hibernate-generic datetime="{escape(self.datetime)}">\n'
            + "\n".join(objects)
            + "\n</hibernate-generic>\n"
        )

    def descriptor(self) -> str:
        """``exportDescriptor.properties``."""
        lines = ["#Wed May 01 12:00:00 UTC 2024", f"exportType={self.export_type}"]
        if self.space_key:
            lines.append(f"spaceKey={self.space_key}")
        return "\n".join([*lines, "buildNumber=8703", "backupAttachments=true"]) + "\n"

    def write_zip(self, path: Path, *, entities: bytes | None = None) -> Path:
        """Write the export as a zip (entities.xml, descriptor) and return its path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("entities.xml", entities if entities is not None else self.entities())
            archive.writestr("exportDescriptor.properties", self.descriptor())
        return path

    def write_folder(self, path: Path, *, entities: bytes | None = None) -> Path:
        """Write the export unpacked into a folder and return its path."""
        path.mkdir(parents=True, exist_ok=True)
        (path / "entities.xml").write_bytes(
            entities if entities is not None else self.entities().encode()
        )
        (path / "exportDescriptor.properties").write_text(self.descriptor(), encoding="utf-8")
        return path


def space_export(
    key: str, titles: Sequence[tuple[str, str]], *, datetime: str, space_id: str = "1"
) -> XmlExportBuilder:
    """A space export of space ``key`` holding pages (id, title)."""
    export = XmlExportBuilder(export_type="space", space_key=key, datetime=datetime)
    export.space(space_id, key, f"{key} space")
    for page_id, title in titles:
        export.page(page_id, title, space=space_id)
    return export
