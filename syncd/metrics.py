"""Prometheus metrics: what `syncd run` serves on ``/metrics``.

Defined once here, in the default registry, and updated by the engine and the publisher as
they work. Read them as attributes of this module (``metrics.RUNS``), at the time of the
update, never imported by name: they are built on first use, so that a command that
:func:`discard` s them never imports prometheus_client at all.

recording
    The default: the first use of any metric imports prometheus_client and registers every
    metric below in its default registry.
discarding
    After :func:`discard`, every metric is a stand-in that accepts updates and keeps nothing.
    For the one-shot `syncd sync`, which has no endpoint to serve them from.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

    DOCUMENTS: Counter
    RUNS: Counter
    RUN_DURATION: Histogram
    LAST_SUCCESS: Gauge
    PAGES_HELD: Gauge
    PAGES_DELETED: Counter
    INTERCOM_REQUESTS: Counter
    RATE_LIMIT_WAITS: Counter
    RATE_LIMIT_WAIT_SECONDS: Counter
    RETRIES: Counter
    FRESHNESS: Histogram
    TRIGGERS: Counter
    HOOKS_REFUSED: Counter
    FAILING_STREAK: Gauge
    SCHEDULE_INTERVAL: Gauge

NAMES = (
    "DOCUMENTS",
    "RUNS",
    "RUN_DURATION",
    "LAST_SUCCESS",
    "PAGES_HELD",
    "PAGES_DELETED",
    "INTERCOM_REQUESTS",
    "RATE_LIMIT_WAITS",
    "RATE_LIMIT_WAIT_SECONDS",
    "RETRIES",
    "FRESHNESS",
    "TRIGGERS",
    "HOOKS_REFUSED",
    "FAILING_STREAK",
    "SCHEDULE_INTERVAL",
)
FAILED_RESULTS = frozenset({"failed", "safety_stop"})  # the results a failing streak counts
_lock = threading.Lock()  # the engine's threads may make the first use at once
_discarding = False


def _build() -> dict[str, Any]:
    from prometheus_client import Counter, Gauge, Histogram

    return {
        "DOCUMENTS": Counter(
            "syncd_documents",
            "Documents handled, by source and outcome "
            "(created, updated, unchanged, deleted, failed, excluded).",
            ["source", "outcome"],
        ),
        "RUNS": Counter("syncd_runs", "Finished runs, by source and result.", ["source", "result"]),
        "RUN_DURATION": Histogram(
            "syncd_run_duration_seconds",
            "Wall time of one run of one source.",
            ["source"],
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
        ),
        "LAST_SUCCESS": Gauge(
            "syncd_last_success_timestamp_seconds",
            "Unix time at which the last successful run of the source finished.",
            ["source"],
        ),
        "PAGES_HELD": Gauge(
            "syncd_pages_held", "Pages syncd holds in Intercom for the source.", ["source"]
        ),
        "PAGES_DELETED": Counter(
            "syncd_pages_deleted",
            "Pages removed from Intercom, by source and reason (gone, excluded, renamed, orphan).",
            ["source", "reason"],
        ),
        "INTERCOM_REQUESTS": Counter(
            "syncd_intercom_requests",
            "Requests sent to Intercom, by method and HTTP status ('error' for transport "
            "failures).",
            ["method", "status"],
        ),
        "RATE_LIMIT_WAITS": Counter(
            "syncd_intercom_rate_limit_waits",
            "Times a request waited for the Intercom rate-limit budget.",
        ),
        "RATE_LIMIT_WAIT_SECONDS": Counter(
            "syncd_intercom_rate_limit_wait_seconds",
            "Seconds spent waiting for the Intercom rate-limit budget.",
        ),
        "RETRIES": Counter(
            "syncd_intercom_retries",
            "Intercom requests retried, by reason (HTTP status or 'transport').",
            ["reason"],
        ),
        "FRESHNESS": Histogram(
            "syncd_freshness_seconds",
            "Seconds from a document's change at the source to its write in Intercom "
            "(changes after the last full listing only; see syncd.state.freshness).",
            ["source"],
            buckets=(0.5, 1, 2, 3, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400),
        ),
        "TRIGGERS": Counter(
            "syncd_triggers",
            "Runs asked for between ticks, by source and trigger (watch, poll, hook); requests "
            "that arrive during a run coalesce into one follow-up run.",
            ["source", "trigger"],
        ),
        "HOOKS_REFUSED": Counter(
            "syncd_hooks_refused",
            "Calls of POST /hooks/<source> refused for a missing or wrong secret (or a body "
            "too large); not labelled by source, which the caller chooses.",
        ),
        "FAILING_STREAK": Gauge(
            "syncd_consecutive_failed_runs",
            "Runs of the source in a row that failed or that the safety stop refused, up to "
            "now (0 after an ok or partial run; read from the state database at start-up).",
            ["source"],
        ),
        "SCHEDULE_INTERVAL": Gauge(
            "syncd_schedule_interval_seconds",
            "Seconds between two scheduled runs of the source (for a cron schedule: between "
            "its next two ticks), set when `syncd run` starts.",
            ["source"],
        ),
    }


class _Discarded:
    """A metric (or one of its labelled children) that accepts every update and keeps none."""

    def labels(self, *_values: str, **_labels: str) -> Self:
        """Itself: every child of a discarded metric is discarded too."""
        return self

    def inc(self, amount: float = 1) -> None:
        """Ignore an increment."""

    def set(self, value: float) -> None:
        """Ignore a new value."""

    def observe(self, amount: float) -> None:
        """Ignore an observation."""

    def set_to_current_time(self) -> None:
        """Ignore a timestamp."""


def run_finished(source: str, result: str, duration: float, *, success: bool) -> None:
    """Count a finished run: its result, its duration, the failing streak, the last success.

    ``result``: ok, partial, failed, safety_stop or stopped (a stopped run leaves the streak
    as it was); ``success``: the run ended ok (the time of the last success moves).
    """
    module = sys.modules[__name__]
    module.RUNS.labels(source, result).inc()
    module.RUN_DURATION.labels(source).observe(duration)
    if result in FAILED_RESULTS:
        module.FAILING_STREAK.labels(source).inc()
    elif result in {"ok", "partial"}:
        module.FAILING_STREAK.labels(source).set(0)
    if success:
        module.LAST_SUCCESS.labels(source).set_to_current_time()


def discard() -> None:
    """Make every metric not yet used a stand-in, and never import prometheus_client."""
    global _discarding  # noqa: PLW0603 - one switch for the process, set once at start-up
    with _lock:
        _discarding = True


def register() -> None:
    """Build every metric now: an endpoint about to serve them lists them before their first use."""
    __getattr__(next(iter(NAMES)))


def recording() -> bool:
    """Whether updates are kept (worth computing a value only a metric needs)."""
    return not _discarding


def __getattr__(name: str) -> Any:
    """Build the metrics at the first use of any of them (PEP 562)."""
    if name not in NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:
        module = globals()
        if name not in module:
            discarded = _Discarded()
            built = dict.fromkeys(NAMES, discarded) if _discarding else _build()
            module.update(built)
        return module[name]
