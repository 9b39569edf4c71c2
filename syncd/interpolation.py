"""``${VAR}`` interpolation, with unset variables remembered where they are, not refused.

Vocabulary:

* A **location** is where a value sits in the raw file, written as the file nests it:
  ``intercom.token``, ``sources[2].options.password``.
* An **unset reference** is a ``${VAR}`` (without ``:-default``) whose variable is not in the
  environment. It is not an error by itself: a secret is needed only by what uses it, so
  ``syncd status`` runs without the Intercom token, and ``sync --source handbook`` without the
  wiki's password. The reference is left in the value as written (``${VAR}``, never a secret)
  and :class:`Unset` records it; whoever uses the value first asks :meth:`Unset.within`.
* A location is **overridden** when a ``SYNCD_<SECTION>__<KEY>`` variable replaces it (or a
  section around it): its unset references no longer matter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PART = re.compile(r"[^.\[\]]+")


class Unset:
    """The unset references of one configuration: location -> variable names, in file order."""

    def __init__(self) -> None:
        self.by_location: dict[str, list[str]] = {}

    def add(self, location: str, variable: str) -> None:
        """Remember that ``variable`` is referenced at ``location`` and not set."""
        names = self.by_location.setdefault(location, [])
        if variable not in names:
            names.append(variable)

    def within(self, scope: str) -> list[tuple[str, str]]:
        """(location, variable) of every unset reference at ``scope`` or inside it."""
        return [
            (location, name)
            for location, names in self.by_location.items()
            if contains(scope, location)
            for name in names
        ]

    def around(self, location: str) -> list[tuple[str, str]]:
        """Unset references at ``location`` or at a key holding it: why its value is wrong."""
        return [
            (where, name)
            for where, names in self.by_location.items()
            if contains(where, location)
            for name in names
        ]

    def drop_overridden(self, prefix: str, environ: Mapping[str, str] | None = None) -> None:
        """Forget references that ``<prefix><SECTION>__<KEY>`` variables override."""
        overrides = list(_override_paths(prefix, os.environ if environ is None else environ))
        for location in list(self.by_location):
            parts = [p.lower() for p in _PART.findall(location)]
            if any(parts[: len(path)] == path for path in overrides):
                del self.by_location[location]


def contains(scope: str, location: str) -> bool:
    """Whether ``location`` is ``scope`` itself or nested inside it (an empty scope: all)."""
    return not scope or location == scope or location.startswith((scope + ".", scope + "["))


def join(location: str, key: str) -> str:
    """The location of ``key`` inside the mapping at ``location``."""
    return f"{location}.{key}" if location else key


def interpolate(node: Any, unset: Unset, location: str = "") -> Any:
    """``node`` with each ``${VAR}`` replaced; unset references stay as written, in ``unset``."""
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            if match[0] == "$$":
                return "$"
            value = os.environ.get(match[1])
            if value is not None:
                return value
            if match[2] is not None:
                return match[2]
            unset.add(location, match[1])
            return match[0]

        return _VARIABLE.sub(substitute, node)
    if isinstance(node, Mapping):
        return {k: interpolate(v, unset, join(location, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, unset, f"{location}[{i}]") for i, v in enumerate(node)]
    return node


def _override_paths(prefix: str, environ: Mapping[str, str]) -> Iterable[list[str]]:
    """The key path each ``<prefix>A__B`` variable replaces, lower-cased: ``["a", "b"]``."""
    for name in environ:
        lowered = name.lower()
        if lowered.startswith(prefix.lower()):
            path = lowered.removeprefix(prefix.lower()).split("__")
            if all(path):
                yield path


def referenced(locations: Iterable[tuple[str, str]]) -> str:
    """``A`` or ``A, B``: the variable names of ``locations``, each once."""
    return ", ".join(dict.fromkeys(name for _, name in locations))
