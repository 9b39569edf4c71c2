"""Running the sandbox: uvicorn on 127.0.0.1 in a background thread, or in the foreground.

:class:`SandboxServer` is what tests use: it binds its socket before starting (so ``url`` is
known at once, even with ``port=0``), serves from a daemon thread, and stops within a second.
:func:`serve` is what ``syncd sandbox`` runs: it blocks until SIGINT or SIGTERM and returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog
from uvicorn.protocols.http.h11_impl import H11Protocol

from syncd.runtime.resources import Running
from syncd.runtime.serving import ThreadedServer
from syncd.runtime.signals import stop_signals
from syncd.sandbox.api import SandboxApi, build_app
from syncd.sandbox.gateway import ABORT_KEY, Gateway
from syncd.sandbox.settings import SandboxSettings
from syncd.sandbox.store import SandboxStore

log = structlog.get_logger("syncd.sandbox")


class _AbortableH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, lending each request a way to drop its connection."""

    def handle_events(self) -> None:
        super().handle_events()
        cycle = getattr(self, "cycle", None)
        if cycle is not None and self.transport is not None:
            # The application task was only scheduled; it sees this key when it starts.
            cycle.scope[ABORT_KEY] = self.transport.abort


class SandboxServer(Running):
    """An in-memory Intercom AI Content API over real HTTP, for tests and trials."""

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings = settings if settings is not None else SandboxSettings()
        self.store = SandboxStore(clock)
        self.host = host
        self.port = port
        self.url = ""
        self._api = SandboxApi(self.store, settings)
        self._gateway = Gateway(
            build_app(self._api), settings=settings, store=self.store, clock=clock
        )
        self._server: ThreadedServer | None = None

    @property
    def settings(self) -> SandboxSettings:
        """The live settings; change their fields, or assign new ones, while it runs."""
        return self._gateway.settings

    @settings.setter
    def settings(self, value: SandboxSettings) -> None:
        self._gateway.settings = self._api.settings = value

    def start(self) -> None:
        """Bind the socket and start serving in a background thread; OSError if taken."""
        if self._server is not None:
            return
        server = ThreadedServer(
            self._gateway,
            host=self.host,
            port=self.port,
            name="syncd-sandbox",
            http=_AbortableH11Protocol,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
        )
        server.start()
        self._server = server
        self.port = server.port
        self.url = server.url

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.stop(timeout=10)
            self._server = None

    def restart(self) -> None:
        """Stop, lose every source and page, and serve again at the same URL: what syncd sees
        when a sandbox (or a workspace) it published into is started afresh."""
        self.stop()
        self.store.forget()
        self.start()


def serve(
    settings: SandboxSettings,
    *,
    host: str,
    port: int,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the sandbox until SIGINT or SIGTERM, then return.

    ``on_ready`` is called with the URL once the socket is bound and accepting, never before:
    whoever reads that announcement talks to this sandbox, not to what held the port. A port
    that is taken raises OSError before anything is announced.
    """
    stop = threading.Event()
    with (
        stop_signals(lambda signum: stop.set(), second_exits=False),
        SandboxServer(settings, host=host, port=port) as server,
    ):
        log.info("sandbox.started", url=server.url)
        if on_ready is not None:
            on_ready(server.url)
        stop.wait()
        log.info("sandbox.stopping")
