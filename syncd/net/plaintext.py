"""Secrets over plain ``http://``: refused unless the source says the operator means it.

A token or password sent over ``http://`` can be read (and replayed) by anyone on the path.
To the machine itself (``localhost``, ``127.0.0.0/8``, ``::1``) nobody else is on the path,
so loopback is allowed; anywhere else it is a configuration error unless the source sets
``allow_insecure_http: true`` (a test wiki on a private network, a TLS-terminating sidecar).

Every connector that sends a secret to a URL from its options calls
:func:`refuse_plain_http` from a validator of the secret's field: the source-level key
reaches it through the validation context (:data:`CONTEXT_KEY`).
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import Any

CONTEXT_KEY = "allow_insecure_http"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine."""
    host = host.strip("[]").lower().rstrip(".")
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_http_allowed(context: Any) -> bool:
    """Whether the validation context says the source set ``allow_insecure_http: true``."""
    return isinstance(context, dict) and context.get(CONTEXT_KEY) is True


def refuse_plain_http(url: str, *, what: str, context: Any) -> None:
    """ValueError when ``what`` (a secret, e.g. "a token") would go over ``http://`` to
    another machine and the source did not set ``allow_insecure_http: true``.

    ``url`` is where the secret is sent; ``context`` is the pydantic validation context.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "http" or insecure_http_allowed(context):
        return
    host = parts.hostname or ""
    if is_loopback(host):
        return
    raise ValueError(
        f"{what} would be sent unencrypted over http:// to {host}: use https://, "
        f"or set allow_insecure_http: true on the source if the network path is trusted"
    )
