"""The ten AI Content endpoints of the sandbox, validated the way the 2.14 spec describes.

A page upsert is validated against :data:`syncd.render.content.PAGE_FIELDS`, the same list of
fields the publisher builds its request bodies from.

Where Intercom's behaviour is undocumented the sandbox picks the generic pattern of the rest of
the API: an unknown id is 404 ``not_found``; a missing required field is 400
``parameter_not_found``; a wrong type or value, or a body that is not a JSON object, is 400
``parameter_invalid``; an unsupported method on a known path is 404 as well. Every error body
is the ``error.list`` envelope carrying the request's id.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncd.render.content import PAGE_FIELDS
from syncd.sandbox.settings import SandboxSettings
from syncd.sandbox.store import Obj, SandboxStore

REQUEST_ID_KEY = "syncd.sandbox.request_id"
_SOURCE_STATUSES = ("active", "deactivated")
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", list: "an array"}


class ApiError(Exception):
    """An error answer: HTTP status, Intercom error code, message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_body(request_id: str, code: str, message: str, field: str | None = None) -> Obj:
    """The ``error.list`` envelope."""
    error: Obj = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"type": "error.list", "request_id": request_id, "errors": [error]}


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"Resource Not Found: {what}")


async def _body(request: Request) -> Obj:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "parameter_invalid", "Request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "parameter_invalid", "Request body must be a JSON object")
    return data


def _field(
    body: Obj,
    name: str,
    kind: type,
    *,
    required: bool,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """One validated field of a request body; None when optional and absent (or null)."""
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, "parameter_not_found", f"{name} is required", field=name)
        return None
    # bool is a subclass of int in Python; JSON true is not an integer.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ApiError(400, "parameter_invalid", f"{name} must be {_TYPE_NAMES[kind]}", field=name)
    if choices is not None and value not in choices:
        allowed = ", ".join(choices)
        raise ApiError(400, "parameter_invalid", f"{name} must be one of: {allowed}", field=name)
    return value


def _id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit():
        raise _not_found(f"{name} {raw}")
    return int(raw)


class SandboxApi:
    """Request handlers over one store."""

    def __init__(self, store: SandboxStore, settings: SandboxSettings) -> None:
        self.store = store
        self.settings = settings

    # Content import sources -----------------------------------------------------------------

    async def list_sources(self, request: Request) -> Response:
        return self._list(request, self.store.list_sources())

    async def create_source(self, request: Request) -> Response:
        body = await _body(request)
        sync_behavior = _field(body, "sync_behavior", str, required=True, choices=("api",))
        url = _field(body, "url", str, required=True)
        status = _field(body, "status", str, required=False, choices=_SOURCE_STATUSES)
        source = self.store.create_source(
            url=url, status=status or "active", sync_behavior=sync_behavior
        )
        return JSONResponse(source)

    async def get_source(self, request: Request) -> Response:
        return JSONResponse(self._source(_id(request, "source_id")))

    async def update_source(self, request: Request) -> Response:
        source_id = _id(request, "source_id")
        current = self._source(source_id)
        body = await _body(request)
        behaviors = ("api", "automated", "manual")
        sync_behavior = _field(body, "sync_behavior", str, required=True, choices=behaviors)
        url = _field(body, "url", str, required=True)
        status = _field(body, "status", str, required=False, choices=_SOURCE_STATUSES)
        if (sync_behavior == "api") != (current["sync_behavior"] == "api"):
            raise ApiError(
                400,
                "parameter_invalid",
                "sync_behavior can not be changed to or from api",
                field="sync_behavior",
            )
        if url != current["url"] and current["sync_behavior"] != "api":
            raise ApiError(
                400, "parameter_invalid", "url can only change on an api source", field="url"
            )
        changes: Obj = {"url": url}
        if status is not None:
            changes["status"] = status
        updated = self.store.update_source(source_id, changes)
        if updated is None:
            raise _not_found(f"content import source {source_id}")
        return JSONResponse(updated)

    async def delete_source(self, request: Request) -> Response:
        source_id = _id(request, "source_id")
        if not self.store.delete_source(source_id):
            raise _not_found(f"content import source {source_id}")
        return Response(status_code=204)

    # External pages -------------------------------------------------------------------------

    async def list_pages(self, request: Request) -> Response:
        return self._list(request, self.store.list_pages())

    async def upsert_page(self, request: Request) -> Response:
        body = await _body(request)
        fields: Obj = {}
        for spec in PAGE_FIELDS:
            value = _field(body, spec.name, spec.kind, required=spec.required, choices=spec.choices)
            if value is not None:  # omitted optional fields keep their value on update
                fields[spec.name] = value
        self._api_source(fields["source_id"])
        page, _ = self.store.upsert_page(fields)
        return JSONResponse(page)

    async def get_page(self, request: Request) -> Response:
        page_id = str(_id(request, "page_id"))
        page = self.store.get_page(page_id)
        if page is None:
            raise _not_found(f"external page {page_id}")
        return JSONResponse(page)

    async def update_page(self, request: Request) -> Response:
        page_id = str(_id(request, "page_id"))
        if self.store.get_page(page_id) is None:
            raise _not_found(f"external page {page_id}")
        body = await _body(request)
        changes: Obj = {
            "title": _field(body, "title", str, required=True),
            "html": _field(body, "html", str, required=True),
            "url": _field(body, "url", str, required=True),
            "locale": _field(body, "locale", str, required=True, choices=("en",)),
            "source_id": _field(body, "source_id", int, required=True),
        }
        fin = _field(body, "fin_availability", bool, required=False)
        if fin is not None:
            changes["fin_availability"] = fin
        external_id = _field(body, "external_id", str, required=False)
        if external_id is not None:
            changes["external_id"] = external_id
        self._api_source(changes["source_id"])
        key_owner = self.store.find_page(
            changes["source_id"], external_id or self._page(page_id)["external_id"]
        )
        if key_owner is not None and key_owner["id"] != page_id:
            raise ApiError(
                400,
                "parameter_invalid",
                "external_id must be unique for the source",
                field="external_id",
            )
        updated = self.store.update_page(page_id, changes)
        if updated is None:
            raise _not_found(f"external page {page_id}")
        return JSONResponse(updated)

    async def delete_page(self, request: Request) -> Response:
        page_id = str(_id(request, "page_id"))
        page = self.store.delete_page(page_id)
        if page is None:
            raise _not_found(f"external page {page_id}")
        return JSONResponse(page)

    # Helpers --------------------------------------------------------------------------------

    def _source(self, source_id: int) -> Obj:
        source = self.store.get_source(source_id)
        if source is None:
            raise _not_found(f"content import source {source_id}")
        return source

    def _api_source(self, source_id: int) -> Obj:
        source = self._source(source_id)
        if source["sync_behavior"] != "api":
            raise ApiError(
                400,
                "parameter_invalid",
                f"content import source {source_id} does not accept pages via the API",
                field="source_id",
            )
        return source

    def _page(self, page_id: str) -> Obj:
        page = self.store.get_page(page_id)
        if page is None:
            raise _not_found(f"external page {page_id}")
        return page

    def _list(self, request: Request, items: list[Obj]) -> Response:
        page = _query_int(request, "page", default=1)
        per_page = min(_query_int(request, "per_page", default=50), self.settings.max_per_page)
        total_pages = -(-len(items) // per_page)
        start = (page - 1) * per_page
        pages: Obj = {"type": "pages", "page": page, "per_page": per_page}
        pages["total_pages"] = total_pages
        if page < total_pages:
            pages["next"] = str(request.url.include_query_params(page=page + 1, per_page=per_page))
        return JSONResponse(
            {
                "data": items[start : start + per_page],
                "pages": pages,
                "total_count": len(items),
                "type": "list",
            }
        )


def _query_int(request: Request, name: str, *, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(400, "parameter_invalid", f"{name} must be a positive integer", field=name)
    return int(raw)


def _request_id(request: Request) -> str:
    value = request.scope.get(REQUEST_ID_KEY, "")
    return str(value)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    body = error_body(_request_id(request), exc.code, exc.message, exc.field)
    return JSONResponse(body, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # Intercom answers an unsupported method on a known path with 404, like an unknown path.
    body = error_body(_request_id(request), "not_found", "Resource Not Found")
    return JSONResponse(body, status_code=404 if exc.status_code == 405 else exc.status_code)


def build_app(api: SandboxApi) -> Starlette:
    """The Starlette application serving the AI Content endpoints of ``api``."""
    sources, pages = "/ai/content_import_sources", "/ai/external_pages"
    routes = [
        Route(sources, api.list_sources, methods=["GET"]),
        Route(sources, api.create_source, methods=["POST"]),
        Route(sources + "/{source_id}", api.get_source, methods=["GET"]),
        Route(sources + "/{source_id}", api.update_source, methods=["PUT"]),
        Route(sources + "/{source_id}", api.delete_source, methods=["DELETE"]),
        Route(pages, api.list_pages, methods=["GET"]),
        Route(pages, api.upsert_page, methods=["POST"]),
        Route(pages + "/{page_id}", api.get_page, methods=["GET"]),
        Route(pages + "/{page_id}", api.update_page, methods=["PUT"]),
        Route(pages + "/{page_id}", api.delete_page, methods=["DELETE"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
