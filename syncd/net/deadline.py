"""HTTP requests bounded as a whole, and interruptible by a stop request.

httpx's timeouts bound each socket operation: a server that trickles one byte every few
seconds never trips a 30-second read timeout, and holds a request for as long as it likes.
:class:`DeadlineTransport` adds two bounds on top of them:

total deadline
    Every request (connect, TLS, send, wait for the answer, read the whole body) ends within
    ``total`` seconds or fails with :class:`httpx.ReadTimeout` (or the connect/write timeout
    of the step it was in), which the callers already retry as a timeout.
stop
    Once the ``stop`` event is set, requests in flight get ``stop_grace`` seconds to finish
    (a healthy request is done by then, and its result is recorded); then they fail with
    :class:`Interrupted`, which callers do not retry.

How: the transport's connection pool gets a network backend whose streams cap every socket
operation at the time left, and wait for data in slices of :data:`SLICE` seconds so that the
deadline and the stop are noticed while a server is silent. Reads are safe to slice (a read
that times out consumed nothing); writes and connects are capped, not sliced.

Shared by the publisher and by connectors that speak HTTP (MediaWiki).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

from syncd.errors import Interrupted

__all__ = ["DeadlineTransport", "Interrupted", "describe"]

SLICE = 0.5  # longest wait on a silent socket before the deadline and the stop are checked
DEFAULT_STOP_GRACE = 5.0
COALESCE = 64 * 1024  # bytes of a request held back to be sent in one write (_Stream.write)

_current = threading.local()  # .deadline: monotonic time the request in this thread ends


def describe(exc: BaseException) -> str:
    """A failure in people's words: the system's error text and, for HTTP, the host.

    httpx words a failed connection as "[Errno -2] Name or service not known" or
    "[Errno 111] Connection refused" without the host; the request it carries names it.
    """
    if not isinstance(exc, httpx.HTTPError):
        return str(exc) or type(exc).__name__
    request = getattr(exc, "_request", None)  # httpx.RequestError.request raises when unset
    host = f" (host {request.url.host})" if isinstance(request, httpx.Request) else ""
    return f"{type(exc).__name__}: {exc or 'no details'}{host}"


def _deadline() -> float | None:
    return getattr(_current, "deadline", None)


class DeadlineTransport(httpx.HTTPTransport):
    """An :class:`httpx.HTTPTransport` with a total deadline per request and a stop event."""

    def __init__(
        self,
        *,
        total: float,
        stop: threading.Event | None = None,
        stop_grace: float = DEFAULT_STOP_GRACE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.total = total
        self._guard = _Guard(stop, stop_grace)
        # httpx builds its httpcore pool without a way to pass a network backend; the pool
        # keeps it in this attribute (httpcore 1.0, pinned in constraints.txt).
        pool = self._pool
        pool._network_backend = _Backend(pool._network_backend, self._guard)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._guard.check()
        deadline = time.monotonic() + self.total
        _current.deadline = deadline
        try:
            response = super().handle_request(request)
        finally:
            _current.deadline = None
        # The body is read after this returns (by the client, in this thread): keep its reads
        # under the same deadline.
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        response.stream = _BodyStream(stream, deadline)
        return response


class _Guard:
    """When the stop began, as first seen by a request, and whether its grace is over."""

    def __init__(self, stop: threading.Event | None, grace: float) -> None:
        self.stop = stop
        self.grace = grace
        self._seen: float | None = None

    def check(self) -> None:
        if self.stop is None or not self.stop.is_set():
            return
        now = time.monotonic()
        if self._seen is None:
            self._seen = now
        if now - self._seen >= self.grace:
            raise Interrupted("the request was abandoned: the run is stopping")


class _BodyStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        _current.deadline = self._deadline
        try:
            yield from self._inner
        finally:
            _current.deadline = None

    def close(self) -> None:
        self._inner.close()


def _left(timeout: float | None) -> float | None:
    """``timeout`` capped at the time left before the deadline of this thread's request."""
    deadline = _deadline()
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), 0.001)
    return left if timeout is None else min(timeout, left)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, guard: _Guard) -> None:
        self._inner = inner
        self._guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _left(timeout), local_address, socket_options)
        return _Stream(stream, self._guard)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _left(timeout), socket_options)
        return _Stream(stream, self._guard)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, guard: _Guard) -> None:
        self._inner = inner
        self._guard = guard
        self._pending = b""  # written, not sent yet (see write)
        self._pending_timeout: float | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._pending:
            # As httpcore does with a failed write: a server that closed early may still have
            # answered (a 413, say); the read says which.
            with contextlib.suppress(httpcore.WriteError):
                self._flush()
        started = time.monotonic()
        while True:
            self._guard.check()
            deadline = _deadline()
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise httpcore.ReadTimeout("the request took longer than its total deadline")
            quiet_left = None if timeout is None else started + timeout - now
            if quiet_left is not None and quiet_left <= 0:
                raise httpcore.ReadTimeout("no data within the read timeout")
            wait = min(
                SLICE,
                quiet_left if quiet_left is not None else SLICE,
                deadline - now if deadline is not None else SLICE,
            )
            try:
                return self._inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                continue  # a slice ended: check the deadline, the stop and the read timeout

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # httpcore writes a request's head and its body apart; sent as they come, each is a
        # system call and a packet of its own, which cost more CPU than the rest of a small
        # request. They are held until the answer is read (or they grow large), and sent as
        # one: HTTP/1.1 reads nothing before the request is complete.
        self._guard.check()
        self._pending += buffer
        self._pending_timeout = timeout
        if len(self._pending) >= COALESCE:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, b""
        self._inner.write(pending, _left(self._pending_timeout))

    def close(self) -> None:
        self._pending = b""  # a request abandoned before its answer: never sent
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.start_tls(ssl_context, server_hostname, _left(timeout))
        return _Stream(stream, self._guard)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
