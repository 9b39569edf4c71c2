"""Answers of the wrong shape are clear errors naming the endpoint, never a duplicate source."""

from __future__ import annotations

import pytest

from syncd.publisher import Publisher
from syncd.publisher.answers import UnexpectedAnswer
from syncd.render.content import Payload
from tests.slow_server import SlowServer

PAYLOAD = Payload(
    external_id="doc-1",
    title="Doc",
    html="<p>body</p>",
    url=None,
    ai_agent_availability=True,
    ai_copilot_availability=True,
)


def test_a_list_without_data_never_creates_a_source() -> None:
    """A source list answer without 'data' stops ensure_source before any create is sent."""
    with (
        SlowServer("json", answers=[(200, {}, {"type": "list"})]) as server,
        Publisher(base_url=server.url, token="t") as publisher,
        pytest.raises(UnexpectedAnswer, match=r"GET /ai/content_import_sources .*'data'"),
    ):
        publisher.ensure_source(stored_id=None, url="https://docs.example.com")
    assert not [line for line in server.requests if line.startswith("POST")]


def test_a_created_source_without_id_is_not_created_twice() -> None:
    """A create answered without 'id' fails once, naming the endpoint; it is not re-sent."""
    answers = [
        (200, {}, {"type": "list", "data": [], "pages": {"total_pages": 1}}),
        (200, {}, {"type": "content_import_source"}),
    ]
    with (
        SlowServer("json", answers=answers) as server,
        Publisher(base_url=server.url, token="t") as publisher,
        pytest.raises(UnexpectedAnswer, match=r"POST /ai/content_import_sources .*'id'"),
    ):
        publisher.ensure_source(stored_id=None, url="https://docs.example.com")
    assert [line.split()[0] for line in server.requests] == ["GET", "POST"]


@pytest.mark.parametrize("body", [{"type": "external_page"}, {"id": None}, {"id": True}, []])
def test_an_upsert_answer_without_a_usable_id_is_a_clear_error(body: object) -> None:
    """An upsert answered 200 without a usable page id raises UnexpectedAnswer, no KeyError."""
    with (
        SlowServer("json", answers=[(200, {}, body)]) as server,
        Publisher(base_url=server.url, token="t") as publisher,
        pytest.raises(UnexpectedAnswer, match=r"upsert page 'doc-1': POST /ai/external_pages"),
    ):
        publisher.upsert_page(source_id=1, payload=PAYLOAD)


def test_a_stored_source_answer_without_id_is_a_clear_error() -> None:
    """Reading back a stored source whose answer has no id fails naming GET .../<id>."""
    with (
        SlowServer("json", answers=[(200, {}, {"sync_behavior": "api"})]) as server,
        Publisher(base_url=server.url, token="t") as publisher,
        pytest.raises(UnexpectedAnswer, match=r"GET /ai/content_import_sources/5 "),
    ):
        publisher.ensure_source(stored_id=5, url="https://docs.example.com")
    assert len(server.requests) == 1
