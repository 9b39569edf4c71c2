"""The sandbox's endpoints behave and validate as the AI Content API describes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from syncd.sandbox import SandboxServer


def _page(source_id: int, external_id: str = "doc-1", **extra: Any) -> dict[str, Any]:
    return {
        "title": "Title",
        "html": "<p>Body</p>",
        "locale": "en",
        "source_id": source_id,
        "external_id": external_id,
        **extra,
    }


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["type"] == "error.list"
    assert body["request_id"]
    error: dict[str, Any] = body["errors"][0]
    return error


@pytest.fixture
def source_id(sandbox: SandboxServer) -> int:
    """An API content import source."""
    return int(sandbox.store.create_source(url="https://docs.example.com")["id"])


def test_create_source_returns_an_active_api_source(api: httpx.Client) -> None:
    """Creating a source answers 200 with an integer id, status active and timestamps."""
    response = api.post(
        "/ai/content_import_sources", json={"sync_behavior": "api", "url": "https://a.example"}
    )
    assert response.status_code == 200
    source = response.json()
    assert isinstance(source["id"], int)
    assert source["type"] == "content_import_source"
    assert source["status"] == "active"
    assert source["sync_behavior"] == "api"
    assert source["last_synced_at"] == source["created_at"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"sync_behavior": "api"}, "parameter_not_found", "url"),
        ({"url": "https://a.example"}, "parameter_not_found", "sync_behavior"),
        ({"sync_behavior": "manual", "url": "https://a"}, "parameter_invalid", "sync_behavior"),
        ({"sync_behavior": "api", "url": 5}, "parameter_invalid", "url"),
        (
            {"sync_behavior": "api", "url": "https://a", "status": "on"},
            "parameter_invalid",
            "status",
        ),
    ],
)
def test_create_source_validates_its_body(
    api: httpx.Client, body: dict[str, Any], code: str, field: str
) -> None:
    """A missing or wrong field of a new source is refused with the field named."""
    response = api.post("/ai/content_import_sources", json=body)
    assert response.status_code == 400
    assert _error(response)["code"] == code
    assert _error(response)["field"] == field


def test_update_source_changes_url_and_status(
    api: httpx.Client, sandbox: SandboxServer, source_id: int
) -> None:
    """PUT on a source changes its url and status but never its sync behaviour."""
    body = {"sync_behavior": "api", "url": "https://new.example", "status": "deactivated"}
    response = api.put(f"/ai/content_import_sources/{source_id}", json=body)
    assert response.status_code == 200
    assert sandbox.store.sources[source_id]["url"] == "https://new.example"
    assert sandbox.store.sources[source_id]["status"] == "deactivated"
    body["sync_behavior"] = "manual"
    refused = api.put(f"/ai/content_import_sources/{source_id}", json=body)
    assert refused.status_code == 400
    assert _error(refused)["field"] == "sync_behavior"


def test_delete_source_answers_204_and_removes_its_pages(
    api: httpx.Client, sandbox: SandboxServer, source_id: int
) -> None:
    """Deleting a source answers 204 with no body and deletes every page it held."""
    other = int(sandbox.store.create_source(url="https://other.example")["id"])
    api.post("/ai/external_pages", json=_page(source_id, "a"))
    api.post("/ai/external_pages", json=_page(other, "b"))
    response = api.delete(f"/ai/content_import_sources/{source_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert sandbox.store.pages_of(source_id) == []
    assert len(sandbox.store.pages_of(other)) == 1
    assert api.get(f"/ai/content_import_sources/{source_id}").status_code == 404


def test_a_restart_loses_every_source_and_page_but_never_reuses_an_id(
    api: httpx.Client, sandbox: SandboxServer, source_id: int
) -> None:
    """restart(): the same URL answers again, with nothing in it; new ids are new."""
    api.post("/ai/external_pages", json=_page(source_id, "a"))
    url = sandbox.url
    sandbox.restart()
    assert sandbox.url == url
    assert api.get(f"/ai/content_import_sources/{source_id}").status_code == 404
    assert api.get("/ai/external_pages").json()["data"] == []
    created = api.post(
        "/ai/content_import_sources", json={"sync_behavior": "api", "url": "https://b.example"}
    )
    assert created.status_code == 200
    assert created.json()["id"] > source_id


def test_upsert_updates_the_page_of_the_same_external_id(
    api: httpx.Client, sandbox: SandboxServer, source_id: int
) -> None:
    """Two POSTs with one (source_id, external_id) leave one page with the newer content."""
    first = api.post(
        "/ai/external_pages", json=_page(source_id, ai_agent_availability=True, url="https://u")
    ).json()
    second = api.post("/ai/external_pages", json=_page(source_id, title="New title")).json()
    assert first["id"] == second["id"]
    assert isinstance(first["id"], str)
    assert len(sandbox.store.pages) == 1
    assert second["title"] == "New title"
    # Availability flags omitted on update keep their values; a new page defaults them off.
    assert second["ai_agent_availability"] is True
    assert second["ai_copilot_availability"] is False


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"title": None}, "parameter_not_found", "title"),
        ({"html": None}, "parameter_not_found", "html"),
        ({"external_id": None}, "parameter_not_found", "external_id"),
        ({"locale": "fr"}, "parameter_invalid", "locale"),
        ({"source_id": "1"}, "parameter_invalid", "source_id"),
        ({"source_id": True}, "parameter_invalid", "source_id"),
        ({"title": 3}, "parameter_invalid", "title"),
        ({"ai_agent_availability": "yes"}, "parameter_invalid", "ai_agent_availability"),
        ({"ai_copilot_availability": 1}, "parameter_invalid", "ai_copilot_availability"),
    ],
)
def test_upsert_validates_fields_and_types(
    api: httpx.Client, source_id: int, change: dict[str, Any], code: str, field: str
) -> None:
    """A missing required field or a value of the wrong type is a 400 naming the field."""
    body = {k: v for k, v in {**_page(source_id), **change}.items() if v is not None}
    response = api.post("/ai/external_pages", json=body)
    assert response.status_code == 400
    assert (_error(response)["code"], _error(response)["field"]) == (code, field)


def test_upsert_into_an_unknown_source_is_not_found(api: httpx.Client) -> None:
    """A page for a source that does not exist is refused with 404 not_found."""
    response = api.post("/ai/external_pages", json=_page(999))
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_invalid_json_is_parameter_invalid(api: httpx.Client) -> None:
    """A body that is not JSON, or not an object, is a 400 parameter_invalid."""
    for content in (b"{not json", b"[1, 2]"):
        response = api.post(
            "/ai/external_pages", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert _error(response)["code"] == "parameter_invalid"


def test_delete_page_answers_the_page_and_then_404(
    api: httpx.Client, sandbox: SandboxServer, source_id: int
) -> None:
    """DELETE answers 200 with the page (HTML emptied); the page is gone afterwards."""
    page_id = api.post("/ai/external_pages", json=_page(source_id)).json()["id"]
    response = api.delete(f"/ai/external_pages/{page_id}")
    assert response.status_code == 200
    assert response.json()["id"] == page_id
    assert response.json()["html"] == ""
    assert sandbox.store.pages == {}
    assert api.get(f"/ai/external_pages/{page_id}").status_code == 404
    assert api.delete(f"/ai/external_pages/{page_id}").status_code == 404


def test_put_page_requires_url_and_keeps_external_ids_unique(
    api: httpx.Client, source_id: int
) -> None:
    """PUT on a page needs a url, and cannot give it another page's external id."""
    first = api.post("/ai/external_pages", json=_page(source_id, "a")).json()["id"]
    api.post("/ai/external_pages", json=_page(source_id, "b"))
    missing_url = api.put(f"/ai/external_pages/{first}", json=_page(source_id, "a"))
    assert missing_url.status_code == 400
    assert _error(missing_url)["field"] == "url"
    updated = api.put(f"/ai/external_pages/{first}", json=_page(source_id, "a", url="https://u"))
    assert updated.status_code == 200
    assert updated.json()["url"] == "https://u"
    clash = api.put(f"/ai/external_pages/{first}", json=_page(source_id, "b", url="https://u"))
    assert clash.status_code == 400
    assert _error(clash)["field"] == "external_id"


def test_lists_paginate_with_page_and_per_page(
    api: httpx.Client, sandbox: SandboxServer, source_id: int
) -> None:
    """Lists hold 50 items by default, at most 150, with a next link while more remain."""
    for number in range(160):
        sandbox.store.upsert_page(_page(source_id, f"doc-{number}"))
    first = api.get("/ai/external_pages").json()
    assert first["type"] == "list"
    assert first["total_count"] == 160
    assert len(first["data"]) == 50
    assert first["pages"] == {
        "type": "pages",
        "page": 1,
        "per_page": 50,
        "total_pages": 4,
        "next": f"{sandbox.url}/ai/external_pages?page=2&per_page=50",
    }
    biggest = api.get("/ai/external_pages", params={"per_page": 500}).json()
    assert biggest["pages"]["per_page"] == 150
    last = api.get("/ai/external_pages", params={"page": 2, "per_page": 150}).json()
    assert len(last["data"]) == 10
    assert "next" not in last["pages"]
    ids = [p["id"] for p in biggest["data"] + last["data"]]
    assert len(set(ids)) == 160
    assert api.get("/ai/external_pages", params={"page": 0}).status_code == 400


def test_empty_list_has_zero_pages(api: httpx.Client) -> None:
    """An empty list reports total_count 0 and total_pages 0."""
    body = api.get("/ai/content_import_sources").json()
    assert body["data"] == []
    assert body["total_count"] == 0
    assert body["pages"]["total_pages"] == 0


def test_unknown_paths_and_methods_are_not_found(api: httpx.Client) -> None:
    """An unknown path, an unsupported method or a non-numeric id answers 404 not_found."""
    for method, path in [
        ("GET", "/ai/unknown"),
        ("PATCH", "/ai/external_pages"),
        ("GET", "/ai/content_import_sources/abc"),
    ]:
        response = api.request(method, path)
        assert response.status_code == 404
        assert _error(response)["code"] == "not_found"
