"""The `syncd` command line: parsing, logging set-up, signals and exit codes.

Commands do little themselves: they load the configuration, open the :class:`~syncd.app.App`
and print what it reports. Errors map to exit codes through :mod:`syncd.errors`; a user's
mistake prints one line, never a traceback.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

import click

from syncd import __version__, redact
from syncd import log as logsetup  # before anything else imports structlog: see syncd.log
from syncd.errors import ConfigError, ExitCode, SyncdError, UserError
from syncd.runtime.signals import stop_signals

log = logsetup.get_logger(__name__)

SANDBOX_TOKEN = "sandbox"  # noqa: S105 - the demo token `syncd sandbox` accepts by default
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _State:
    """Options of the top-level group, passed to every command."""

    def __init__(self, config_path: str | None, log_level: str, log_format: str | None) -> None:
        self.config_path = config_path
        self.log_level = log_level
        self.log_format = log_format
        self.loaded_from: str | None = None  # the configuration file, once loaded


def _load(state: _State) -> Any:
    from syncd.config.loading import DEFAULT_PATH, load_config

    state.loaded_from = state.config_path or os.environ.get("SYNCD_CONFIG") or DEFAULT_PATH
    return load_config(state.config_path)


class _Group(click.Group):
    """The top-level group: configuration errors found after loading name the file too.

    A port that is taken or a token file that cannot be read is found by code that knows the
    key, not the file; the message must still say which file to edit.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            state = ctx.find_object(_State)
            if state is None or state.loaded_from is None:
                raise
            raise exc.in_file(state.loaded_from) from None


def _open_app(
    state: _State,
    *,
    sources: Sequence[str] | None = None,
    syncs: bool = False,
    daemon: bool = False,
) -> Any:
    """Load the configuration and open the state database; ``syncs``: the command runs syncs
    (of ``sources``, all when None), so what they need is checked before the database is
    opened: a configuration error creates no state file."""
    with _start_up():
        config = _load(state)  # configuration errors first: they are the commonest
        from syncd.app import App

        if syncs or daemon:
            config.preflight(sources, daemon=daemon)
        return App.open(config)


@contextlib.contextmanager
def _start_up() -> Iterator[None]:
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


_CONFIG_HELP = "Configuration file. Default: $SYNCD_CONFIG, then ./syncd.yaml."
_LOG_LEVELS = click.Choice(["debug", "info", "warning", "error"], case_sensitive=False)
_LOG_LEVEL_HELP = "Least severe log events shown."
_LOG_FORMATS = click.Choice(["json", "console"])
_LOG_FORMAT_HELP = (
    "Log lines as JSON objects or readable text. Default: console on a terminal, else json."
)


def _override(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """A global option given after the command: it wins over the one given before."""
    if value is None or param.name is None:
        return
    state = ctx.find_object(_State)
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
            help=_CONFIG_HELP,
            callback=_override,
            expose_value=False,
        ),
        click.option(
            "--log-level",
            type=_LOG_LEVELS,
            help=_LOG_LEVEL_HELP,
            callback=_override,
            expose_value=False,
        ),
        click.option(
            "--log-format",
            type=_LOG_FORMATS,
            help=_LOG_FORMAT_HELP,
            callback=_override,
            expose_value=False,
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="syncd")
@click.option("--config", "config_path", metavar="PATH", help=_CONFIG_HELP)
@click.option(
    "--log-level", default="info", show_default=True, type=_LOG_LEVELS, help=_LOG_LEVEL_HELP
)
@click.option("--log-format", type=_LOG_FORMATS, help=_LOG_FORMAT_HELP)
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, log_level: str, log_format: str | None
) -> None:
    """Keep Intercom's Fin Content Library equal to your knowledge sources.

    syncd reads each configured source (a Markdown folder, a Confluence space export, a
    MediaWiki or a DokuWiki), sends Intercom only the pages that changed, and removes pages
    whose source document is gone. Exit codes: 0 ok, 1 unexpected error, 2 configuration
    error, 3 some documents failed, 4 safety stop, 5 state database error, 6 Intercom refused
    the token, 75 Intercom unavailable, 130/143 `sync` interrupted by SIGINT/SIGTERM.
    """
    logsetup.configure(log_level, log_format)  # type: ignore[arg-type]
    import stamina.instrumentation

    # Our retry loops log their own events with the operation named; stamina's default hooks
    # would log each retry a second time.
    stamina.instrumentation.set_on_retry_hooks([])
    ctx.obj = _State(config_path, log_level, log_format)


@cli.command()
@click.pass_obj
@global_options
def run(state: _State) -> None:
    """Run as a daemon: sync each source on its schedule and serve /healthz, /readyz, /metrics.

    Stops cleanly on SIGTERM or SIGINT: the document in flight is finished and recorded.
    """
    from syncd.daemon.scheduler import run_daemon

    app = _open_app(state, daemon=True)
    try:
        code = run_daemon(app)
    finally:
        app.close()
    sys.exit(code)


@cli.command()
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="NAME",
    help="Sync only this source (repeatable). Default: every configured source.",
)
@click.option(
    "--full-resync",
    is_flag=True,
    help="Re-send every page whatever its hash, adopt matching pages already in Intercom and "
    "delete pages of our sources that no longer exist at the source.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Write nothing (neither to Intercom nor to the state database); print the plan.",
)
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Allow a run to delete more than max_delete_fraction of a source's pages, or all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.pass_obj
@global_options
def sync(
    state: _State,
    sources: tuple[str, ...],
    full_resync: bool,
    dry_run: bool,
    allow_mass_delete: bool,
    as_json: bool,
) -> None:
    """Sync once and exit (for CronJobs and manual runs)."""
    from syncd import metrics
    from syncd.sync.plan import render_plan
    from syncd.sync.progress import make_progress

    metrics.discard()  # no /metrics endpoint to read them from
    app = _open_app(state, sources=sources, syncs=True)
    # Each run's summary is printed below; on a terminal the log need not say it again.
    app.summaries_shown = logsetup.is_console()
    stop = threading.Event()
    progress = make_progress(sys.stderr)
    received: list[int] = []

    def on_stop(signum: int) -> None:
        log.warning("sync.stopping", signal=signal.Signals(signum).name)
        received.append(signum)
        stop.set()

    with stop_signals(on_stop):
        try:
            outcome = app.sync(
                list(sources) or None,
                full_resync=full_resync,
                dry_run=dry_run,
                allow_mass_delete=allow_mass_delete,
                stop=stop,
                progress=progress,
            )
        finally:
            app.close()
    code = outcome.process_exit_code(received[0] if received else None)
    if as_json:
        _echo(
            json.dumps(
                {
                    "exit_code": code,
                    "dry_run": dry_run,
                    "sources": [r.as_json() for r in outcome.reports],
                },
                indent=2,
            )
        )
    else:
        for report in outcome.reports:
            if dry_run:
                _echo(render_plan(report))
            else:
                _echo(report.summary())
                for ref_id, error in report.failures:
                    _echo(f"  failed {ref_id}: {error}")
    sys.exit(code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
@global_options
def status(state: _State, as_json: bool) -> None:
    """Show, per source: the last run, its counts and duration, pages held, failing documents."""
    from syncd import status as status_mod

    app = _open_app(state)
    try:
        statuses = status_mod.collect(app.config, app.sessions)
    finally:
        app.close()
    if as_json:
        _echo(json.dumps([s.as_json() for s in statuses], indent=2))
    else:
        _echo(status_mod.render(statuses) or "no sources configured")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=int, help="Port to listen on (0: a free one)."
)
@click.option(
    "--token",
    default=SANDBOX_TOKEN,
    show_default=True,
    envvar="SYNCD_SANDBOX_TOKEN",
    help="The bearer token accepted (or $SYNCD_SANDBOX_TOKEN, which other users' process "
    "listings do not show).",
)
@click.option(
    "--rate-limit",
    default=1667,
    show_default=True,
    type=int,
    help="Requests allowed per 10-second window (0: unlimited).",
)
@click.option("--error-rate", default=0.0, type=float, help="Share of requests answered 5xx.")
@click.option("--throttle-rate", default=0.0, type=float, help="Share answered 429 regardless.")
@click.option("--drop-rate", default=0.0, type=float, help="Share of connections dropped.")
@click.option("--latency-ms", default=0.0, type=float, help="Latency added to every request.")
@click.option("--seed", type=int, help="Seed for the fault injection, for repeatable runs.")
@global_options
def sandbox(
    host: str,
    port: int,
    token: str,
    rate_limit: int,
    error_rate: float,
    throttle_rate: float,
    drop_rate: float,
    latency_ms: float,
    seed: int | None,
) -> None:
    """Serve a local, in-memory stand-in for Intercom's AI Content API.

    Point `intercom.base_url` at it to try syncd without an Intercom account. It validates
    requests like Intercom, sends rate-limit headers, and can inject faults. With --port 0 it
    picks a free port and prints the URL it listens on.

    \b
    See what syncd published: GET /ai/content_import_sources and /ai/external_pages, with
    the token and an Accept header allowing JSON (406 otherwise; curl's */* will do):
      curl -H 'Authorization: Bearer sandbox' http://127.0.0.1:8765/ai/external_pages
    DELETE /ai/content_import_sources/ID or /ai/external_pages/ID removes one, as an
    Intercom admin could. Everything is lost when the sandbox stops.
    """
    from syncd.sandbox import SandboxSettings, serve

    if token != SANDBOX_TOKEN:
        redact.register(token)
        if (wrong := redact.problem(token, header=True)) is not None:
            raise ConfigError(f"--token: the token {wrong} (its value is not shown)")
    # The default is a well-known demo value worth showing; a token of one's own is not shown.
    shown = token if token == SANDBOX_TOKEN else "as given by --token"
    settings = SandboxSettings(
        token=token,
        rate_limit=rate_limit,
        error_rate=error_rate,
        throttle_rate=throttle_rate,
        drop_rate=drop_rate,
        latency_ms=latency_ms,
        seed=seed,
    )

    def announce(url: str) -> None:
        click.echo(f"sandbox listening on {url} (token: {shown})", err=True)

    try:
        serve(settings, host=host, port=port, on_ready=announce)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"cannot listen on {host}:{port}: {reason}; choose another port with --port"
            " (--port 0 picks a free one)",
            key="--port",
        ) from None


@cli.group()
@global_options
def db() -> None:
    """Manage the state database."""


@db.command()
@click.pass_obj
@global_options
def upgrade(state: _State) -> None:
    """Apply pending migrations (every command also does this when it starts)."""
    from syncd.state import database

    config = _load(state)
    config.require("state")
    engine, _ = database.open_database(config.state.sqlalchemy_url)
    try:
        revision = database.current_revision(engine)
    finally:
        engine.dispose()
    shown = config.state.sqlalchemy_url.render_as_string(hide_password=True)
    click.echo(f"state database {shown} is at migration {revision}")


def _echo(text: str, *, err: bool = False) -> None:
    """Print ``text`` with every registered secret masked (see syncd.redact)."""
    click.echo(redact.redact(text), err=err)


def _fail(message: str, code: ExitCode) -> NoReturn:
    for line in message.splitlines() or [""]:
        _echo(f"syncd: error: {line}", err=True)
    sys.exit(int(code))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `syncd` command and `python -m syncd`."""
    # At exit the interpreter runs full collections over every object still alive (some
    # 0.2 s after a sync of a large source) only to free memory the OS takes back anyway.
    # Frozen objects are skipped; atexit runs when the process really ends, after our work.
    atexit.register(gc.freeze)
    run_cli: Callable[..., Any] = cli.main
    try:
        run_cli(args=argv, prog_name="syncd", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.CONFIG if isinstance(exc, click.UsageError) else ExitCode.UNEXPECTED)
    except click.exceptions.Abort:
        _fail("aborted", ExitCode.UNEXPECTED)
    except UserError as exc:
        _fail(str(exc), exc.exit_code)
    except SyncdError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        log.exception("syncd.crashed")
        _fail(f"unexpected {type(exc).__name__}: {exc}", ExitCode.UNEXPECTED)
