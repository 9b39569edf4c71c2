"""Authentication failures, retries and their limits, and the metrics they leave."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from syncd.errors import ExitCode, IntercomAuthError, IntercomUnavailable
from syncd.publisher import Publisher, RequestRejected
from syncd.sandbox import SandboxServer
from tests.publisher.conftest import DropAnswers, metric, payload

SECRET = "sk-wrong-token-123"


def test_wrong_token_fails_after_exactly_one_request(
    sandbox: SandboxServer, source_id: int
) -> None:
    """A refused token raises IntercomAuthError (exit 6) at once, and nothing more is sent."""
    with Publisher(base_url=sandbox.url, token=SECRET) as publisher:
        with pytest.raises(IntercomAuthError) as caught:
            publisher.upsert_page(source_id=source_id, payload=payload("a"))
        assert caught.value.exit_code is ExitCode.INTERCOM_AUTH
        assert int(caught.value.exit_code) == 6
        message = str(caught.value)
        assert SECRET not in message
        assert "revoked" in message
        assert "region" in message
        with pytest.raises(IntercomAuthError):
            publisher.delete_page("1")
        assert publisher.request_count == 1
    assert sandbox.store.status_counts() == {401: 1}


def test_wrong_token_stops_every_thread_after_one_request(
    sandbox: SandboxServer, source_id: int
) -> None:
    """Eight threads publishing with a refused token send one request between them."""
    with Publisher(base_url=sandbox.url, token=SECRET) as publisher:

        def publish(number: int) -> str:
            return publisher.upsert_page(source_id=source_id, payload=payload(f"p{number}"))

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(publish, n) for n in range(40)]
        for future in futures:
            assert isinstance(future.exception(), IntercomAuthError)
        assert publisher.request_count == 1


def test_403_is_an_authentication_error_too() -> None:
    """A 403 (missing scope) is treated as refused credentials, without retry."""
    envelope = {"type": "error.list", "errors": [{"code": "api_plan_restricted"}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(403, json=envelope))
    with Publisher(base_url="http://intercom.test", token="t", transport=transport) as publisher:
        with pytest.raises(IntercomAuthError, match="api_plan_restricted"):
            publisher.ensure_source(stored_id=None, url="https://x.example")
        assert publisher.request_count == 1


def test_server_errors_are_retried_then_reported_unavailable(
    sandbox: SandboxServer, source_id: int
) -> None:
    """Persistent 5xx answers are retried max_attempts times, then IntercomUnavailable (75)."""
    sandbox.settings.error_rate = 1.0
    retries_before = sum(
        metric("syncd_intercom_retries_total", reason=str(s)) for s in range(500, 505)
    )
    with Publisher(base_url=sandbox.url, token="sandbox", max_attempts=3) as publisher:
        with pytest.raises(IntercomUnavailable) as caught:
            publisher.upsert_page(source_id=source_id, payload=payload("doc-9"))
        assert publisher.request_count == 3
    assert caught.value.exit_code is ExitCode.INTERCOM_UNAVAILABLE
    assert int(caught.value.exit_code) == 75
    assert "upsert page 'doc-9'" in str(caught.value)
    assert "HTTP 50" in str(caught.value)
    retries_after = sum(
        metric("syncd_intercom_retries_total", reason=str(s)) for s in range(500, 505)
    )
    assert retries_after - retries_before == 2


def test_retries_stop_at_the_deadline(sandbox: SandboxServer, source_id: int) -> None:
    """The retry deadline bounds the time spent, whatever max_attempts allows."""
    sandbox.settings.error_rate = 1.0
    started = time.monotonic()
    with Publisher(
        base_url=sandbox.url, token="sandbox", max_attempts=100, retry_deadline=1.0
    ) as publisher:
        with pytest.raises(IntercomUnavailable):
            publisher.delete_page("1")
        assert publisher.request_count < 10
    assert time.monotonic() - started < 5


def test_transport_errors_are_retried(sandbox: SandboxServer, source_id: int) -> None:
    """Lost answers are retried; the upsert lands once and the retry is counted as transport."""
    lost: list[int] = []

    def lose_two(request: httpx.Request) -> bool:
        if request.method == "POST" and len(lost) < 2:
            lost.append(1)
            return True
        return False

    before = metric("syncd_intercom_retries_total", reason="transport")
    errors_before = metric("syncd_intercom_requests_total", method="POST", status="error")
    transport = DropAnswers(httpx.HTTPTransport(), lose_two)
    with Publisher(base_url=sandbox.url, token="sandbox", transport=transport) as publisher:
        publisher.upsert_page(source_id=source_id, payload=payload("a"))
        assert publisher.request_count == 3
    assert len(sandbox.store.pages) == 1
    assert metric("syncd_intercom_retries_total", reason="transport") - before == 2
    after = metric("syncd_intercom_requests_total", method="POST", status="error")
    assert after - errors_before == 2


def test_unreachable_intercom_is_unavailable() -> None:
    """A refused connection is retried and ends as IntercomUnavailable naming the operation."""
    with socket.socket() as probe:  # a port that was free a moment ago, so nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Publisher(
        base_url=f"http://127.0.0.1:{port}", token="t", max_attempts=2, timeout=2
    ) as publisher:
        with pytest.raises(IntercomUnavailable, match=r"list external pages.*ConnectError"):
            list(publisher.list_pages())
        assert publisher.request_count == 2


def test_other_client_errors_are_not_retried() -> None:
    """A 400 on a source request raises RequestRejected with its code after one request."""
    envelope = {"type": "error.list", "errors": [{"code": "parameter_invalid", "message": "bad"}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(400, json=envelope))
    with Publisher(base_url="http://intercom.test", token="t", transport=transport) as publisher:
        with pytest.raises(RequestRejected) as caught:
            publisher.ensure_source(stored_id=3, url="https://x.example")
        assert publisher.request_count == 1
    assert (caught.value.status, caught.value.code) == (400, "parameter_invalid")
    assert "get content import source 3" in str(caught.value)


def test_every_answer_is_counted_by_method_and_status(
    publisher: Publisher, sandbox: SandboxServer, source_id: int
) -> None:
    """Each request increments the request counter of its method and status."""
    before = metric("syncd_intercom_requests_total", method="POST", status="200")
    for number in range(3):
        publisher.upsert_page(source_id=source_id, payload=payload(f"p{number}"))
    assert metric("syncd_intercom_requests_total", method="POST", status="200") - before == 3
