"""The commands around syncing: `syncd sandbox` (a local Intercom) and `syncd db upgrade`."""

from __future__ import annotations

import click

from syncd import redact
from syncd.cli.options import State, global_options, load
from syncd.errors import ConfigError

SANDBOX_TOKEN = "sandbox"  # noqa: S105 - the demo token `syncd sandbox` accepts by default


@click.command()
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


@click.group()
@global_options
def db() -> None:
    """Manage the state database."""


@db.command()
@click.pass_obj
@global_options
def upgrade(state: State) -> None:
    """Apply pending migrations (every command also does this when it starts)."""
    from syncd.state import database

    config = load(state)
    config.require("state")
    engine, _ = database.open_database(config.state.sqlalchemy_url)
    try:
        revision = database.current_revision(engine)
    finally:
        engine.dispose()
    shown = config.state.sqlalchemy_url.render_as_string(hide_password=True)
    click.echo(f"state database {shown} is at migration {revision}")
