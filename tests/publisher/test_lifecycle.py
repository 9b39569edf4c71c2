"""The publisher's HTTP client: built by the first request, shared by every thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from syncd.publisher import Publisher
from syncd.sandbox import SandboxServer
from tests.publisher.conftest import payload


def test_a_publisher_that_sends_nothing_builds_no_client(sandbox: SandboxServer) -> None:
    """A run where nothing changed pays neither for the client nor for its SSL context."""
    publisher = Publisher(base_url=sandbox.url, token="sandbox")
    assert publisher._client is None
    publisher.close()
    with pytest.raises(RuntimeError, match="closed"):
        publisher.get_page_html("1")
    assert publisher.request_count == 0


def test_first_requests_from_many_threads_share_one_client(
    sandbox: SandboxServer, source_id: int
) -> None:
    """Eight threads that start at once all get answers, through one pooled client."""
    threads = 8
    start = threading.Barrier(threads)
    with Publisher(base_url=sandbox.url, token="sandbox", max_concurrency=threads) as publisher:

        def first_call(number: int) -> str:
            start.wait()
            return publisher.upsert_page(source_id=source_id, payload=payload(f"p{number}"))

        with ThreadPoolExecutor(threads) as pool:
            page_ids = list(pool.map(first_call, range(threads)))
        client = publisher._client
        assert client is not None
        assert publisher._http is client
    assert len(set(page_ids)) == threads
    assert publisher.request_count == threads
    assert len(sandbox.store.pages_of(source_id)) == threads
    assert client.is_closed
