"""Writing, deleting and listing external pages through the publisher."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from syncd.publisher import PageRejected, Publisher, RemotePage
from syncd.sandbox import SandboxServer
from tests.publisher.conftest import payload


def test_create_then_update_leaves_one_page(
    publisher: Publisher, sandbox: SandboxServer, source_id: int
) -> None:
    """Upserting one external id twice creates the page once and then updates it."""
    first = publisher.upsert_page(source_id=source_id, payload=payload("a", title="Old"))
    second = publisher.upsert_page(source_id=source_id, payload=payload("a", title="New"))
    assert first == second
    assert isinstance(first, str)
    pages = sandbox.store.pages_of(source_id)
    assert [(p["id"], p["title"]) for p in pages] == [(first, "New")]


def test_upsert_sends_every_field_explicitly(
    publisher: Publisher, sandbox: SandboxServer, source_id: int
) -> None:
    """The page carries locale en, an integer source id and both availability flags."""
    publisher.upsert_page(source_id=source_id, payload=payload("a", url="https://u.example/a"))
    page = sandbox.store.find_page(source_id, "a")
    assert page is not None
    assert page["locale"] == "en"
    assert page["url"] == "https://u.example/a"
    assert page["ai_agent_availability"] is True
    assert page["ai_copilot_availability"] is False
    publisher.upsert_page(source_id=source_id, payload=payload("b"))
    without_url = sandbox.store.find_page(source_id, "b")
    assert without_url is not None
    assert without_url["url"] is None


def test_url_is_omitted_when_none() -> None:
    """A payload without a URL sends no url key at all (not null)."""
    bodies: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"id": "9", "source_id": 1})

    with Publisher(
        base_url="http://intercom.test", token="t", transport=httpx.MockTransport(answer)
    ) as publisher:
        assert publisher.upsert_page(source_id=1, payload=payload("a")) == "9"
    assert "url" not in bodies[0]
    assert bodies[0]["source_id"] == 1
    assert bodies[0]["ai_copilot_availability"] is False


def test_delete_removes_the_page_and_tolerates_a_missing_one(
    publisher: Publisher, sandbox: SandboxServer, source_id: int
) -> None:
    """Deleting a page removes it; deleting it again (404) is not an error."""
    page_id = publisher.upsert_page(source_id=source_id, payload=payload("a"))
    publisher.delete_page(page_id)
    assert sandbox.store.pages == {}
    publisher.delete_page(page_id)
    assert sandbox.store.requests(method="DELETE", status=404) == 1


def test_a_rejected_page_raises_page_rejected(publisher: Publisher, sandbox: SandboxServer) -> None:
    """A 4xx for one page raises PageRejected with Intercom's code and message, unretried."""
    with pytest.raises(PageRejected) as caught:
        publisher.upsert_page(source_id=4242, payload=payload("doc-7"))
    assert caught.value.status == 404
    assert caught.value.code == "not_found"
    assert "content import source 4242" in caught.value.message
    assert "doc-7" in str(caught.value)
    assert publisher.request_count == 1


def test_a_422_carries_the_error_list_code_and_field() -> None:
    """The code and message come from the error.list envelope, with the field named."""
    envelope = {
        "type": "error.list",
        "request_id": "r",
        "errors": [{"code": "data_invalid", "message": "html is too long", "field": "html"}],
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(422, json=envelope))
    with Publisher(base_url="http://intercom.test", token="t", transport=transport) as publisher:
        with pytest.raises(PageRejected) as caught:
            publisher.upsert_page(source_id=1, payload=payload("big"))
        assert publisher.request_count == 1
    assert (caught.value.status, caught.value.code) == (422, "data_invalid")
    assert caught.value.message == "html is too long (field html)"
    assert caught.value.page == "big"


def test_list_pages_walks_more_than_150_pages(
    publisher: Publisher, sandbox: SandboxServer, source_id: int
) -> None:
    """Listing follows the pages of the list until every page was seen, filtered by source."""
    other = int(sandbox.store.create_source(url="https://other.example")["id"])
    for number in range(320):
        owner = source_id if number % 4 else other
        sandbox.store.upsert_page(
            {"title": "T", "html": "h", "source_id": owner, "external_id": f"doc-{number}"}
        )
    everything = list(publisher.list_pages())
    assert len(everything) == 320
    assert len({page.id for page in everything}) == 320
    ours = list(publisher.list_pages(source_id))
    assert len(ours) == 240
    assert all(isinstance(page, RemotePage) and page.source_id == source_id for page in ours)
    assert {page.external_id for page in ours} == {f"doc-{n}" for n in range(320) if n % 4}
    assert sandbox.store.requests(method="GET") == 6  # 3 pages of 150, twice


def _item(number: int) -> dict[str, object]:
    return {"id": str(number), "source_id": 1, "external_id": f"e{number}", "title": "T"}


def test_list_pages_counts_pages_when_there_is_no_next_link() -> None:
    """Without a next link, listing asks for page numbers up to total_pages."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["page"])
        page = int(request.url.params["page"])
        data = [_item(n) for n in range((page - 1) * 2, page * 2)]
        pages = {"type": "pages", "page": page, "per_page": 2, "total_pages": 3}
        return httpx.Response(200, json={"type": "list", "data": data, "pages": pages})

    transport = httpx.MockTransport(answer)
    with Publisher(base_url="http://intercom.test", token="t", transport=transport) as publisher:
        assert [p.id for p in publisher.list_pages()] == ["0", "1", "2", "3", "4", "5"]
    assert asked == ["1", "2", "3"]


def test_list_pages_stops_when_the_server_ignores_the_page_parameter() -> None:
    """A server that always serves the first page ends the walk instead of looping."""
    calls: Iterator[int] = iter(range(100))

    def answer(request: httpx.Request) -> httpx.Response:
        next(calls)
        pages = {"type": "pages", "page": 1, "per_page": 2, "total_pages": 50}
        return httpx.Response(
            200, json={"type": "list", "data": [_item(1), _item(2)], "pages": pages}
        )

    transport = httpx.MockTransport(answer)
    with Publisher(base_url="http://intercom.test", token="t", transport=transport) as publisher:
        assert [p.id for p in publisher.list_pages()] == ["1", "2"]
        assert publisher.request_count == 2


def test_list_pages_never_follows_a_next_link_to_another_host() -> None:
    """A next link to a foreign host is not followed, so the token stays with Intercom."""
    hosts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        page = int(request.url.params.get("page", "1"))
        pages = {"page": page, "total_pages": 2, "next": "https://evil.test/ai/external_pages"}
        return httpx.Response(200, json={"data": [_item(page)], "pages": pages})

    transport = httpx.MockTransport(answer)
    with Publisher(base_url="http://intercom.test", token="t", transport=transport) as publisher:
        assert [p.id for p in publisher.list_pages()] == ["1", "2"]
    assert hosts == ["intercom.test", "intercom.test"]
