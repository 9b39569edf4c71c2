"""Metrics are built on first use, in the default registry, unless a command discards them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from prometheus_client import REGISTRY, Counter

from syncd import metrics


def test_metrics_are_prometheus_metrics_in_the_default_registry() -> None:
    """Used without discard(), a metric is real and its updates are scraped."""
    assert isinstance(metrics.DOCUMENTS, Counter)
    labels = {"source": "metrics-test", "outcome": "created"}
    before = REGISTRY.get_sample_value("syncd_documents_total", labels) or 0.0
    metrics.DOCUMENTS.labels("metrics-test", "created").inc()
    assert REGISTRY.get_sample_value("syncd_documents_total", labels) == before + 1
    assert metrics.recording()


def test_discarded_metrics_accept_updates_without_prometheus() -> None:
    """After discard(), every update the code makes is accepted and prometheus is never loaded."""
    program = (
        "import sys\n"
        "from syncd import metrics\n"
        "metrics.discard()\n"
        "assert not metrics.recording()\n"
        "metrics.DOCUMENTS.labels('s', 'created').inc()\n"
        "metrics.RUNS.labels(source='s', result='ok').inc()\n"
        "metrics.RUN_DURATION.labels('s').observe(1.5)\n"
        "metrics.LAST_SUCCESS.labels('s').set_to_current_time()\n"
        "metrics.PAGES_HELD.labels('s').set(3)\n"
        "metrics.RATE_LIMIT_WAIT_SECONDS.inc(0.5)\n"
        "assert 'prometheus_client' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)


def test_unknown_names_are_attribute_errors() -> None:
    """A misspelt metric fails loudly instead of becoming a stand-in."""
    with pytest.raises(AttributeError, match="DOCUMENT"):
        metrics.DOCUMENT  # noqa: B018
