"""Authentication, rate limits and injected faults of the sandbox, seen over HTTP."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys

import httpx
import pytest

from syncd.sandbox import SandboxServer, SandboxSettings
from syncd.sandbox.faults import Fault, FaultPlan
from tests.sandbox.conftest import FakeClock

PAGES = "/ai/external_pages"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic sandbox", "sandbox"])
def test_bad_token_is_401_without_rate_limit_headers(
    sandbox: SandboxServer, authorization: str | None
) -> None:
    """A missing or wrong token is 401 unauthorized, and no rate-limit headers are sent."""
    headers = {"Accept": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = httpx.get(sandbox.url + PAGES, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"] == [
        {"code": "unauthorized", "message": "Access Token Invalid"}
    ]
    assert "x-ratelimit-limit" not in response.headers


def test_missing_accept_header_is_406(sandbox: SandboxServer) -> None:
    """A request that does not accept JSON is answered 406."""
    response = httpx.get(
        sandbox.url + PAGES, headers={"Authorization": "Bearer sandbox", "Accept": "text/html"}
    )
    assert response.status_code == 406


def test_unknown_api_version_is_refused(api: httpx.Client) -> None:
    """An Intercom-Version without the AI Content API is a 400 intercom_version_invalid."""
    response = api.get(PAGES, headers={"Intercom-Version": "2.7"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "intercom_version_invalid"
    assert api.get(PAGES, headers={"Intercom-Version": "2.14"}).status_code == 200


def test_rate_limit_counts_down_and_refuses_over_budget(
    sandbox: SandboxServer, api: httpx.Client, clock: FakeClock
) -> None:
    """Each window allows rate_limit requests; the next is a 429 until the window ends."""
    sandbox.settings.rate_limit = 3
    clock.now = 1_800_000_003.5  # inside the window that ends at ...010
    answers = [api.get(PAGES) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert {r.headers["x-ratelimit-limit"] for r in answers} == {"3"}
    assert {r.headers["x-ratelimit-reset"] for r in answers} == {"1800000010"}
    error = answers[-1].json()["errors"][0]
    assert error == {
        "code": "rate_limit_exceeded",
        "message": "Exceeded rate limit of 3 in 10_seconds",
    }
    clock.now = 1_800_000_010.0
    fresh = api.get(PAGES)
    assert fresh.status_code == 200
    assert fresh.headers["x-ratelimit-remaining"] == "2"
    assert fresh.headers["x-ratelimit-reset"] == "1800000020"


def test_injected_errors_and_throttles_carry_rate_limit_headers(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    """An injected 5xx or 429 is an error.list answer with the rate-limit headers."""
    sandbox.settings.error_rate = 1.0
    error = api.get(PAGES)
    assert error.status_code in (500, 502, 503, 504)
    assert error.json()["errors"][0]["code"] == "server_error"
    assert "x-ratelimit-reset" in error.headers
    sandbox.settings.error_rate, sandbox.settings.throttle_rate = 0.0, 1.0
    throttled = api.get(PAGES)
    assert throttled.status_code == 429
    assert "x-ratelimit-reset" in throttled.headers


def test_dropped_connections_give_the_client_a_transport_error(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    """A dropped request reaches the client as a transport error, never as an answer."""
    source_id = sandbox.store.create_source(url="https://docs.example.com")["id"]
    sandbox.settings.drop_rate = 1.0
    for number in range(20):
        body = {"title": "T", "html": "<p/>", "locale": "en", "source_id": source_id}
        with pytest.raises(httpx.TransportError):
            api.post(PAGES, json={**body, "external_id": f"doc-{number}"})
    assert sandbox.store.status_counts() == collections.Counter({0: 20})
    # Some drops happen after the write: the page exists although nobody heard of it.
    assert 0 < len(sandbox.store.pages) < 20
    sandbox.settings.drop_rate = 0.0
    assert api.get(PAGES).status_code == 200


def test_fault_plan_is_reproducible_with_a_seed() -> None:
    """Two plans with one seed draw the same faults and request ids in the same order."""
    settings = SandboxSettings(error_rate=0.2, throttle_rate=0.1, drop_rate=0.1)
    first, second = FaultPlan(seed=42), FaultPlan(seed=42)
    draws = [first.draw(settings) for _ in range(200)]
    assert draws == [second.draw(settings) for _ in range(200)]
    assert first.request_id() == second.request_id()
    shares = collections.Counter(draws)
    assert set(shares) == set(Fault)
    assert shares[Fault.NONE] > 100


def test_serve_returns_cleanly_on_sigterm() -> None:
    """`serve` runs in the foreground until SIGTERM, then returns with exit status 0."""
    code = (
        "from syncd.sandbox import serve, SandboxSettings\n"
        "serve(SandboxSettings(), host='127.0.0.1', port=0)\n"
        "print('returned', flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "sandbox.started" in line
    url = line.split("url=")[1].split()[0]
    answer = httpx.get(url + PAGES, headers={"Authorization": "Bearer sandbox", "Accept": "*/*"})
    assert answer.status_code == 200
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "returned" in output
