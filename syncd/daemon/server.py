"""The HTTP endpoints of `syncd run`: liveness, readiness and Prometheus metrics.

``GET /healthz``
    200 ``ok`` while the process serves requests at all (the liveness probe).
``GET /readyz``
    200 ``ready`` when the readiness check returns ``None``; 503 with the check's short reason
    otherwise (state database unreachable, migrations behind, shutting down).
``GET /metrics``
    The default Prometheus registry in the text exposition format (see :mod:`syncd.metrics`).
``POST /hooks/<source>``
    Only when a hook handler is given (``server.hook_secret`` is set): asks for a run of the
    source now (see :mod:`syncd.daemon.triggers.hooks`).

A small Starlette application served by uvicorn in a background thread, so the scheduler's
threads and the endpoints share one process and one metrics registry. The listening socket is
bound in :meth:`HttpServer.start` itself: a port already in use fails there, before any
scheduling starts, and port 0 picks a free port (tests).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

import structlog
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from syncd.errors import ConfigError

if TYPE_CHECKING:
    from syncd.daemon.triggers.hooks import HookEndpoint

Readiness = Callable[[], str | None]
"""Returns ``None`` when ready, else a short reason that contains no secret."""

log = structlog.get_logger(__name__)

_STARTUP_TIMEOUT = 10.0


def create_asgi_app(readiness: Readiness, hooks: HookEndpoint | None = None) -> Starlette:
    """The ASGI application serving ``/healthz``, ``/readyz``, ``/metrics`` (and hooks)."""

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

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if hooks is not None:
        routes.append(Route("/hooks/{source}", hooks.handle, methods=["POST"]))
    return Starlette(routes=routes)


class HttpServer:
    """Serves :func:`create_asgi_app` on ``host``:``port`` from a daemon thread."""

    def __init__(
        self,
        readiness: Readiness,
        *,
        host: str,
        port: int,
        hooks: HookEndpoint | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_asgi_app(readiness, hooks),
                lifespan="off",
                # Logging is configured by the CLI; uvicorn must not replace it.
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=2,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL of the endpoints, e.g. ``http://127.0.0.1:9100``."""
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host  # noqa: S104
        if ":" in host:
            host = "[::1]" if host == "::" else f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind the socket and serve; ConfigError (server.port) when binding fails."""
        sock = self._bind()
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name="syncd-http", daemon=True
        )
        self._thread.start()
        for _ in range(int(_STARTUP_TIMEOUT / 0.01)):
            if self._server.started or not self._thread.is_alive():
                break
            self._thread.join(0.01)
        if not self._server.started:
            self.stop()
            raise ConfigError(
                f"the HTTP server on {self.host}:{self.port} did not start", key="server"
            )
        log.info("server.started", url=self.url)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait up to ``timeout`` seconds for the thread to end."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def _bind(self) -> socket.socket:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host or None, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {self.host!r}: {exc.strerror or exc}", key="server.host"
            ) from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
                key="server.port",
            ) from None
        return sock

    def _serve(self, sock: socket.socket) -> None:
        # A fresh event loop of this thread's own; uvicorn installs no signal handlers off the
        # main thread, so SIGTERM stays with the daemon.
        try:
            asyncio.run(self._server.serve(sockets=[sock]))
        finally:
            sock.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
