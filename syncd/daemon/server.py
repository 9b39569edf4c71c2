"""The HTTP endpoints of `syncd run`: liveness, readiness and Prometheus metrics.

``GET /healthz``
    200 ``ok`` while the process serves requests at all (the liveness probe).
``GET /readyz``
    200 ``ready`` when the readiness check returns ``None``; 503 with the check's short reason
    otherwise (state database unreachable, migrations behind, shutting down).
``GET /metrics``
    The default Prometheus registry in the text exposition format (see :mod:`syncd.metrics`).
``GET /``, ``/status``, ``/status.json``, ``POST /status/run/<source>``
    The status page, when one is given (see :mod:`syncd.daemon.statuspage`).
``POST /hooks/<source>``
    Only when a hook handler is given (``server.hook_secret`` is set): asks for a run of the
    source now (see :mod:`syncd.daemon.triggers.hooks`).

With ``server.internal_port`` set, ``/hooks/`` stays on ``server.port`` and every other route
moves to an internal listener (:class:`Endpoints`), so an ingress can expose the hooks alone.

A small Starlette application served by uvicorn in a background thread, so the scheduler's
threads and the endpoints share one process and one metrics registry (see
:mod:`syncd.runtime.serving`): a port already in use fails in :meth:`HttpServer.start`, before
any scheduling starts, and port 0 picks a free port (tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from syncd import metrics as syncd_metrics
from syncd.daemon.guard import GuardedH11Protocol, limits
from syncd.errors import ConfigError
from syncd.runtime.serving import ListenError, ThreadedServer

if TYPE_CHECKING:
    from syncd.config.sections import ServerConfig
    from syncd.daemon.statuspage import StatusPage
    from syncd.daemon.triggers.hooks import HookEndpoint

Part = Literal["all", "public", "internal"]
Readiness = Callable[[], str | None]
"""Returns ``None`` when ready, else a short reason that contains no secret."""

log = structlog.get_logger(__name__)


def create_asgi_app(
    readiness: Readiness,
    hooks: HookEndpoint | None = None,
    *,
    part: Part = "all",
    status: StatusPage | None = None,
) -> Starlette:
    """The ASGI application serving ``/healthz``, ``/readyz``, ``/metrics`` (and hooks).

    ``part``: every route (``all``), the hooks alone (``public``), or every route but the
    hooks (``internal``); a route added here is internal unless it is under ``/hooks/``.
    """

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        # The check may query the database: keep it off the event loop.
        try:
            reason = await run_in_threadpool(readiness)
        except Exception as exc:  # a failing check means "not ready", never a 500
            log.warning("server.readiness_error", error=type(exc).__name__)
            reason = f"readiness check failed ({type(exc).__name__})"
        if reason is None:
            return PlainTextResponse("ready\n")
        return PlainTextResponse(f"not ready: {reason}\n", status_code=503)

    # A scrape before the first run must already list every series (at zero).
    syncd_metrics.register()

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if status is not None:
        routes += [
            Route("/", status.page, methods=["GET", "HEAD"]),
            Route("/status", status.page, methods=["GET", "HEAD"]),
            Route("/status.json", status.as_json, methods=["GET"]),
            Route("/status/run/{source}", status.run_now, methods=["POST"]),
        ]
    if hooks is not None:
        routes.append(Route("/hooks/{source}", hooks.handle, methods=["POST"]))
    if part != "all":
        routes = [r for r in routes if r.path.startswith("/hooks/") == (part == "public")]
    return Starlette(routes=routes)


class HttpServer(ThreadedServer):
    """Serves :func:`create_asgi_app` on ``host``:``port`` from a daemon thread."""

    def __init__(
        self,
        readiness: Readiness,
        *,
        host: str,
        port: int,
        hooks: HookEndpoint | None = None,
        part: Part = "all",
        keys: tuple[str, str] = ("server.host", "server.port"),
        status: StatusPage | None = None,
    ) -> None:
        self.keys = keys  # the configuration keys of the host and the port, for errors
        cap, backlog = limits()
        super().__init__(
            create_asgi_app(readiness, hooks, part=part, status=status),
            host=host,
            port=port,
            name="syncd-http",
            timeout_graceful_shutdown=2,
            # Slow or silent connections are closed and capped (see syncd.daemon.guard).
            http=type("Guarded", (GuardedH11Protocol,), {"cap": cap}),
            backlog=backlog,
            timeout_keep_alive=5,
        )

    def start(self) -> None:
        """Bind the socket and serve; ConfigError (server.host or server.port) when it fails."""
        try:
            super().start()
        except ListenError as exc:
            raise ConfigError(str(exc), key=self.keys[0 if exc.unresolved else 1]) from None
        except RuntimeError:
            raise ConfigError(
                f"the HTTP server on {self.host}:{self.port} did not start", key="server"
            ) from None
        log.info("server.started", url=self.url)


class Endpoints:
    """The listeners of `syncd run`: by default one, on ``server.port``, serving every route.

    With ``server.internal_port`` set, ``server.port`` serves ``/hooks/`` alone (the one route
    meant to face strangers) and a second listener on ``server.internal_host`` (default:
    ``server.host``) and ``server.internal_port`` serves the rest: probes, metrics, status.
    """

    def __init__(
        self,
        readiness: Readiness,
        config: ServerConfig,
        hooks: HookEndpoint | None,
        status: StatusPage | None = None,
    ) -> None:
        if config.internal_port is None:
            self.servers = [
                HttpServer(
                    readiness, host=config.host, port=config.port, hooks=hooks, status=status
                )
            ]
            return
        self.servers = [
            HttpServer(readiness, host=config.host, port=config.port, hooks=hooks, part="public"),
            HttpServer(
                readiness,
                host=config.internal_host or config.host,
                port=config.internal_port,
                part="internal",
                keys=("server.internal_host", "server.internal_port"),
                status=status,
            ),
        ]

    @property
    def url(self) -> str:
        """Base URL of the ``server.port`` listener (the hooks)."""
        return self.servers[0].url

    @property
    def internal_url(self) -> str:
        """Base URL of the listener serving /healthz, /readyz and /metrics."""
        return self.servers[-1].url

    def start(self) -> None:
        """Start every listener; if one fails, stop those started and raise its ConfigError."""
        started: list[HttpServer] = []
        try:
            for server in self.servers:
                server.start()
                started.append(server)
        except BaseException:
            for server in started:
                server.stop()
            raise

    def stop(self) -> None:
        """Stop every listener."""
        for server in self.servers:
            server.stop()
