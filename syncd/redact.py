"""Secrets: checked when read, and masked in everything syncd prints or stores.

secret
    A value that grants access: the Intercom token, the state database's password, the hook
    secret, a connector's password or token (a wiki bot password, a git token).

Every secret is registered (:func:`register`) as soon as the configuration or a token file
is read. :func:`redact` replaces each registered value, in any text, with :data:`MASK`; the
log pipeline (every level, JSON and console, tracebacks included), the errors stored in the
state database (``documents.last_error``, ``runs.error``), `syncd status`, the run summary
and the command line's error line all pass through it. It is the second line of defence:
messages are written to name keys and files, never values, and tracebacks never show local
variables.

:func:`problem` says what is wrong with a malformed secret without quoting it. A token sent
in an HTTP header must be printable ASCII without surrounding whitespace; a password may hold
any printable character but no line break, control character or surrounding whitespace: all
of those are pasting accidents that would otherwise fail far from their cause, and an
``Authorization`` header with a line break in it can split the request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
# Shorter values would mask ordinary words; no real secret is this short.
MIN_LENGTH = 4

_lock = threading.Lock()
_forms: tuple[str, ...] = ()  # every registered secret and its escaped forms, longest first


def register(*values: str | None) -> None:
    """Mask these values (and their URL- and JSON-escaped forms) from now on."""
    global _forms  # noqa: PLW0603 - one registry for the process, grown as secrets are read
    new = set()
    for value in values:
        if value is None:
            continue
        for form in _escaped_forms(value):
            if len(form) >= MIN_LENGTH:
                new.add(form)
    if not new:
        return
    with _lock:
        _forms = tuple(sorted(set(_forms) | new, key=len, reverse=True))


def _escaped_forms(value: str) -> Iterable[str]:
    yield value
    yield value.strip()
    yield quote(value, safe="")  # in a URL (a database URL's password)
    yield quote_plus(value)
    yield json.dumps(value)[1:-1]  # in a JSON log line: non-ASCII and controls escaped
    yield repr(value)[1:-1]  # in a traceback's repr of a string


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by :data:`MASK`."""
    for form in _forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact_value(value: Any) -> Any:
    """Like :func:`redact`, through the strings of dicts, lists and tuples."""
    if not _forms:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if type(value) in (list, tuple):  # not a named tuple: its fields are not strings to mask
        return type(value)(redact_value(v) for v in value)
    return value


def registered() -> bool:
    """Whether any secret is registered (tests; a no-secret process skips the work)."""
    return bool(_forms)


def problem(value: str, *, header: bool) -> str | None:
    """What makes ``value`` unusable as a secret, in words that never quote it; None if fine.

    ``header``: the value is sent in an HTTP header (a token), so it must be printable ASCII.
    """
    wrong = None
    if not value:
        wrong = "is empty"
    elif "\r" in value or "\n" in value:
        wrong = "contains a line break (CR or LF)"
    elif value != value.strip():
        wrong = "has leading or trailing whitespace"
    for index, char in enumerate(value, start=1):
        if wrong is not None:
            break
        if ord(char) < 0x20 or ord(char) == 0x7F:
            wrong = f"contains a control character (at character {index})"
        elif header and ord(char) > 0x7E:
            wrong = f"contains a non-ASCII character (at character {index})"
        elif not char.isprintable():
            wrong = f"contains a character that is not printable (at character {index})"
    return wrong


def secret_fields(model: Any, prefix: str) -> Iterator[tuple[str, str, bool]]:
    """(key, value, header) of every ``SecretStr`` of a pydantic model and the models it holds.

    ``header`` is False for a field named like a password (it may hold any printable
    character), True otherwise (a token, sent in a header).
    """
    for name in type(model).model_fields:
        value = getattr(model, name)
        if hasattr(value, "get_secret_value"):
            yield f"{prefix}.{name}", value.get_secret_value(), "password" not in name
        elif hasattr(type(value), "model_fields"):
            yield from secret_fields(value, f"{prefix}.{name}")


def check(secrets: Iterable[tuple[str, str, bool]]) -> list[tuple[str, str]]:
    """Register each (key, value, header) secret; (key, problem) of each malformed one.

    An empty value is an unset one, reported where it is used (if anywhere), not here.
    """
    found = []
    for key, value, header in secrets:
        if not value:
            continue
        register(value)
        if (wrong := problem(value, header=header)) is not None:
            found.append((key, wrong))
    return found
