"""The options of the ``confluence_export`` connector (see :mod:`.connector` for the formats)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pydantic

from syncd.connectors.base import ConnectorOptions
from syncd.extract.attachments import AttachmentOptions


class ConfluenceExportOptions(ConnectorOptions):
    """Options of the ``confluence_export`` connector."""

    path: Path
    """An export (folder or ``.zip``, HTML or XML) or a folder of XML exports; relative paths
    resolve against the config file."""
    base_url: str | None = None
    """The Confluence site the pages live on; defaults to the source's ``url``."""
    page_url_template: str | None = None
    """A page's URL from ``{base_url}`` and ``{id}``; defaults to the ``viewpage.action`` URL."""
    include_attachments_list: bool = False
    """Append the page's list of attachments (names linked to the site) to its body."""
    spaces: list[str] | None = None
    """Space keys to publish (case-blind); None: every space (personal spaces only by name).
    A named space that no export holds stops the run unless ``missing_spaces`` is delete."""
    missing_spaces: Literal["keep", "delete"] = "keep"
    """XML: keep reading a space the newest exports lack from an older one (``keep``), or
    let its pages be deleted (``delete``); see :mod:`syncd.connectors.confluence.exports`."""
    attachments: AttachmentOptions = pydantic.Field(default_factory=AttachmentOptions)
    """Published pages' attached files of these types as pages (:mod:`.attachments`)."""
    restricted_pages: Literal["skip", "publish"] = "skip"
    """XML exports: leave out pages with a view restriction and their descendants (``skip``),
    or publish them like any page (``publish``)."""

    @pydantic.field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @pydantic.field_validator("page_url_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            value.format(base_url="https://example.com", id="1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"not a valid template ({exc}); use the fields {{base_url}} and {{id}}"
            ) from exc
        if "{id}" not in value:
            raise ValueError("the template must contain {id}, or every page gets the same URL")
        return value
