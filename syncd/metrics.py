"""Prometheus metrics: what `syncd run` serves on ``/metrics``.

Defined once here, in the default registry, and updated by the engine and the publisher as
they work, so a one-shot `syncd sync` pays only for a few counter increments.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DOCUMENTS = Counter(
    "syncd_documents",
    "Documents handled, by source and outcome "
    "(created, updated, unchanged, deleted, failed, excluded).",
    ["source", "outcome"],
)
RUNS = Counter("syncd_runs", "Finished runs, by source and result.", ["source", "result"])
RUN_DURATION = Histogram(
    "syncd_run_duration_seconds",
    "Wall time of one run of one source.",
    ["source"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
LAST_SUCCESS = Gauge(
    "syncd_last_success_timestamp_seconds",
    "Unix time at which the last successful run of the source finished.",
    ["source"],
)
PAGES_HELD = Gauge("syncd_pages_held", "Pages syncd holds in Intercom for the source.", ["source"])
INTERCOM_REQUESTS = Counter(
    "syncd_intercom_requests",
    "Requests sent to Intercom, by method and HTTP status ('error' for transport failures).",
    ["method", "status"],
)
RATE_LIMIT_WAITS = Counter(
    "syncd_intercom_rate_limit_waits",
    "Times a request waited for the Intercom rate-limit budget.",
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "syncd_intercom_rate_limit_wait_seconds",
    "Seconds spent waiting for the Intercom rate-limit budget.",
)
RETRIES = Counter(
    "syncd_intercom_retries",
    "Intercom requests retried, by reason (HTTP status or 'transport').",
    ["reason"],
)
