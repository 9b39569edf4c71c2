"""The sections of the configuration file, each a frozen pydantic model, and their values.

section
    A top-level key of the file: ``intercom`` (:class:`IntercomConfig`, how to reach the API
    and with which token), ``state`` (:class:`StateConfig`, the state database and the cache
    folder) and ``server`` (:class:`ServerConfig`, the daemon's HTTP endpoints). Each
    rejects keys it does not know.

source
    One entry of ``sources`` (:class:`SourceConfig`): a knowledge source, the connector that
    reads it, its Content Import Source ``url`` and its deletion guard. Its ``options`` are
    the connector's own; they are validated against the connector's model when the file is
    loaded (see :func:`syncd.config.loading.load_config`), not here.

schedule
    When ``syncd run`` syncs a source (:class:`Schedule`): every ``interval`` or on a
    ``cron`` expression, plus change triggers with ``watch``.

duration
    ``90s``, ``15m``, ``2h``, ``1d`` or a number of seconds (:func:`parse_duration`).

Loading, ``${VAR}`` interpolation and ``SYNCD_*`` overrides are :mod:`syncd.config.loading`, which
re-exports these models: callers import them from there.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Literal, Self

import pydantic
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from syncd import redact
from syncd.connectors.base import Connector, ConnectorOptions, ConnectorSetup
from syncd.errors import ConfigError

REGION_BASE_URLS = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}
DEFAULT_DELETE_ALLOWANCE = 3
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Where a relative SQLite state.url (the default one included) goes, when set; the container
# image sets its writable volume. Not an override: no key of the file is called state_dir.
STATE_DIR_VARIABLE = "SYNCD_STATE_DIR"

_SOURCE_NAME = re.compile(r"[a-z0-9_-]{1,64}")
MIN_HOOK_SECRET = 16  # characters; a short secret can be guessed over the network


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


def parse_duration(value: Any) -> dt.timedelta:
    """Read ``90s``, ``15m``, ``2h``, ``1d`` or a number of seconds."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError("expected a duration such as 90s, 15m, 2h or 1d")
        seconds = float(match[1]) * _DURATION_UNITS[match[2]]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return dt.timedelta(seconds=seconds)


DEFAULT_POLL = dt.timedelta(seconds=10)
MIN_POLL = dt.timedelta(seconds=1)
DEFAULT_RECONCILE = dt.timedelta(days=1)
MIN_RECONCILE = dt.timedelta(hours=1)  # each lists every page of the source in Intercom


class Schedule(_Model):
    """When `syncd run` syncs a source: every ``interval``, or on a ``cron`` expression.

    ``watch`` adds the source's change trigger (file-system events for a folder, a poll of the
    wiki's recent changes or of an export folder every ``poll``) between those full runs.
    ``watch: poll`` watches a folder by comparing it every ``poll`` instead of by events: for
    network volumes (NFS, SMB, shared PersistentVolumes), where inotify does not fire. For
    sources that are polled anyway it is the same as ``true``. Every ``reconcile`` (default a
    day; ``null``: never) a full run of the daemon also compares Intercom's pages of the
    source with what syncd holds (see :mod:`syncd.sync.drift`).
    """

    interval: dt.timedelta | None = None
    cron: str | None = None
    watch: bool | Literal["poll"] = False
    poll: dt.timedelta = DEFAULT_POLL
    reconcile: dt.timedelta | None = DEFAULT_RECONCILE

    @pydantic.field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> dt.timedelta | None:
        return None if value is None else parse_duration(value)

    @pydantic.field_validator("watch", mode="before")
    @classmethod
    def _watch(cls, value: Any) -> bool | str:
        if isinstance(value, bool):
            return value
        if value == "poll":
            return "poll"
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"  # an environment override is text
        raise ValueError("expected true, false or poll (a folder on a network volume)")

    @pydantic.field_validator("reconcile", mode="before")
    @classmethod
    def _reconcile(cls, value: Any) -> dt.timedelta | None:
        if value is None:
            return None
        every = parse_duration(value)
        if every < MIN_RECONCILE:
            raise ValueError("reconcile at most once an hour (reconcile: 1h or more, or null)")
        return every

    @pydantic.field_validator("poll", mode="before")
    @classmethod
    def _poll(cls, value: Any) -> dt.timedelta:
        poll = parse_duration(value)
        if poll < MIN_POLL:
            raise ValueError("poll at most once a second (poll: 1s or more)")
        return poll

    @pydantic.field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            CronTrigger.from_crontab(value)  # raises ValueError on a bad expression
        return value

    @pydantic.model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("give exactly one of 'interval' or 'cron'")
        return self


class IntercomConfig(_Model):
    """How to reach Intercom's AI Content API."""

    token: pydantic.SecretStr | None = None
    token_file: Path | None = None
    region: Literal["us", "eu", "au"] = "us"
    base_url: str | None = None
    api_version: str = "2.14"
    max_concurrency: int = pydantic.Field(default=8, ge=1, le=64)
    timeout: float = pydantic.Field(default=30.0, gt=0)
    max_page_bytes: int = pydantic.Field(default=2_000_000, ge=10_000)  # rendered HTML

    @pydantic.field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @property
    def api_base_url(self) -> str:
        """``base_url`` if set, else the API host of ``region``."""
        return self.base_url or REGION_BASE_URLS[self.region]

    def access_token(self) -> str:
        """The token from ``token`` or ``token_file``; a ConfigError when neither is set.

        A token file may end with one line break (``echo token > file`` writes one); any
        other whitespace, line break, control or non-ASCII character is a ConfigError that
        names the file and never quotes the token (see :mod:`syncd.redact`).
        """
        if self.token is not None and self.token.get_secret_value():
            token = self.token.get_secret_value()
            redact.register(token)
            if (wrong := redact.problem(token, header=True)) is not None:
                raise ConfigError(
                    f"the token {wrong} (its value is not shown)", key="intercom.token"
                )
            return token
        if self.token_file is not None:
            try:
                text = self.token_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise ConfigError(
                    f"cannot read the token file {self.token_file}: {reason}",
                    key="intercom.token_file",
                ) from None
            redact.register(text)
            token = text.removesuffix("\n").removesuffix("\r")
            if not token.strip():
                raise ConfigError(
                    f"the token file {self.token_file} is empty", key="intercom.token_file"
                )
            if (wrong := redact.problem(token, header=True)) is not None:
                raise ConfigError(
                    f"the token in {self.token_file} {wrong} (its value is not shown)",
                    key="intercom.token_file",
                )
            return token
        raise ConfigError(
            "no Intercom access token: set intercom.token (for example ${INTERCOM_ACCESS_TOKEN}),"
            " SYNCD_INTERCOM__TOKEN or intercom.token_file",
            key="intercom.token",
        )


class StateConfig(_Model):
    """Where syncd remembers what it published."""

    url: str = "sqlite:///syncd.db"
    cache_dir: Path | None = None  # see cache_root
    lease_ttl: dt.timedelta = dt.timedelta(minutes=2)
    lease_wait: dt.timedelta = dt.timedelta(seconds=30)
    run_history: int = pydantic.Field(default=200, ge=1)  # runs kept per source

    @pydantic.field_validator("lease_ttl", "lease_wait", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> dt.timedelta:
        return parse_duration(value)

    @pydantic.field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(
                "not a database URL; expected sqlite:///FILE or postgresql+psycopg://..."
            ) from exc
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {url.get_backend_name()!r}")
        if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
            raise ValueError("use the psycopg driver: postgresql+psycopg://user@host/db")
        return value

    @property
    def sqlalchemy_url(self) -> URL:
        """The parsed URL."""
        return make_url(self.url)

    def cache_root(self) -> Path:
        """Where connectors keep per-source copies (git repositories) between runs.

        ``cache_dir`` when set; else ``syncd-cache`` beside the SQLite database, or with
        PostgreSQL in ``$SYNCD_STATE_DIR`` (``/var/lib/syncd`` in the container image), else in
        the working directory.
        """
        if self.cache_dir is not None:
            return self.cache_dir
        url = self.sqlalchemy_url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).absolute().parent / "syncd-cache"
        state_dir = os.environ.get(STATE_DIR_VARIABLE)
        return (Path(state_dir) if state_dir else Path.cwd()) / "syncd-cache"


class ServerConfig(_Model):
    """The HTTP endpoints of `syncd run`: /healthz, /readyz, /metrics, and /hooks/<source>.

    ``hook_secret`` enables ``POST /hooks/<source>``; unset or empty, there is no such endpoint.
    """

    host: str = "0.0.0.0"  # noqa: S104 - the daemon runs in a container; probes come from outside
    port: int = pydantic.Field(default=9100, ge=0, le=65535)
    hook_secret: pydantic.SecretStr | None = None
    # Set: /hooks/ alone on `port`, every other route on this listener (syncd.daemon.server).
    internal_host: str | None = None  # default: host
    internal_port: int | None = pydantic.Field(default=None, ge=0, le=65535)

    @pydantic.field_validator("hook_secret")
    @classmethod
    def _hook_secret(cls, value: pydantic.SecretStr | None) -> pydantic.SecretStr | None:
        # "${SYNCD_HOOK_SECRET:-}" with the variable unset: no endpoint, not an empty secret.
        if value is None or not value.get_secret_value().strip():
            return None
        # Checked by every command, not just `syncd run`: a mistake shows before deploying.
        if len(value.get_secret_value()) < MIN_HOOK_SECRET:
            raise ValueError(
                f"use a hook secret of at least {MIN_HOOK_SECRET} characters (it is not shown)"
            )
        return value

    @pydantic.field_validator("internal_port")
    @classmethod
    def _two_ports(cls, value: int | None, info: pydantic.ValidationInfo) -> int | None:
        if value and value == info.data.get("port"):
            raise ValueError("the internal listener needs a port of its own (not server.port)")
        return value


class SourceConfig(_Model):
    """One knowledge source and the Content Import Source it feeds."""

    name: str
    connector: str
    url: str
    status: Literal["active", "deactivated"] = "active"
    schedule: Schedule = Schedule(interval=dt.timedelta(minutes=15))
    ai_agent_availability: bool = True
    ai_copilot_availability: bool = True
    max_delete_fraction: float = pydantic.Field(default=0.25, ge=0.0, le=1.0)
    # A run may always remove this many pages, whatever their share: a small source must be
    # able to lose a page. The empty-source stop still applies (see syncd.sync.deletes).
    delete_allowance: int = pydantic.Field(default=DEFAULT_DELETE_ALLOWANCE, ge=0)
    # A token or password may go over plain http:// to another host (see syncd.net.plaintext).
    allow_insecure_http: bool = False
    options: dict[str, Any] = pydantic.Field(default_factory=dict)

    _setup: ConnectorSetup[Connector] | None = pydantic.PrivateAttr(default=None)

    @pydantic.field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if _SOURCE_NAME.fullmatch(value) is None:
            # Said in words: a regular expression is no explanation.
            slug = re.sub(r"[^a-z0-9_-]+", "-", value.lower()).strip("-")[:64]
            like = f" (such as {slug!r})" if slug else ""
            raise ValueError(
                f"{value[:80]!r} cannot name a source: use 1 to 64 lowercase letters, digits,"
                f" '-' or '_'{like}; the name is used in commands, logs, metrics and the"
                " state database"
            )
        return value

    @pydantic.field_validator("url")
    @classmethod
    def _source_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @property
    def setup(self) -> ConnectorSetup[Connector]:
        """The connector class and its validated options (made when the configuration loads)."""
        if self._setup is None:
            raise RuntimeError(f"options of source {self.name!r} were not validated")
        return self._setup

    @property
    def connector_options(self) -> ConnectorOptions:
        """The connector's validated options (set when the configuration is loaded)."""
        return self.setup.options
