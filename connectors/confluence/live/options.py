"""Options of the ``confluence`` connector, and what they decide before any request."""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

import pydantic

from syncd.connectors.base import ConnectorOptions
from syncd.extract.attachments import AttachmentOptions
from syncd.net.plaintext import refuse_plain_http

Deployment = Literal["cloud", "datacenter"]


class ConfluenceOptions(ConnectorOptions):
    """Options of the ``confluence`` connector (live Confluence over REST)."""

    site: str
    """The site's base URL: ``https://acme.atlassian.net/wiki`` (Cloud), or a Data Center base
    URL with its context path (``https://wiki.example.com/confluence``)."""
    deployment: Deployment | None = None
    """``cloud`` or ``datacenter``; None: Cloud for ``*.atlassian.net``, else Data Center."""
    spaces: list[str] = pydantic.Field(min_length=1)
    """Space keys to publish."""
    email: str | None = None
    """Cloud: the Atlassian account of the API token (Basic auth). Data Center: leave unset."""
    token: pydantic.SecretStr | None = None
    """A Cloud API token, or a Data Center personal access token (sent as Bearer)."""
    blogposts: bool = True
    """Publish the spaces' blog posts as well as their pages."""
    restricted_pages: Literal["skip", "publish"] = "skip"
    """Leave out pages with a view restriction and their descendants (``skip``), or publish
    every page the account can read (``publish``)."""
    timeout: float = pydantic.Field(default=30.0, gt=0)
    """Seconds one request may take, all of it."""
    page_size: int = pydantic.Field(default=250, ge=1, le=250)
    """Results asked per listing request (the site may give fewer)."""
    attachments: AttachmentOptions = pydantic.Field(default_factory=AttachmentOptions)
    """Published pages' attached files of these types as pages (:mod:`.attachments`)."""

    @pydantic.field_validator("site")
    @classmethod
    def _site(cls, value: str) -> str:
        split = urlsplit(value.strip())
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError("expected the http:// or https:// base URL of the Confluence site")
        if split.query or split.fragment:
            raise ValueError("expected a base URL without ?query or #fragment")
        return value.strip().rstrip("/")

    @pydantic.field_validator("token")
    @classmethod
    def _token_over_tls(
        cls, value: pydantic.SecretStr | None, info: pydantic.ValidationInfo
    ) -> pydantic.SecretStr | None:
        # The source-level allow_insecure_http reaches us through the context.
        if value is not None and isinstance(site := info.data.get("site"), str):
            refuse_plain_http(site, what="the Confluence token", context=info.context)
        return value

    @pydantic.field_validator("spaces")
    @classmethod
    def _spaces(cls, value: list[str]) -> list[str]:
        keys = [key.strip() for key in value if key.strip()]
        if not keys:
            raise ValueError("name at least one space key")
        return list(dict.fromkeys(keys))

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        split = urlsplit(self.site)
        if self.kind == "cloud" and self.token is not None and not self.email:
            raise ValueError("Confluence Cloud needs `email`, the account the API token belongs to")
        if self.kind == "cloud" and not split.path.endswith("/wiki"):
            raise ValueError("a Confluence Cloud site is https://<name>.atlassian.net/wiki")
        return self

    @property
    def kind(self) -> Deployment:
        """The deployment, told from the site's host when not given."""
        if self.deployment is not None:
            return self.deployment
        host = urlsplit(self.site).hostname or ""
        return "cloud" if host.endswith(".atlassian.net") else "datacenter"
