"""What the publisher hands back: remote pages, and the errors of one rejected request."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from syncd.errors import SyncdError

if TYPE_CHECKING:
    import httpx


@dataclasses.dataclass(frozen=True, slots=True)
class RemotePage:
    """One external page as Intercom lists it."""

    id: str
    external_id: str | None
    source_id: int
    title: str
    url: str | None

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> RemotePage:
        """Read an ``external_page`` object (ids may arrive as numbers or strings)."""
        external_id = item.get("external_id")
        return cls(
            id=str(item["id"]),
            external_id=None if external_id is None else str(external_id),
            source_id=int(item["source_id"]),
            title=str(item.get("title") or ""),
            url=item.get("url") or None,
        )


class RequestRejected(SyncdError):
    """Intercom refused one request with a 4xx that retrying cannot fix.

    ``status`` is the HTTP status, ``code`` and ``message`` the first entry of Intercom's
    ``error.list`` envelope (``code`` is ``"unknown"`` when the body carries none).
    """

    def __init__(self, operation: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{operation}: Intercom answered HTTP {status} {code}: {message}")
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message


class PageRejected(RequestRejected):
    """Intercom refused a write of one page; that page fails alone, the run goes on."""

    def __init__(self, operation: str, status: int, code: str, message: str, *, page: str) -> None:
        super().__init__(operation, status, code, message)
        self.page = page


def error_of(response: httpx.Response) -> tuple[str, str]:
    """The (code, message) of an ``error.list`` answer, tolerating other bodies."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            code = str(first.get("code") or "unknown")
            message = str(first.get("message") or response.reason_phrase)
            field = first.get("field")
            return code, f"{message} (field {field})" if field else message
    return "unknown", response.reason_phrase or f"HTTP {response.status_code}"


class RequestInterrupted(SyncdError):
    """The run is stopping: a request was abandoned, or a failed one not tried again.

    Not a failure of the page: a write interrupted this way is neither recorded nor counted,
    and the next run sends it again (its external id was recorded before it left).
    """
