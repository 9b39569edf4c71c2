"""What a ``connector: markdown`` source's ``options:`` block may say, checked at load time.

where
    ``path`` is the root folder of the tree. With ``git`` (see
    :mod:`syncd.connectors.markdown.gitsource`), syncd fetches the repository itself and
    ``path`` is a folder inside it ("" or unset: its root), so it does not resolve against the
    configuration file's folder; the git key files still do.

which files
    ``include`` and ``exclude`` are globs on the ref id (the path relative to the root, POSIX
    separators); ``**`` spans folders. With ``wiki``, the wiki's host also decides which files
    are pages (see :mod:`syncd.connectors.markdown.wiki`).

attachments
    ``attachments: {types: [pdf, docx], max_bytes: 20MB}``: files of those types anywhere in
    the tree (``exclude`` still applies, ``include`` does not: it chooses pages), Hugo page
    bundles' resources included, are published as pages of their own (see
    :mod:`syncd.extract.attachments`). Markdown files are pages, never attachments.

URLs
    ``base_url`` is the docs site's public URL (default: the source's ``url``);
    ``url_template`` shapes a page's URL from it (see :mod:`syncd.connectors.markdown.urls`).
"""

from __future__ import annotations

from pathlib import Path

import pydantic

from syncd.connectors.base import ConnectorOptions
from syncd.connectors.markdown.gitsource import GitOptions, valid_folder
from syncd.connectors.markdown.urls import TEMPLATE_FIELDS
from syncd.connectors.markdown.wiki import Kind
from syncd.extract.attachments import AttachmentOptions


class MarkdownOptions(ConnectorOptions):
    """Options of a Markdown tree.

    ``url_template`` placeholders: ``{base_url}``, ``{slug}``, ``{path}``, ``{dir}`` and
    ``{name}`` (see :data:`syncd.connectors.markdown.urls.TEMPLATE_FIELDS`), for example
    ``"{base_url}/{slug}.html"``.
    """

    path: Path | None = None  # the root folder; with git, a folder inside the repository
    git: GitOptions | None = None
    wiki: Kind | None = None
    base_url: str | None = None  # the docs site's public URL; default: the source's url
    include: list[str] = pydantic.Field(default_factory=lambda: ["**/*.md", "**/*.markdown"])
    exclude: list[str] = pydantic.Field(default_factory=list)
    url_template: str | None = None
    # Files of these types inside the tree become pages too (see syncd.extract.attachments).
    attachments: AttachmentOptions = pydantic.Field(default_factory=AttachmentOptions)

    @pydantic.field_validator("base_url")
    @classmethod
    def _absolute_base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("base_url must be an absolute http(s) URL")
        return value

    @pydantic.model_validator(mode="after")
    def _where(self, info: pydantic.ValidationInfo) -> MarkdownOptions:
        if self.git is None:
            if self.path is None:
                raise ValueError("path: give the root folder (or git: a repository to fetch)")
            return self
        if self.path is not None:
            valid_folder(str(self.path))
        base_dir = (info.context or {}).get("base_dir")
        for name in ("ssh_key_file", "known_hosts_file"):
            value = getattr(self.git, name)
            if base_dir is not None and value is not None and not value.is_absolute():
                # Both models are frozen; resolution happens once, during validation.
                object.__setattr__(self.git, name, Path(base_dir) / value)
        return self

    def _relative_to_config(self, name: str) -> bool:
        return name != "path" or self.git is None

    def folder(self) -> str:
        """With git: the folder inside the repository, "" for its root."""
        return valid_folder(str(self.path)) if self.path is not None else ""

    @pydantic.field_validator("url_template")
    @classmethod
    def _known_placeholders(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format(**dict.fromkeys(TEMPLATE_FIELDS, "x"))
            except (KeyError, IndexError, ValueError) as exc:
                known = ", ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
                raise ValueError(f"url_template: bad placeholder {exc}; known: {known}") from None
        return value
