"""The HTTP client every outside call goes through: the publisher's and the connectors'.

:func:`client` builds an :class:`httpx.Client` whose requests each end within ``timeout``
seconds as a whole and are abandoned once the run stops (:mod:`syncd.net.deadline`); callers
retry what is transient with :func:`syncd.net.retry.retrying`, treating
:data:`TRANSPORT_ERRORS` as transient. ``transport=`` replaces the network (tests pass a fake
server's transport instead of patching).
"""

from __future__ import annotations

import threading
from typing import Any

from syncd.log import hidden_modules

# The httpx package imports its command-line client, and with it rich and pygments: some 30 ms
# that syncd never needs (newer httpx releases import it lazily). Hidden, httpx.main is a stub.
# This module is where syncd first imports httpx (the publisher does so on its first request).
with hidden_modules("rich", "pygments"):
    import httpx

# isort: split
from syncd.net.deadline import DeadlineTransport, describe

__all__ = ["TRANSPORT_ERRORS", "client", "describe"]

# Failures of the exchange itself: the request may or may not have reached the server, so
# callers retry them for idempotent requests only (every request syncd sends is one: reads,
# upserts by external id, deletes). Not here: a malformed URL or a protocol error of our own,
# which would fail the same way again.
TRANSPORT_ERRORS: tuple[type[httpx.HTTPError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


def client(
    *,
    timeout: float,
    stop: threading.Event | None = None,
    transport: httpx.BaseTransport | None = None,
    max_connections: int | None = None,
    **kwargs: Any,
) -> httpx.Client:
    """A client whose requests end within ``timeout`` seconds and stop with ``stop``.

    ``max_connections`` caps the pool (and the connections kept alive); ``kwargs`` go to
    :class:`httpx.Client` (``base_url``, ``headers``, ``follow_redirects``).
    """
    limits = (
        httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        if max_connections is not None
        else httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's default
    )
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        limits=limits,
        transport=transport or DeadlineTransport(total=timeout, stop=stop, limits=limits),
        **kwargs,
    )
