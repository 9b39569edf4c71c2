"""Which connector class a source's ``connector:`` name means.

Every connector, syncd's own included, is registered under the ``syncd.connectors``
entry-point group (syncd's in its ``pyproject.toml``; a third-party package's in its own, see
:mod:`syncd.connectors.base` for an example). A built-in name always means syncd's connector:
an entry point of another package under that name is ignored, so an installed package cannot
silently replace a built-in connector.
"""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, entry_points

from syncd.connectors.base import Connector

ENTRY_POINT_GROUP = "syncd.connectors"
DISTRIBUTION = "syncd"

# The built-in connectors, as pyproject.toml registers them (a test keeps the two equal). The
# registry reads this table only for a name syncd's installed metadata lacks: an editable
# install of a source checkout keeps the entry points of the day it was installed, until it is
# installed again.
BUILTIN: dict[str, str] = {
    "markdown": "syncd.connectors.markdown.connector:MarkdownConnector",
    "confluence_export": "syncd.connectors.confluence.connector:ConfluenceExportConnector",
    "mediawiki": "syncd.connectors.mediawiki.connector:MediaWikiConnector",
    "confluence": "syncd.connectors.confluence.live.connector:ConfluenceConnector",
    "dokuwiki": "syncd.connectors.dokuwiki.connector:DokuWikiConnector",
}


class UnknownConnector(LookupError):
    """No built-in connector and no installed entry point has this name."""


def _ours(entry: EntryPoint) -> bool:
    return entry.dist is not None and entry.dist.name == DISTRIBUTION


def registered() -> dict[str, str]:
    """Every configurable name and the ``module:attribute`` it loads, built-in names first."""
    installed = list(entry_points(group=ENTRY_POINT_GROUP))
    ours = {entry.name: entry.value for entry in installed if _ours(entry)}
    found = {name: ours.get(name, target) for name, target in BUILTIN.items()}
    found |= {name: target for name, target in sorted(ours.items()) if name not in found}
    for entry in sorted(installed, key=lambda entry: entry.name):
        found.setdefault(entry.name, entry.value)
    return found


def available() -> list[str]:
    """Every connector name that can be configured, built-in first."""
    return list(registered())


def load(name: str) -> type[Connector]:
    """Import and return the connector class registered as ``name``."""
    names = registered()
    target = names.get(name)
    if target is None:
        raise UnknownConnector(f"unknown connector {name!r}; available: {', '.join(names)}")
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise UnknownConnector(f"connector {name!r} ({target}) is not a Connector subclass")
    return cls
