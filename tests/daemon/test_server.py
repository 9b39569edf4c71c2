"""The daemon's endpoints over real HTTP: /healthz, /readyz and /metrics."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from syncd import metrics
from syncd.daemon.scheduler import Daemon
from syncd.daemon.server import HttpServer
from syncd.errors import ConfigError
from tests.daemon.conftest import RecordingJob, make_source, wait_until

StartDaemon = Callable[..., Daemon]


class Switch:
    """A readiness check whose answer the test sets."""

    def __init__(self, reason: str | None) -> None:
        self.reason = reason

    def __call__(self) -> str | None:
        return self.reason


@pytest.fixture
def switch() -> Switch:
    """Readiness that starts as 'not ready: migrations behind'."""
    return Switch("state database migrations are behind")


@pytest.fixture
def server(switch: Switch) -> Iterator[HttpServer]:
    """The endpoints on a free loopback port."""
    with HttpServer(switch, host="127.0.0.1", port=0) as running:
        yield running


def test_healthz_answers_while_alive(server: HttpServer) -> None:
    """/healthz is 200 whatever the readiness says."""
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    assert response.text == "ok\n"


def test_readyz_follows_the_readiness_check(server: HttpServer, switch: Switch) -> None:
    """/readyz is 503 with the reason while not ready, then 200 once the check passes."""
    response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 503
    assert "migrations are behind" in response.text
    switch.reason = None
    response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 200


def test_a_crashing_readiness_check_means_not_ready(server: HttpServer, switch: Switch) -> None:
    """A readiness check that raises gives 503 naming the error type, not a 500."""

    def broken() -> str | None:
        raise ConnectionRefusedError("postgresql://syncd:hunter2@db/syncd refused")

    with HttpServer(broken, host="127.0.0.1", port=0) as failing:
        response = httpx.get(f"{failing.url}/readyz")
    assert response.status_code == 503
    assert "ConnectionRefusedError" in response.text
    assert "hunter2" not in response.text


def test_metrics_exposes_the_default_registry(server: HttpServer) -> None:
    """/metrics serves syncd's metrics in the Prometheus text format."""
    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE syncd_documents_total counter" in response.text
    assert "# TYPE syncd_run_duration_seconds histogram" in response.text


def test_a_busy_port_is_a_configuration_error() -> None:
    """Binding a port already in use fails at start with a ConfigError naming server.port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=r"server\.port") as caught:
            HttpServer(lambda: None, host="127.0.0.1", port=port).start()
    assert str(port) in str(caught.value)


def test_metrics_change_after_a_run(start_daemon: StartDaemon) -> None:
    """Counters a run increments show up changed on /metrics."""

    def count(source: str) -> None:
        metrics.DOCUMENTS.labels(source=source, outcome="created").inc(3)

    labels = {"source": "metrics-probe", "outcome": "created"}
    before = REGISTRY.get_sample_value("syncd_documents_total", labels) or 0.0
    job = RecordingJob(on_run=count)
    daemon = start_daemon([make_source("metrics-probe")], job, serve=True)
    wait_until(lambda: any(call.ended for call in job.runs()))
    assert REGISTRY.get_sample_value("syncd_documents_total", labels) == before + 3
    response = httpx.get(f"{daemon.url}/metrics")
    line = f'syncd_documents_total{{outcome="created",source="metrics-probe"}} {before + 3}'
    assert line in response.text


def test_readyz_says_shutting_down_while_runs_drain(start_daemon: StartDaemon) -> None:
    """Once stopping, /readyz answers 503 'shutting down' while /healthz stays 200."""
    entered, release = threading.Event(), threading.Event()

    def slow(source: str, stop: threading.Event, *, tick: dt.datetime | None = None) -> None:
        entered.set()
        release.wait(5)

    daemon = start_daemon([make_source("handbook")], slow, serve=True, readiness=lambda: None)
    assert httpx.get(f"{daemon.url}/readyz").status_code == 200
    assert entered.wait(5)
    daemon.stop.set()
    waiter = threading.Thread(target=daemon.wait)
    waiter.start()
    try:
        response = httpx.get(f"{daemon.url}/readyz")
        assert response.status_code == 503
        assert "shutting down" in response.text
        assert httpx.get(f"{daemon.url}/healthz").status_code == 200
    finally:
        release.set()
        waiter.join(5)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{daemon.url}/healthz", timeout=1)
