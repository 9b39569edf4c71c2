"""Connections of the daemon's HTTP server that may not hold it: a deadline and a cap.

The endpoints answer strangers (``/hooks/`` is meant to face the internet), and a stranger
can open connections and then send nothing, or a request head one byte at a time
(*slowloris*). uvicorn alone keeps such a connection forever, and once the process runs out
of file descriptors it accepts nothing more: the liveness probe times out and runs fail.

head deadline
    A connection that has not begun a request within :data:`HEAD_TIMEOUT` seconds (of being
    opened, or of its last request's answer) is closed. A request whose head arrived is the
    application's business; the hook endpoint bounds reading its body itself.
cap
    At most ``cap`` connections are open (:func:`limits`). One more closes the *idle* one
    (no request in progress) that has waited longest: a probe that sends its request at
    once still gets in while hundreds of slow connections are held open, and the process
    never reaches its descriptor limit through the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 10.0  # seconds to begin a request (a healthy client sends it at once)
MAX_CONNECTIONS = 512
_RESERVED = 128  # descriptors kept for the state database, git, watched folders and logs


def limits() -> tuple[int, int]:
    """``(cap, backlog)``: the most connections the server keeps, and how many it accepts in
    one go (asyncio accepts up to the listen backlog at once, before any is looked at).

    :data:`MAX_CONNECTIONS` and 128, or fewer when the process may open few files
    (``RLIMIT_NOFILE``): both together stay within the limit, keeping :data:`_RESERVED`
    descriptors for everything else.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    budget = MAX_CONNECTIONS * 2 if soft == resource.RLIM_INFINITY else soft - _RESERVED
    return max(8, min(MAX_CONNECTIONS, budget // 2)), max(8, min(128, budget // 2))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the head deadline and the connection cap."""

    cap = MAX_CONNECTIONS  # set from limits() by the server

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._opened = 0.0
        self._seen: object = None  # the request cycle current at the last deadline check
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._opened = self.loop.time()
        self._deadline = self.loop.call_later(HEAD_TIMEOUT, self._check_head)
        if len(self.connections) > self.cap:
            self._evict_one()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)

    def _idle(self) -> bool:
        """No request in progress: none begun, or the last one answered."""
        return self.cycle is None or self.cycle.response_complete

    def _check_head(self) -> None:
        """Close the connection if no request began since the last check; else check again."""
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is self._seen and self._idle():
            self._close()
            return
        self._seen = self.cycle
        self._deadline = self.loop.call_later(HEAD_TIMEOUT, self._check_head)

    def _evict_one(self) -> None:
        """Close the idle connection that has waited longest (maybe this one)."""
        idle = [
            c
            for c in self.connections
            if isinstance(c, GuardedH11Protocol) and c._idle() and not c.transport.is_closing()
        ]
        if idle:
            min(idle, key=lambda c: c._opened)._close()

    def _close(self) -> None:
        if self.conn.our_state not in (h11.ERROR, h11.CLOSED):
            # Mid-message h11 refuses: closing the transport is all that is left.
            with contextlib.suppress(h11.LocalProtocolError):
                self.conn.send(h11.ConnectionClosed())
        self.transport.close()
