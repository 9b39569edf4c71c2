"""The configuration before validation: the YAML file read, ``${VAR}`` interpolated, relative
paths made absolute.

Unset variables are remembered where they are, not refused. Vocabulary:

* A **location** is where a value sits in the raw file, written as the file nests it:
  ``intercom.token``, ``sources[2].options.password``.
* An **unset reference** is a ``${VAR}`` (without ``:-default``) whose variable is not in the
  environment. It is not an error by itself: a secret is needed only by what uses it, so
  ``syncd status`` runs without the Intercom token, and ``sync --source handbook`` without the
  wiki's password. The reference is left in the value as written (``${VAR}``, no value)
  and :class:`Unset` records it; whoever uses the value first asks :meth:`Unset.within`.
* A location is **overridden** when a ``SYNCD_<SECTION>__<KEY>`` variable replaces it (or a
  section around it): its unset references no longer matter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from syncd.errors import ConfigError

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

    def drop_unused_token(self, raw: dict[str, Any]) -> None:
        """With ``intercom.token_file`` set, an unset ``token: ${VAR}`` means no token.

        The example configuration reads the token from ``${INTERCOM_ACCESS_TOKEN}``; an
        installation that mounts a token file instead need not set that variable too.
        """
        intercom = raw.get("intercom")
        if not isinstance(intercom, dict) or not intercom.get("token_file"):
            return
        names = self.by_location.get("intercom.token", [])
        if names and intercom.get("token") == "".join(f"${{{name}}}" for name in names):
            intercom["token"] = None
            del self.by_location["intercom.token"]

    def drop_unset_hook_secret(self, raw: dict[str, Any]) -> None:
        """An unset ``server.hook_secret: ${VAR}`` means no hook endpoint, not an error.

        The secret's text must never be the reference itself (``${SYNCD_HOOK_SECRET}`` is no
        secret): the value becomes None, and `syncd run` serves no ``/hooks/``.
        """
        server = raw.get("server")
        names = self.by_location.get("server.hook_secret", [])
        if isinstance(server, dict) and names:
            server["hook_secret"] = None
            del self.by_location["server.hook_secret"]


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


def overrides_present(prefix: str, delimiter: str, fields: Iterable[str]) -> bool:
    """Whether a variable names one of ``fields``, as pydantic-settings matches them.

    ``<prefix><FIELD>`` or ``<prefix><FIELD><delimiter><KEY>...``, in any case; other
    variables of the prefix (``SYNCD_CONFIG``, or ``SYNCD_STATE_URL`` interpolated into a
    file) are not overrides.
    """
    lowered = prefix.lower()
    names = tuple(f.lower() for f in fields)
    for name in os.environ:
        key = name.lower()
        if key.startswith(lowered):
            key = key.removeprefix(lowered)
            if any(key == f or key.startswith(f + delimiter) for f in names):
                return True
    return False


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


def read_yaml(chosen: Path, shown: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The mapping the YAML file ``chosen`` holds, and the line of each location in it.

    A ConfigError names the file as ``shown`` when it cannot be read or parsed.
    """
    try:
        text = chosen.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            "configuration file not found (pass --config or set SYNCD_CONFIG)", path=shown
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the configuration file: {exc}", path=shown) from None
    loader = yaml.SafeLoader(text)
    try:
        # One parse gives both the nodes (with their lines) and the data built from them.
        node = loader.get_single_node()
        raw = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"invalid YAML{where}: {problem}", path=shown) from None
    finally:
        loader.dispose()
    if raw is None or node is None:
        return {}, {}
    if not isinstance(raw, dict):
        raise ConfigError("the file must hold a mapping of sections", path=shown)
    lines: dict[str, int] = {}
    _record_lines(node, "", lines)
    return raw, lines


def _record_lines(node: yaml.Node, location: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            where = join(location, str(key_node.value))
            lines.setdefault(where, key_node.start_mark.line + 1)
            _record_lines(value_node, where, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            where = f"{location}[{index}]"
            lines.setdefault(where, item.start_mark.line + 1)
            _record_lines(item, where, lines)


def resolve_paths(
    raw: dict[str, Any], base_dir: Path, *, state_dir: str | None, default_state_url: str
) -> None:
    """Make the relative paths of ``raw`` absolute, in place.

    Against ``base_dir`` (the configuration file's folder), except a relative SQLite
    ``state.url`` (the default included) and ``state.cache_dir``, which go to ``state_dir``
    when given: a container mounts its configuration read-only and its state as a volume.
    """
    folder = Path(state_dir).resolve() if state_dir else base_dir
    state = raw.setdefault("state", {})
    if isinstance(state, dict):
        state.setdefault("url", default_state_url)
    if isinstance(state, dict) and isinstance(state.get("url"), str):
        try:
            url = make_url(state["url"])
        except ArgumentError:
            return  # the validator reports it with the key
        database = url.database
        if (
            url.get_backend_name() == "sqlite"
            and database
            and database != ":memory:"
            and not Path(database).is_absolute()
        ):
            state["url"] = url.set(database=str(folder / database)).render_as_string(
                hide_password=False
            )
    if isinstance(state, dict) and isinstance(state.get("cache_dir"), str):
        cache_dir = Path(state["cache_dir"])
        if not cache_dir.is_absolute():
            state["cache_dir"] = str(folder / cache_dir)
    intercom = raw.get("intercom")
    if isinstance(intercom, dict) and isinstance(intercom.get("token_file"), str):
        token_file = Path(intercom["token_file"])
        if not token_file.is_absolute():
            intercom["token_file"] = str(base_dir / token_file)
