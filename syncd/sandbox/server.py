"""Running the sandbox: uvicorn on 127.0.0.1 in a background thread, or in the foreground.

:class:`SandboxServer` is what tests use: it binds its socket before starting (so ``url`` is
known at once, even with ``port=0``), serves from a daemon thread, and stops within a second.
:func:`serve` is what ``syncd sandbox`` runs: it blocks until SIGINT or SIGTERM and returns.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Self

import structlog
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

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


class SandboxServer:
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
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def settings(self) -> SandboxSettings:
        """The live settings; change their fields, or assign new ones, while it runs."""
        return self._gateway.settings

    @settings.setter
    def settings(self, value: SandboxSettings) -> None:
        self._gateway.settings = self._api.settings = value

    def start(self) -> None:
        """Bind the socket and start serving in a background thread; OSError if taken."""
        if self._thread is not None:
            return
        # IPPROTO_TCP spelled out: asyncio enables TCP_NODELAY on accepted sockets only when
        # the listening socket's protocol says TCP, and without it every response whose body
        # follows its headers in a second write waits ~40 ms for the client's delayed ACK.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            # Listening now, not when uvicorn starts: a second sandbox on this port must fail
            # here (Linux lets two sockets bind with SO_REUSEADDR until one listens).
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(
            self._gateway,
            http=_AbortableH11Protocol,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
        )
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="syncd-sandbox", daemon=True
        )
        self._thread.start()
        # uvicorn sets `started` once it accepts connections on the bound socket.
        while not server.started and self._thread.is_alive():
            time.sleep(0.01)
        if not server.started:
            raise RuntimeError(f"the sandbox could not start on {self.url}")

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None

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

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    in_main = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        with SandboxServer(settings, host=host, port=port) as server:
            log.info("sandbox.started", url=server.url)
            if on_ready is not None:
                on_ready(server.url)
            stop.wait()
            log.info("sandbox.stopping")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
