"""The `syncd` command line: parsing, logging set-up, signals and exit codes.

Commands do little themselves: they load the configuration, open the :class:`~syncd.app.App`
and print what it reports. Errors map to exit codes through :mod:`syncd.errors`; a user's
mistake prints one line, never a traceback.
"""

from __future__ import annotations

import atexit
import gc
import json
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn

import click

from syncd import __version__
from syncd import log as logsetup  # before anything else imports structlog: see syncd.log
from syncd.cli import tools
from syncd.cli.options import (
    CONFIG_HELP,
    CONTEXT_SETTINGS,
    LOG_FORMAT_HELP,
    LOG_FORMATS,
    LOG_LEVEL_HELP,
    LOG_LEVELS,
    Group,
    State,
    echo,
    global_options,
    open_app,
)
from syncd.errors import ExitCode, SyncdError, UserError
from syncd.runtime.signals import stop_signals

log = logsetup.get_logger(__name__)


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="syncd")
@click.option("--config", "config_path", metavar="PATH", help=CONFIG_HELP)
@click.option(
    "--log-level", default="info", show_default=True, type=LOG_LEVELS, help=LOG_LEVEL_HELP
)
@click.option("--log-format", type=LOG_FORMATS, help=LOG_FORMAT_HELP)
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
    ctx.obj = State(config_path, log_level, log_format)


@cli.command()
@click.pass_obj
@global_options
def run(state: State) -> None:
    """Run as a daemon: sync each source on its schedule and serve /healthz, /readyz, /metrics.

    Stops cleanly on SIGTERM or SIGINT: the document in flight is finished and recorded.
    """
    from syncd.daemon.scheduler import run_daemon

    app = open_app(state, daemon=True)
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
    state: State,
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
    app = open_app(state, sources=sources, syncs=True)
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
        echo(
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
                echo(render_plan(report))
            else:
                echo(report.summary())
                for ref_id, error in report.failures:
                    echo(f"  failed {ref_id}: {error}")
    sys.exit(code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
@global_options
def status(state: State, as_json: bool) -> None:
    """Show, per source: the last run, its counts and duration, pages held, failing documents."""
    from syncd import status as status_mod

    app = open_app(state)
    try:
        statuses = status_mod.collect(app.config, app.sessions)
    finally:
        app.close()
    if as_json:
        echo(json.dumps([s.as_json() for s in statuses], indent=2))
    else:
        echo(status_mod.render(statuses) or "no sources configured")


cli.add_command(tools.sandbox)
cli.add_command(tools.db)


def _fail(message: str, code: ExitCode) -> NoReturn:
    for line in message.splitlines() or [""]:
        echo(f"syncd: error: {line}", err=True)
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
