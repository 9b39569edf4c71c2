"""Which connector class a source's ``connector:`` name means.

Built-in connectors are named here; any installed package can add more through the
``syncd.connectors`` entry-point group (see :mod:`syncd.connectors.base` for an example). A built-in
name always wins, so an installed package cannot silently replace a built-in connector.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from syncd.connectors.base import Connector

ENTRY_POINT_GROUP = "syncd.connectors"

BUILTIN: dict[str, str] = {
    "markdown": "syncd.connectors.markdown.connector:MarkdownConnector",
    "confluence_export": "syncd.connectors.confluence.connector:ConfluenceExportConnector",
    "mediawiki": "syncd.connectors.mediawiki.connector:MediaWikiConnector",
    "confluence": "syncd.connectors.confluence.live.connector:ConfluenceConnector",
    "dokuwiki": "syncd.connectors.dokuwiki.connector:DokuWikiConnector",
}


class UnknownConnector(LookupError):
    """No built-in connector and no installed entry point has this name."""


def available() -> list[str]:
    """Every connector name that can be configured, built-in first."""
    plugins = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return list(BUILTIN) + [name for name in plugins if name not in BUILTIN]


def load(name: str) -> type[Connector]:
    """Import and return the connector class registered as ``name``."""
    target = BUILTIN.get(name)
    if target is None:
        matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not matches:
            raise UnknownConnector(
                f"unknown connector {name!r}; available: {', '.join(available())}"
            )
        target = matches[0].value
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise UnknownConnector(f"connector {name!r} ({target}) is not a Connector subclass")
    return cls
