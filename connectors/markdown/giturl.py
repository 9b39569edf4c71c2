"""Which git URLs a source may name, and to which host its token is given.

allowed URLs
    ``https://``, ``http://`` (a token over it only as :mod:`syncd.net.plaintext` allows),
    ``ssh://`` (also ``git+ssh://``), ``file://``, and the scp-like ``user@host:path``. No
    other transport: ``ext::`` runs a command, ``fd::`` reads a descriptor, and a value
    starting with ``-`` would be read by git as an option (``--upload-pack=...`` runs a
    command too). git is also told to refuse every other protocol itself
    (:data:`PROTOCOL_CONFIG`), and the URL always follows ``--`` on git's command line.

credential scope
    The token is answered only for the configured URL's scheme, host and port
    (:func:`credential_scope`): a remote that redirects elsewhere gets no token there.
"""

from __future__ import annotations

import re
import urllib.parse

_SCHEMES = frozenset({"https", "http", "ssh", "git+ssh", "ssh+git", "file"})
# git's scp-like syntax: [user@]host:path, no slash before the colon. The host may not start
# with "-" (ssh would read it as an option) and the path may not start with ":" ("x::y" is
# git's "<transport>::<address>" form, which runs a remote helper).
_SCP_LIKE = re.compile(
    r"^(?:[A-Za-z0-9._~+-]+@)?(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\]):(?!:)[^\s]*$"
)
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_EXPECTED = (
    "expected an https://, ssh://, file:// or user@host:path URL of the repository "
    "(http:// as the token allows)"
)

# git itself refuses every transport but these, whatever the URL (belt and braces with
# check_url: a redirect or a submodule URL cannot bring ext:: back either).
PROTOCOL_CONFIG = (
    ("protocol.allow", "never"),
    ("protocol.https.allow", "always"),
    ("protocol.http.allow", "always"),
    ("protocol.ssh.allow", "always"),
    ("protocol.file.allow", "always"),
)


def check_url(url: str) -> None:
    """ValueError unless ``url`` is an allowed repository URL (see the module docstring)."""
    if url.startswith("-"):
        raise ValueError(f"{_EXPECTED}; a URL cannot start with '-' (git would read an option)")
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValueError(f"{_EXPECTED}; whitespace and control characters are not allowed")
    match = _SCHEME.match(url)
    if match is not None:
        if match["scheme"].lower() not in _SCHEMES:
            raise ValueError(f"{_EXPECTED}, not {match['scheme']}://")
        parts = urllib.parse.urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises on a port that is no number or out of range
        except ValueError:
            raise ValueError(f"{_EXPECTED}; the port is not a valid number") from None
        if parts.scheme.lower() != "file" and not parts.hostname:
            raise ValueError(f"{_EXPECTED}; the URL names no host")
        if (parts.hostname or "").startswith("-"):
            raise ValueError(f"{_EXPECTED}; a host cannot start with '-'")
        return
    if "::" in url.split("/", 1)[0]:
        raise ValueError(f"{_EXPECTED}, not a <transport>::<address> remote helper")
    if _SCP_LIKE.match(url) is None:
        raise ValueError(_EXPECTED)


def credential_scope(url: str) -> str | None:
    """``scheme://host[:port]`` that git's ``credential.<url>.helper`` should match for an
    HTTP(S) ``url``; None for other transports (they take no token)."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{parts.port}" if parts.port is not None else "")
