"""Finding, reusing, updating and creating content import sources, never twice."""

from __future__ import annotations

import httpx

from syncd.publisher import Publisher
from syncd.sandbox import SandboxServer
from tests.publisher.conftest import DropAnswers

URL = "https://docs.example.com"


def test_first_run_creates_one_api_source(publisher: Publisher, sandbox: SandboxServer) -> None:
    """With nothing stored and nothing in Intercom, one API source is created."""
    source_id = publisher.ensure_source(stored_id=None, url=URL)
    assert list(sandbox.store.sources) == [source_id]
    assert sandbox.store.sources[source_id]["sync_behavior"] == "api"
    assert publisher.ensure_source(stored_id=None, url=URL) == source_id
    assert len(sandbox.store.sources) == 1


def test_stored_source_is_kept_without_writes(publisher: Publisher, sandbox: SandboxServer) -> None:
    """A stored id that still exists with the same url and status costs one GET."""
    source_id = int(sandbox.store.create_source(url=URL)["id"])
    assert publisher.ensure_source(stored_id=source_id, url=URL) == source_id
    assert [(m, s) for m, _, s in sandbox.store.request_log] == [("GET", 200)]


def test_changed_url_and_status_are_applied_with_put(
    publisher: Publisher, sandbox: SandboxServer
) -> None:
    """A stored source whose url or status differ from the configuration is updated by PUT."""
    source_id = int(sandbox.store.create_source(url=URL)["id"])
    new_url = "https://handbook.example.com/"
    assert publisher.ensure_source(stored_id=source_id, url=new_url, status="deactivated") == (
        source_id
    )
    assert sandbox.store.sources[source_id]["url"] == new_url
    assert sandbox.store.sources[source_id]["status"] == "deactivated"
    assert sandbox.store.requests(method="PUT", status=200) == 1
    assert len(sandbox.store.sources) == 1


def test_vanished_stored_id_is_found_again_by_url(
    publisher: Publisher, sandbox: SandboxServer
) -> None:
    """When the stored id is gone, the API source with the same URL is reused, not duplicated."""
    sandbox.store.create_source(url="https://unrelated.example")
    sandbox.store.create_source(url=URL + "/", sync_behavior="manual")
    existing = int(sandbox.store.create_source(url=URL + "/")["id"])
    found = publisher.ensure_source(stored_id=9999, url=URL)
    assert found == existing
    assert len(sandbox.store.sources) == 3
    assert sandbox.store.requests(method="POST") == 0
    # The configured spelling of the URL is written back.
    assert sandbox.store.sources[existing]["url"] == URL


def test_non_api_source_with_the_same_url_is_not_reused(
    publisher: Publisher, sandbox: SandboxServer
) -> None:
    """A source Intercom syncs by itself is never adopted; an API source is created instead."""
    crawler = int(sandbox.store.create_source(url=URL, sync_behavior="automatic")["id"])
    created = publisher.ensure_source(stored_id=crawler, url=URL)
    assert created != crawler
    assert sandbox.store.sources[created]["sync_behavior"] == "api"


def test_finding_a_source_walks_every_page_of_sources(
    publisher: Publisher, sandbox: SandboxServer
) -> None:
    """The source is found even when it is on the last page of a long list."""
    for number in range(200):
        sandbox.store.create_source(url=f"https://s{number}.example")
    wanted = int(sandbox.store.create_source(url=URL)["id"])
    assert publisher.ensure_source(stored_id=None, url=URL) == wanted
    assert sandbox.store.requests(method="POST") == 0


def test_a_create_whose_answer_was_lost_is_not_repeated(sandbox: SandboxServer) -> None:
    """If the answer to the create is lost, the retry finds the created source instead."""
    lost: list[httpx.Request] = []

    def lose_first_create(request: httpx.Request) -> bool:
        if request.method == "POST" and not lost:
            lost.append(request)
            return True
        return False

    transport = DropAnswers(httpx.HTTPTransport(), lose_first_create)
    with Publisher(base_url=sandbox.url, token="sandbox", transport=transport) as publisher:
        source_id = publisher.ensure_source(stored_id=None, url=URL)
    assert lost
    assert list(sandbox.store.sources) == [source_id]
    assert sandbox.store.requests(method="POST") == 1
