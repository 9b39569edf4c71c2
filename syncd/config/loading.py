"""Configuration: the YAML file, ``${VAR}`` interpolation and ``SYNCD_*`` overrides.

Loading order, later wins: the YAML file (after ``${VAR}`` / ``${VAR:-default}``
interpolation), then environment variables named ``SYNCD_<SECTION>__<KEY>`` (for example
``SYNCD_INTERCOM__TOKEN``), read by pydantic-settings, which is imported only when such a
variable is set (it costs some 20 ms to import). The token may also come from
``intercom.token_file``, a file such as a mounted Kubernetes Secret. Relative paths
(``state.url`` for SQLite, ``state.cache_dir``, ``token_file``, connector paths) resolve
against the folder of the configuration file, not the working directory; a relative SQLite
``state.url`` or ``state.cache_dir`` resolves against ``$SYNCD_STATE_DIR`` instead when it is
set (the container image sets its volume).

Every failure raises :class:`~syncd.errors.ConfigError` naming the file and the key.

The whole file is :class:`Config`; its sections (``intercom``, ``state``, ``server`` and each
of ``sources``) are the models of :mod:`syncd.config.sections`, re-exported here.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pydantic

from syncd import redact
from syncd.config.problems import (
    Places,
    check_connector,
    source_names,
    suggestion,
    unset_problems,
    validation_problems,
)
from syncd.config.raw import Unset, interpolate, overrides_present, read_yaml, resolve_paths
from syncd.config.sections import (
    STATE_DIR_VARIABLE,
    IntercomConfig,
    Schedule,
    ServerConfig,
    SourceConfig,
    StateConfig,
)
from syncd.connectors.base import Connector, ConnectorSetup
from syncd.errors import ConfigError

# The section models are defined in syncd.config.sections; callers import them from here.
__all__ = [
    "DEFAULT_PATH",
    "Config",
    "IntercomConfig",
    "Schedule",
    "ServerConfig",
    "SourceConfig",
    "StateConfig",
    "load_config",
]

DEFAULT_PATH = "syncd.yaml"


class Config(pydantic.BaseModel):
    """The whole configuration of one syncd installation."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    intercom: IntercomConfig = IntercomConfig()
    state: StateConfig = StateConfig()
    server: ServerConfig = ServerConfig()
    sources: list[SourceConfig] = pydantic.Field(default_factory=list)

    path: Path | None = pydantic.Field(default=None, exclude=True)

    # Unset ${VAR} references, checked by require() when a command uses what holds them.
    _unset: Unset = pydantic.PrivateAttr(default_factory=Unset)
    _places: Places = pydantic.PrivateAttr(default_factory=lambda: Places(""))

    def source(self, name: str) -> SourceConfig:
        """The source called ``name``; a ConfigError naming the known ones otherwise."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        hint = suggestion(name, [s.name for s in self.sources])
        did_you_mean = f"did you mean {hint!r}? " if hint else ""
        raise ConfigError(
            f"no source named {name!r} ({did_you_mean}configured: {known})",
            path=self._places.path or None,
            key="sources",
        )

    def sources_named(self, names: Iterable[str]) -> list[SourceConfig]:
        """The sources called ``names``, in that order; one ConfigError for every unknown one."""
        found, problems = [], []
        for name in names:
            try:
                found.append(self.source(name))
            except ConfigError as exc:
                problems.append(exc)
        if problems:
            raise ConfigError.combine(problems)
        return found

    def require(self, *parts: str | SourceConfig) -> None:
        """Raise one ConfigError listing every unset ``${VAR}`` that ``parts`` use.

        A part is a section (``"intercom"``, ``"state"``, ``"server"``) or a source. Commands
        call this for what they are about to use, and only for that: a secret that nothing
        in this run reads need not be set.
        """
        scopes = [
            f"sources[{self.sources.index(p)}]" if isinstance(p, SourceConfig) else p for p in parts
        ]
        found = [pair for scope in scopes for pair in self._unset.within(scope)]
        if found:
            problems = unset_problems(found, self._places)
            raise ConfigError.combine(problems)

    def preflight(self, names: Iterable[str] | None = None, *, daemon: bool = False) -> None:
        """The ConfigErrors a sync of ``names`` (all when None or empty), or the daemon, would
        meet at its start; commands call this before opening the state database, so that a
        bad configuration (even an empty file) exits 2 without creating a state file."""
        sources = self.sources_named(names) if names else list(self.sources)
        self.require("intercom", *(["server"] if daemon else []), *sources)
        self.intercom.access_token()


ENV_PREFIX = "SYNCD_"
ENV_NESTED_DELIMITER = "__"


@functools.cache
def _with_environment() -> type[Config]:
    """:class:`Config` that reads ``SYNCD_*`` variables over the values given to it."""
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

    class EnvironmentConfig(BaseSettings, Config):
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX,
            env_nested_delimiter=ENV_NESTED_DELIMITER,
            extra="forbid",
            frozen=True,
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # The environment overrides the file: that is how containers inject secrets.
            return (env_settings, init_settings)

    return EnvironmentConfig


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read, interpolate, override from the environment and validate the configuration.

    Every problem found is reported at once, in one ConfigError. Unset ``${VAR}`` references
    are not problems yet: see :meth:`Config.require`.
    """
    chosen = Path(path or os.environ.get("SYNCD_CONFIG") or DEFAULT_PATH)
    shown = str(chosen)
    raw, lines = read_yaml(chosen, shown)
    unset = Unset()
    raw = interpolate(raw, unset)
    unset.drop_overridden(ENV_PREFIX)
    unset.drop_unused_token(raw)
    unset.drop_unset_hook_secret(raw)
    base_dir = chosen.resolve().parent
    resolve_paths(
        raw,
        base_dir,
        state_dir=os.environ.get(STATE_DIR_VARIABLE),
        default_state_url=StateConfig().url,
    )
    places = Places(shown, source_names(raw), lines)
    problems = _duplicate_names(raw.get("sources"), places)
    problems += _shared_urls(raw.get("sources"), places)
    config = None
    try:
        config_class = (
            _with_environment()
            if overrides_present(ENV_PREFIX, ENV_NESTED_DELIMITER, tuple(Config.model_fields))
            else Config
        )
        config = config_class(**raw, path=chosen.resolve())
    except pydantic.ValidationError as exc:
        problems += validation_problems(exc, model=Config, places=places, unset=unset)
    # Options are checked even when the rest failed, so that one run shows every problem.
    sources = config.sources if config is not None else raw.get("sources")
    setups: list[ConnectorSetup[Connector] | None] = []
    if isinstance(sources, list):
        for index, source in enumerate(sources):
            found, checked = check_connector(
                source, index, base_dir=base_dir, places=places, unset=unset
            )
            problems += found
            setups.append(checked)
    if problems or config is None:
        raise ConfigError.combine(problems)
    for source, checked in zip(config.sources, setups, strict=True):
        source._setup = checked
    problems += _secret_problems(config, shown)
    if problems:
        raise ConfigError.combine(problems)
    config._unset = unset
    config._places = places
    return config


def _duplicate_names(sources: object, places: Places) -> list[ConfigError]:
    """A problem for every source that takes a name an earlier one has (reported with the rest:
    loading goes on)."""
    return _repeats(
        sources,
        places,
        "name",
        lambda name: name,
        lambda name, earlier: (
            f"duplicate source name {name!r}: {earlier} has it already; each"
            " source needs a name of its own"
        ),
    )


def _shared_urls(sources: object, places: Places) -> list[ConfigError]:
    """A problem for every source whose ``url`` an earlier one has (a trailing slash aside).

    Each source's Content Import Source is found in Intercom by its url, so two sources with
    one url would share it: each run would see the other's pages as its own orphans and
    delete them.
    """
    return _repeats(
        sources,
        places,
        "url",
        lambda url: url.strip().rstrip("/"),
        lambda url, earlier: (
            f"url {url!r} is the url of {earlier} too: each source's Content"
            " Import Source is found by its url, so the two would share one and delete each other's"
            " pages; give each source a url of its own"
        ),
    )


def _repeats(
    sources: object,
    places: Places,
    key: str,
    same: Callable[[str], str],
    message: Callable[[str, str], str],
) -> list[ConfigError]:
    """A problem at ``sources[i].key`` for every source whose ``key`` (compared as ``same``
    makes it) an earlier source has; ``message(value, earlier)`` says it."""
    if not isinstance(sources, list):
        return []
    first: dict[str, int] = {}
    problems = []
    for index, source in enumerate(sources):
        value = source.get(key) if isinstance(source, dict) else None
        if not isinstance(value, str):
            continue
        compared = same(value)
        if compared in first:
            where = f"sources[{first[compared]}]"
            line = places.line_of(where)
            shown = places.display(where)
            earlier = f"{shown} (line {line})" if line else shown
            problems.append(places.error(message(value, earlier), f"sources[{index}].{key}"))
        else:
            first[compared] = index
    return problems


def _secret_problems(config: Config, shown: str) -> list[ConfigError]:
    """Register every secret the configuration holds for masking; report malformed ones.

    The Intercom token is checked where it is read (:meth:`IntercomConfig.access_token`):
    a token file is read only then. The database password is masked, not checked: the
    database reports a wrong one itself, without quoting it.
    """
    token = config.intercom.token
    redact.register(token.get_secret_value() if token else None)
    redact.register(config.state.sqlalchemy_url.password)
    secrets = list(redact.secret_fields(config.server, "server"))
    for source in config.sources:
        secrets += redact.secret_fields(source.connector_options, f"sources[{source.name}].options")
    return [
        ConfigError(f"the value {wrong} (it is not shown)", path=shown, key=key)
        for key, wrong in redact.check(secrets)
    ]
