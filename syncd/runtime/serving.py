"""Threaded servers: an ASGI application served by uvicorn from a daemon thread.

The daemon's endpoints and the Intercom sandbox both run this way, so the process keeps its
main thread (and its signal handlers: uvicorn installs none off the main thread). The listening
socket is bound in :meth:`ThreadedServer.start` itself, before the thread starts: a port in use
fails there, ``port=0`` picks a free port whose number is known at once, and a second server on
the same port fails even with SO_REUSEADDR (Linux lets two sockets bind until one listens).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import uvicorn

from syncd.runtime.resources import Running

_STARTUP_TIMEOUT = 10.0


class ListenError(OSError):
    """The server could not listen: ``unresolved`` when the host itself is the problem.

    ``strerror`` is the system's reason ("Address already in use"); ``message`` says where.
    """

    def __init__(self, cause: OSError, message: str, *, unresolved: bool) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.message = message
        self.unresolved = unresolved

    def __str__(self) -> str:
        return self.message


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening; ListenError when that fails."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        # IPPROTO_TCP spelled out: asyncio enables TCP_NODELAY on accepted sockets only when
        # the listening socket's protocol says TCP, and without it every response whose body
        # follows its headers in a second write waits ~40 ms for the client's delayed ACK.
        sock = socket.socket(family, kind, socket.IPPROTO_TCP)
    except OSError as exc:
        reason = exc.strerror or exc
        raise ListenError(exc, f"cannot listen on {host!r}: {reason}", unresolved=True) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or exc
        raise ListenError(
            exc, f"cannot listen on {host}:{port}: {reason}", unresolved=False
        ) from None
    return sock


def base_url(host: str, port: int) -> str:
    """The URL a local client uses to reach a server listening on ``host``:``port``."""
    host = "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104
    if ":" in host:
        host = "[::1]" if host == "::" else f"[{host}]"
    return f"http://{host}:{port}"


class ThreadedServer(Running):
    """Serves an ASGI ``app`` on ``host``:``port`` from a daemon thread named ``name``.

    ``options`` are passed to :class:`uvicorn.Config`; logging is always left to syncd's own
    configuration (uvicorn must not replace it) and the lifespan protocol is off.
    """

    def __init__(self, app: Any, *, host: str, port: int, name: str, **options: Any) -> None:
        self.host = host
        self.port = port
        self.name = name
        self._config = uvicorn.Config(
            app, lifespan="off", log_config=None, access_log=False, **options
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL of the server, e.g. ``http://127.0.0.1:9100``."""
        return base_url(self.host, self.port)

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Bind, then serve; ListenError when binding fails, RuntimeError if it never starts."""
        if self._thread is not None:
            return
        sock = listen(self.host, self.port)
        self.port = sock.getsockname()[1]
        server = self._server = uvicorn.Server(self._config)
        thread = self._thread = threading.Thread(
            target=self._serve, args=(server, sock), name=self.name, daemon=True
        )
        thread.start()
        # uvicorn sets `started` once it accepts connections on the bound socket.
        for _ in range(int(_STARTUP_TIMEOUT / 0.01)):
            if server.started or not thread.is_alive():
                break
            thread.join(0.01)
        if not server.started:
            self.stop()
            raise RuntimeError(f"the server on {self.host}:{self.port} did not start")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait up to ``timeout`` seconds for the thread to end."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        self._server = self._thread = None

    @staticmethod
    def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
        # A fresh event loop of this thread's own.
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sock.close()
