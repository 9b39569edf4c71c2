"""What every `syncd` command shares: the global options, the configuration and the app.

The global options (``--config``, ``--log-level``, ``--log-format``) are accepted before the
command and after it (``syncd sync --config x.yaml``); the one given last wins. Commands open
the configuration and the :class:`~syncd.app.App` through :func:`open_app`, which checks what
the command needs before the state database is opened, so a configuration error creates no
state file. Everything printed goes through :func:`echo`, which masks every known secret.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click

from syncd import log as logsetup
from syncd import redact
from syncd.errors import ConfigError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class State:
    """Options of the top-level group, passed to every command."""

    def __init__(self, config_path: str | None, log_level: str, log_format: str | None) -> None:
        self.config_path = config_path
        self.log_level = log_level
        self.log_format = log_format
        self.loaded_from: str | None = None  # the configuration file, once loaded


def load(state: State) -> Any:
    from syncd.config.loading import DEFAULT_PATH, load_config

    state.loaded_from = state.config_path or os.environ.get("SYNCD_CONFIG") or DEFAULT_PATH
    return load_config(state.config_path)


class Group(click.Group):
    """The top-level group: configuration errors found after loading name the file too.

    A port that is taken or a token file that cannot be read is found by code that knows the
    key, not the file; the message must still say which file to edit.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            state = ctx.find_object(State)
            if state is None or state.loaded_from is None:
                raise
            raise exc.in_file(state.loaded_from) from None


def open_app(
    state: State,
    *,
    sources: Sequence[str] | None = None,
    syncs: bool = False,
    daemon: bool = False,
) -> Any:
    """Load the configuration and open the state database; ``syncs``: the command runs syncs
    (of ``sources``, all when None), so what they need is checked before the database is
    opened: a configuration error creates no state file."""
    with start_up():
        config = load(state)  # configuration errors first: they are the commonest
        from syncd.app import App

        if syncs or daemon:
            config.preflight(sources, daemon=daemon)
        return App.open(config)


@contextlib.contextmanager
def start_up() -> Iterator[None]:
    """Import, configure and open without the cyclic garbage collector, then freeze.

    Start-up creates some 80,000 objects (modules, classes, SQLAlchemy and pydantic
    machinery) that live as long as the process. Collected as they pile up, they cost about
    200 collections and 60 ms; once frozen, no later collection (of a sync or of the
    daemon's hours) walks them again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


CONFIG_HELP = "Configuration file. Default: $SYNCD_CONFIG, then ./syncd.yaml."
LOG_LEVELS = click.Choice(["debug", "info", "warning", "error"], case_sensitive=False)
LOG_LEVEL_HELP = "Least severe log events shown."
LOG_FORMATS = click.Choice(["json", "console"])
LOG_FORMAT_HELP = (
    "Log lines as JSON objects or readable text. Default: console on a terminal, else json."
)


def _override(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """A global option given after the command: it wins over the one given before."""
    if value is None or param.name is None:
        return
    state = ctx.find_object(State)
    if state is None:  # the command was invoked on its own, without the group (tests)
        return
    setattr(state, param.name, value)
    if param.name != "config_path":
        logsetup.configure(state.log_level, state.log_format)  # type: ignore[arg-type]


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Accept the group's options after the command too: `syncd sync --config x.yaml`."""
    options = [
        click.option(
            "--config",
            "config_path",
            metavar="PATH",
            help=CONFIG_HELP,
            callback=_override,
            expose_value=False,
        ),
        click.option(
            "--log-level",
            type=LOG_LEVELS,
            help=LOG_LEVEL_HELP,
            callback=_override,
            expose_value=False,
        ),
        click.option(
            "--log-format",
            type=LOG_FORMATS,
            help=LOG_FORMAT_HELP,
            callback=_override,
            expose_value=False,
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def echo(text: str, *, err: bool = False) -> None:
    """Print ``text`` with every registered secret masked (see syncd.redact)."""
    click.echo(redact.redact(text), err=err)
