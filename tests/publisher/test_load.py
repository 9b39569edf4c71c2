"""Many threads publishing at once: the shared rate budget, and faults under load."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from syncd.publisher import Publisher
from syncd.sandbox import SandboxServer, SandboxSettings
from tests.publisher.conftest import metric, payload


def _publish_all(publisher: Publisher, source_id: int, count: int) -> list[str]:
    def publish(number: int) -> str:
        return publisher.upsert_page(source_id=source_id, payload=payload(f"doc-{number}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(publish, range(count)))


@pytest.mark.slow
def test_eight_threads_stay_under_the_rate_limit() -> None:
    """500 pages from 8 threads against 50 requests a window: under 1% of answers are 429."""
    # One-second windows keep the test short; the pacing only sees limit, remaining and reset.
    settings = SandboxSettings(rate_limit=50, window_seconds=1.0, seed=5)
    waits_before = metric("syncd_intercom_rate_limit_waits_total")
    with SandboxServer(settings) as sandbox:
        source_id = int(sandbox.store.create_source(url="https://docs.example.com")["id"])
        with Publisher(base_url=sandbox.url, token="sandbox", max_concurrency=8) as publisher:
            started = time.monotonic()
            page_ids = _publish_all(publisher, source_id, 500)
            elapsed = time.monotonic() - started
        counts = sandbox.store.status_counts()
    assert len(set(page_ids)) == 500
    assert len(sandbox.store.pages) == 500
    assert counts[429] / sum(counts.values()) < 0.01
    assert metric("syncd_intercom_rate_limit_waits_total") > waits_before
    # The budget is used, not wasted: 500 requests at 50 a second take about 10 seconds.
    assert elapsed < 20


@pytest.mark.slow
def test_every_page_arrives_once_despite_errors_and_drops() -> None:
    """With 10% 5xx answers and 5% dropped connections, every page exists exactly once."""
    settings = SandboxSettings(error_rate=0.10, drop_rate=0.05, seed=17)
    with SandboxServer(settings) as sandbox:
        source_id = int(sandbox.store.create_source(url="https://docs.example.com")["id"])
        with Publisher(base_url=sandbox.url, token="sandbox") as publisher:
            page_ids = _publish_all(publisher, source_id, 300)
            listed = list(publisher.list_pages(source_id))
        counts = sandbox.store.status_counts()
    assert counts[0] > 0
    assert sum(counts[s] for s in (500, 502, 503, 504)) > 0
    pages = sandbox.store.pages_of(source_id)
    assert len(pages) == 300
    assert sorted(p["external_id"] for p in pages) == sorted(f"doc-{n}" for n in range(300))
    assert sorted(page_ids) == sorted(p["id"] for p in pages)
    assert sorted(p.id for p in listed) == sorted(page_ids)
