"""Reading Intercom's answers: every body is checked for the shape syncd relies on.

A 2xx answer whose body is not what the API documents (no ``id`` on a created object, a list
without ``data``, an id that is not a string or a number) comes from a proxy, a changed API or
a fault: :class:`UnexpectedAnswer` says which endpoint answered what, and nothing is built on
it. In particular a list of content import sources that cannot be read never counts as an
empty list, since "none found" would create a duplicate source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from syncd.errors import IntercomUnavailable
from syncd.publisher.models import PageRejected, RequestRejected, error_of

if TYPE_CHECKING:
    import httpx


class UnexpectedAnswer(IntercomUnavailable):
    """Intercom (or something in its place) answered with a body of the wrong shape."""


def _endpoint(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {request.url.path}"


def _unexpected(response: httpx.Response, operation: str, what: str) -> UnexpectedAnswer:
    return UnexpectedAnswer(
        f"{operation}: {_endpoint(response)} answered HTTP {response.status_code} {what}; is"
        " intercom.base_url the API (or a proxy passing it through unchanged)?"
    )


def body_of(response: httpx.Response, operation: str, *, page: str | None = None) -> dict[str, Any]:
    """The JSON object of a 2xx answer; a 4xx raises PageRejected or RequestRejected."""
    if not response.is_success:
        code, message = error_of(response)
        if page is not None:
            raise PageRejected(operation, response.status_code, code, message, page=page)
        raise RequestRejected(operation, response.status_code, code, message)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _unexpected(response, operation, "with a body that is not a JSON object")
    return body


def object_id(body: dict[str, Any], response: httpx.Response, operation: str) -> str:
    """The ``id`` of an object, as a string; UnexpectedAnswer when it has none."""
    value = body.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise _unexpected(response, operation, "without an 'id'")
    return str(value)


def integer_id(body: dict[str, Any], response: httpx.Response, operation: str) -> int:
    """The ``id`` of a content import source, which the API gives as an integer."""
    value = object_id(body, response, operation)
    try:
        return int(value)
    except ValueError:
        raise _unexpected(response, operation, f"with a non-numeric id {value!r}") from None


def list_items(body: dict[str, Any], response: httpx.Response, operation: str) -> list[Any]:
    """The ``data`` array of a list answer; UnexpectedAnswer when it is missing."""
    data = body.get("data")
    if not isinstance(data, list):
        raise _unexpected(response, operation, "without a 'data' list")
    if not all(isinstance(item, dict) for item in data):
        raise _unexpected(response, operation, "with a 'data' entry that is not an object")
    return data


def paginate(
    get: Callable[[str, dict[str, int] | None], httpx.Response],
    is_ours: Callable[[str], bool],
    operation: str,
    path: str,
    *,
    per_page: int,
) -> Iterator[dict[str, Any]]:
    """Items of a list endpoint: follow ``pages.next``, else count up to ``total_pages``.

    ``get(url, params)`` sends one GET; ``is_ours(url)`` says whether a ``next`` link stays on
    the API host. Stops at the first page that brings no new item, which also ends the walk
    over a server that ignores the page parameter and serves the first page again and again.
    """
    url: str = path
    params: dict[str, int] | None = {"page": 1, "per_page": per_page}
    seen: set[str] = set()
    number = 1
    while True:
        response = get(url, params)
        body = body_of(response, operation)
        items = list_items(body, response, operation)
        fresh = [item for item in items if str(item.get("id")) not in seen]
        if not fresh:
            return
        for item in fresh:
            seen.add(str(item.get("id")))
            yield item
        pages = body.get("pages")
        pages = pages if isinstance(pages, dict) else {}
        next_url = pages.get("next")
        if isinstance(next_url, str) and is_ours(next_url):
            # httpx would replace the link's query with any params given, even empty ones.
            url, params, number = next_url, None, number + 1
            continue
        page, total = pages.get("page"), pages.get("total_pages")
        current = page if isinstance(page, int) else number
        if not isinstance(total, int) or current >= total:
            return
        number = current + 1
        url, params = path, {"page": number, "per_page": per_page}
