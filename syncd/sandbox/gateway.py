"""The sandbox's front door: what happens to a request before and around the API handlers.

In order: simulated latency; an injected dropped connection; authentication (401 without
rate-limit headers, as Intercom sends none without valid credentials); the rate limit (429
``rate_limit_exceeded``); the ``Accept`` and ``Intercom-Version`` checks; an injected 5xx or
429. Every authenticated answer carries the ``X-RateLimit-*`` headers, and every request is
logged in the store with its status (0 when the connection was dropped).

Dropping a connection needs the socket, which ASGI does not expose: the server's protocol
(see :mod:`syncd.sandbox.server`) puts an ``abort`` callable into the scope under
:data:`ABORT_KEY`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers

from syncd.sandbox.api import REQUEST_ID_KEY, error_body
from syncd.sandbox.faults import Fault, FaultPlan, RateWindow
from syncd.sandbox.settings import SandboxSettings
from syncd.sandbox.store import SandboxStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ABORT_KEY = "syncd.sandbox.abort"
# Versions whose API has the AI Content endpoints (2.12 onwards, and the preview).
_AI_CONTENT_VERSIONS = {"2.12", "2.13", "2.14", "2.15", "2.16", "2.17", "Preview", "Unstable"}
_ACCEPTABLE = ("application/json", "application/*", "*/*")


class Gateway:
    """Raw ASGI middleware: latency, faults, authentication, rate limit, logging."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: SandboxSettings,
        store: SandboxStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.settings = settings
        self.store = store
        self.faults = FaultPlan(settings.seed)
        self.window = RateWindow()
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.settings
        method, path = scope["method"], scope["path"]
        if settings.latency_ms > 0:
            await asyncio.sleep(settings.latency_ms / 1000)
        fault = self.faults.draw(settings)
        if fault is Fault.DROP_BEFORE:
            await self._drop(scope, method, path)
            return
        request_id = self.faults.request_id()
        scope[REQUEST_ID_KEY] = request_id
        refusal, limits = self._screen(Headers(scope=scope), fault)
        if refusal is not None:
            status, code, message = refusal
            self.store.log_request(method, path, status)
            await _send_json(send, status, error_body(request_id, code, message), limits)
            return
        if fault is Fault.DROP_AFTER:
            await self.app(scope, receive, _discard)
            await self._drop(scope, method, path)
            return
        await self.app(scope, receive, self._tracking_send(send, method, path, limits))

    def _screen(
        self, headers: Headers, fault: Fault
    ) -> tuple[tuple[int, str, str] | None, dict[str, str]]:
        """The refusal (status, code, message) a request gets, if any, and its limit headers."""
        settings = self.settings
        if not _authorized(headers.get("authorization", ""), settings.token):
            return (401, "unauthorized", "Access Token Invalid"), {}
        allowed, limits = self.window.spend(settings, self._clock())
        version = headers.get("intercom-version")
        refusal: tuple[int, str, str] | None = None
        if not allowed:
            window = f"{settings.window_seconds:g}_seconds"
            message = f"Exceeded rate limit of {settings.rate_limit} in {window}"
            refusal = (429, "rate_limit_exceeded", message)
        elif not any(kind in headers.get("accept", "") for kind in _ACCEPTABLE):
            refusal = (406, "not_acceptable", "Accept must include application/json")
        elif version is not None and version not in _AI_CONTENT_VERSIONS:
            refusal = (400, "intercom_version_invalid", f"Unsupported version {version}")
        elif fault is Fault.ERROR:
            refusal = (self.faults.server_error_status(), "server_error", "Injected server error")
        elif fault is Fault.THROTTLE:
            refusal = (429, "too_many_requests", "The server is overloaded; retry later")
        return refusal, limits

    def _tracking_send(self, send: Send, method: str, path: str, limits: dict[str, str]) -> Send:
        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in limits.items()),
                ]
                self.store.log_request(method, path, message["status"])
            await send(message)

        return tracked

    async def _drop(self, scope: Scope, method: str, path: str) -> None:
        self.store.log_request(method, path, 0)
        abort = scope.get(ABORT_KEY)
        if abort is None:
            raise RuntimeError("the server does not support dropping connections")
        abort()
        # Let the event loop deliver connection_lost, so the server knows nobody is listening
        # and does not try to answer in our place.
        for _ in range(3):
            await asyncio.sleep(0)


def _authorized(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        given.strip().encode(), token.encode()
    )


async def _discard(message: Message) -> None:
    """A send that throws the answer away (the connection is dropped right after)."""


async def _send_json(send: Send, status: int, body: object, headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
