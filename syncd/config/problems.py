"""Configuration problems: pydantic's validation errors as messages a user can act on.

Each problem is one :class:`~syncd.errors.ConfigError` naming the file and the key. Keys of a
source use its name (``sources[handbook].options.path``), its position only when it has no
usable name; an unknown key comes with the closest known one (``did you mean
'max_concurrency'?``); a value that failed because a ``${VAR}`` in it is unset says so instead
of how the leftover text failed to parse.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pydantic

from syncd.config.raw import Unset, join, referenced
from syncd.connectors.base import Connector, ConnectorSetup
from syncd.errors import ConfigError
from syncd.net.plaintext import CONTEXT_KEY

_NAME = re.compile(r"^[a-z0-9_-]+$")
_SOURCE = re.compile(r"^sources\[(\d+)\]")
_LAST_PART = re.compile(r"(\.[^.\[\]]+|\[\d+\])$")
# Wrappers pydantic puts in an error's location for validators; not keys of the file.
_VALIDATOR_PARTS = {"function-after", "function-before", "function-wrap", "function-plain"}


def location(loc: Iterable[int | str], prefix: str = "") -> str:
    """``("sources", 2, "url")`` as ``sources[2].url``, below ``prefix`` if given."""
    text = prefix
    for part in loc:
        if part in _VALIDATOR_PARTS:
            continue
        text = f"{text}[{part}]" if isinstance(part, int) else join(text, str(part))
    return text


def source_names(raw: dict[str, Any]) -> dict[int, str]:
    """Position -> name of each source whose name is valid and unique, for showing keys."""
    sources = raw.get("sources")
    if not isinstance(sources, list):
        return {}
    names = [s.get("name") if isinstance(s, dict) else None for s in sources]
    return {
        index: name
        for index, name in enumerate(names)
        if isinstance(name, str) and _NAME.match(name) and names.count(name) == 1
    }


@dataclasses.dataclass(frozen=True, slots=True)
class Places:
    """How problems name where they are: the file as the user gave it, with the line of the
    key, and sources by their names."""

    path: str
    names: dict[int, str] = dataclasses.field(default_factory=dict)
    lines: dict[str, int] = dataclasses.field(default_factory=dict)

    def error(self, message: str, where: str) -> ConfigError:
        """A problem at location ``where`` (empty: the whole file)."""
        line = self.line_of(where)
        path = f"{self.path}:{line}" if line else self.path
        return ConfigError(message, path=path, key=self.display(where) or None)

    def display(self, where: str) -> str:
        """``where`` with its source's position replaced by the source's name when known."""
        match = _SOURCE.match(where)
        if match is None or int(match[1]) not in self.names:
            return where
        return f"sources[{self.names[int(match[1])]}]{where[match.end() :]}"

    def line_of(self, where: str) -> int | None:
        """The line of ``where`` in the file, or of the nearest key around it (a missing key)."""
        while where:
            if where in self.lines:
                return self.lines[where]
            shorter = _LAST_PART.sub("", where)
            if shorter == where:  # a part no key looks like (a union member's tag)
                return None
            where = shorter
        return None


def unset_problems(pairs: Sequence[tuple[str, str]], places: Places) -> list[ConfigError]:
    """One problem per location holding unset references."""
    by_location: dict[str, list[tuple[str, str]]] = {}
    for pair in pairs:
        by_location.setdefault(pair[0], []).append(pair)
    problems = []
    for where, found in by_location.items():
        variables = referenced(found)
        verb = "are" if "," in variables else "is"
        noun = "variables" if "," in variables else "variable"
        problems.append(places.error(f"environment {noun} {variables} {verb} not set", where))
    return problems


def validation_problems(
    exc: pydantic.ValidationError,
    *,
    model: type[pydantic.BaseModel],
    places: Places,
    unset: Unset,
    prefix: str = "",
) -> list[ConfigError]:
    """Every error of ``exc`` (raised validating ``model`` at ``prefix``), one per key."""
    problems: list[ConfigError] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(p for p in error["loc"] if p not in _VALIDATOR_PARTS)
        where = location(loc, prefix)
        missing = unset.around(where) if where else []
        if missing:
            fresh = [pair for pair in missing if pair[0] not in seen]
            seen.update(w for w, _ in missing)
            problems += unset_problems(fresh, places)
            continue
        if where in seen:
            continue  # one message per key: a union reports each of its members
        seen.add(where)
        if error["type"] == "extra_forbidden":
            message = "unknown key"
            hint = suggestion(str(loc[-1]), known_keys(model, loc[:-1]))
            if hint:
                message += f"; did you mean {hint!r}?"
        else:
            message = error["msg"].removeprefix("Value error, ")
        problems.append(places.error(message, where))
    return problems


def suggestion(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` (a misspelling), if any is close enough."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def known_keys(model: type[pydantic.BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys allowed in the mapping that ``loc`` leads to inside ``model``."""
    current: Any = model
    for part in loc:
        current = _model_in(current)
        if current is None:
            return []
        if isinstance(part, str):
            if not (isinstance(current, type) and issubclass(current, pydantic.BaseModel)):
                return []
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        else:
            args = typing.get_args(current)
            current = args[0] if args else None
    found = _model_in(current)
    if found is None:
        return []
    return [name for name, field in found.model_fields.items() if not field.exclude]


def _model_in(annotation: Any) -> Any:
    """The annotation itself if a model or a container; the model inside ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return annotation
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel):
                return arg
    return None


def check_connector(
    source: Any, index: int, *, base_dir: Path, places: Places, unset: Unset
) -> tuple[list[ConfigError], ConnectorSetup[Connector] | None]:
    """Problems of one source's connector and options, and its setup when they are valid.

    The setup (:meth:`Connector.configure`) is what every run opens its connector from.
    """
    if isinstance(source, pydantic.BaseModel):  # a validated SourceConfig
        source = {
            "connector": source.connector,  # type: ignore[attr-defined]
            "options": source.options,  # type: ignore[attr-defined]
            CONTEXT_KEY: source.allow_insecure_http,  # type: ignore[attr-defined]
        }
    connector = source.get("connector") if isinstance(source, dict) else None
    raw_options = source.get("options", {}) if isinstance(source, dict) else None
    if not isinstance(connector, str) or not isinstance(raw_options, dict):
        return [], None  # the model's validation reports it
    key = f"sources[{index}]"
    if unset.within(f"{key}.connector"):
        return unset_problems(unset.within(f"{key}.connector"), places), None
    try:
        connector_cls = _connector_class(connector)
    except ConfigError as exc:
        return [places.error(exc.message, f"{key}.connector")], None
    try:
        # A secret's transport is judged with the source's allow_insecure_http (plaintext).
        context = {CONTEXT_KEY: _flag(source.get(CONTEXT_KEY))}
        setup = connector_cls.configure(raw_options, base_dir=base_dir, context=context)
    except pydantic.ValidationError as exc:
        problems = validation_problems(
            exc,
            model=connector_cls.Options,
            places=places,
            unset=unset,
            prefix=f"{key}.options",
        )
        return problems, None
    return [], setup


def _flag(value: Any) -> bool:
    """A boolean key's value as the source model reads it; False if it is no boolean (the
    source's own validation reports that)."""
    try:
        return pydantic.TypeAdapter(bool).validate_python(value)
    except pydantic.ValidationError:
        return False


def _connector_class(name: str) -> type[Connector]:
    """The class registered as ``name``; a ConfigError saying why not, with a suggestion."""
    from syncd.connectors import registry

    try:
        return registry.load(name)
    except registry.UnknownConnector as exc:
        message = str(exc)
        hint = suggestion(name, registry.available())
        if hint:
            message = message.replace("; available:", f"; did you mean {hint!r}? available:", 1)
        raise ConfigError(message) from None
    except ImportError as exc:
        raise ConfigError(f"connector {name!r} cannot be imported: {exc}") from None
