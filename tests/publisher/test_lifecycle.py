"""The publisher's HTTP client: built by the first request, shared by every thread."""

from __future__ import annotations

import subprocess
import sys
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


def test_httpx_is_imported_by_the_first_request_and_without_rich() -> None:
    """A fresh process imports httpx only to send, and never rich or pygments with it."""
    program = (
        "import sys\n"
        "import syncd.log  # first, as in the command line: structlog without rich\n"
        "from syncd.errors import IntercomUnavailable\n"
        "from syncd.publisher import Publisher\n"
        "publisher = Publisher(base_url='http://127.0.0.1:9', token='t', max_attempts=1)\n"
        "assert 'httpx' not in sys.modules\n"
        "try:\n"
        "    publisher.get_page_html('1')  # the discard port: refused\n"
        "except IntercomUnavailable:\n"
        "    pass\n"
        "publisher.close()\n"
        "assert 'httpx' in sys.modules\n"
        "assert 'rich' not in sys.modules and 'pygments' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)
