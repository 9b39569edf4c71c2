"""Every HTTP request has a total deadline, and a stopping run abandons a stalled one."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from syncd.connectors.mediawiki.api import ActionApi, RetryPolicy, WikiUnavailable
from syncd.errors import IntercomUnavailable
from syncd.net.deadline import Interrupted
from syncd.publisher import Publisher, RequestInterrupted
from tests.slow_server import SlowServer


def test_trickled_answer_fails_at_the_total_deadline() -> None:
    """A server sending a byte every 0.2 s cannot hold a request past its 2-second timeout."""
    with SlowServer("trickle", interval=0.2) as server:
        publisher = Publisher(base_url=server.url, token="t", timeout=2.0, max_attempts=2)
        started = time.monotonic()
        with publisher, pytest.raises(IntercomUnavailable, match="ReadTimeout") as info:
            list(publisher.list_pages())
        elapsed = time.monotonic() - started
    assert 3.5 < elapsed < 15, elapsed
    assert "after 2 attempts" in str(info.value)
    assert len(server.requests) == 2


def test_stop_abandons_a_stalled_request_within_seconds() -> None:
    """Once the run is stopping, a request the server never answers ends within seconds."""
    stop = threading.Event()
    outcome: list[BaseException] = []
    with SlowServer("stall") as server:
        publisher = Publisher(base_url=server.url, token="t", timeout=300.0, stop=stop)

        def call() -> None:
            try:
                publisher.delete_page("1")
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=call)
        worker.start()
        time.sleep(1.0)
        stopped = time.monotonic()
        stop.set()
        worker.join(timeout=30)
        publisher.close()
    assert not worker.is_alive()
    assert time.monotonic() - stopped < 8
    assert len(outcome) == 1 and isinstance(outcome[0], RequestInterrupted), outcome


def test_wiki_request_trickled_fails_at_the_total_deadline() -> None:
    """The MediaWiki client bounds a trickled answer by its timeout as well."""
    with SlowServer("trickle", interval=0.2) as server:
        api = ActionApi(
            f"{server.url}/api.php",
            timeout=1.5,
            retry=RetryPolicy(attempts=1, total_seconds=10, wait_initial=0.1, wait_jitter=0),
        )
        started = time.monotonic()
        with pytest.raises(WikiUnavailable, match="ReadTimeout"):
            api.get(action="query", meta="siteinfo")
        api.close()
    assert time.monotonic() - started < 8


def test_sigterm_interrupts_a_sync_stalled_on_intercom(tmp_path: Path) -> None:
    """`syncd sync` waiting on an Intercom that never answers stops within seconds of SIGTERM."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.md").write_text("# A\n\nbody\n", encoding="utf-8")
    with SlowServer("stall") as server:
        config = {
            "intercom": {"token": "t", "base_url": server.url, "timeout": 300},
            "state": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
            "sources": [
                {
                    "name": "docs",
                    "connector": "markdown",
                    "url": "https://docs.example.com",
                    "options": {"path": str(site), "base_url": "https://docs.example.com/"},
                }
            ],
        }
        path = tmp_path / "syncd.yaml"
        path.write_text(json.dumps(config), encoding="utf-8")
        command = [sys.executable, "-m", "syncd", "--log-format", "json", "--config", str(path)]
        proc = subprocess.Popen(
            [*command, "sync"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.requests, "syncd never reached the server"
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        out, err = proc.communicate(timeout=60)
    assert time.monotonic() - signalled < 10
    assert proc.returncode == 143, err
    assert "stopped early" in out and "Traceback" not in err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_first_retry_logs_the_transport_error_with_its_host() -> None:
    """A refused connection is named on the first retry (host and the system's words)."""
    url = f"http://127.0.0.1:{_closed_port()}"
    with (
        capture_logs() as logs,
        Publisher(base_url=url, token="t", max_attempts=2) as publisher,
        pytest.raises(IntercomUnavailable, match="Connection refused"),
    ):
        publisher.delete_page("1")
    retries = [e for e in logs if e["event"] == "publish.retry"]
    assert len(retries) == 1 and retries[0]["log_level"] == "warning"
    assert "Connection refused" in retries[0]["error"] and "127.0.0.1" in retries[0]["error"]


def test_wiki_retry_logs_the_transport_error_at_the_same_level() -> None:
    """The MediaWiki client names the refused host on its first retry, also as a warning."""
    api = ActionApi(
        f"http://127.0.0.1:{_closed_port()}/api.php",
        timeout=5,
        retry=RetryPolicy(attempts=2, total_seconds=10, wait_initial=0.1, wait_jitter=0),
    )
    with capture_logs() as logs, pytest.raises(WikiUnavailable, match="Connection refused"):
        api.get(action="query", meta="siteinfo")
    api.close()
    retries = [e for e in logs if e["event"] == "mediawiki.retry"]
    assert len(retries) == 1 and retries[0]["log_level"] == "warning"
    assert "Connection refused" in retries[0]["error"] and "127.0.0.1" in retries[0]["error"]


def test_stop_abandons_a_stalled_wiki_request_within_seconds() -> None:
    """The MediaWiki client given the run's stop event gives up a silent request soon after it."""
    stop = threading.Event()
    outcome: list[BaseException] = []
    with SlowServer("stall") as server:
        api = ActionApi(f"{server.url}/api.php", timeout=300, stop=stop)

        def call() -> None:
            try:
                api.get(action="query", meta="siteinfo")
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=call)
        worker.start()
        time.sleep(1.0)
        stopped = time.monotonic()
        stop.set()
        worker.join(timeout=30)
        api.close()
    assert not worker.is_alive()
    assert time.monotonic() - stopped < 8
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted), outcome
