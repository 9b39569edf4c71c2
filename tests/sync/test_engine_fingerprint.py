"""Listing fingerprints: a source unchanged since the last complete run is not even listed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncd.errors import ExitCode
from syncd.sandbox import SandboxServer
from syncd.state import database
from tests.engine_harness import Harness
from tests.fakes import MemoryDoc


@pytest.fixture
def h(sandbox: SandboxServer, state_url: str) -> Iterator[Harness]:
    engine, sessions = database.open_database(state_url)
    harness = Harness(sandbox, sessions)
    harness.connector.docs = {f"d{i}": MemoryDoc(f"Doc {i}", f"Body {i}") for i in range(4)}
    harness.connector.listing_fingerprint = "tree-1"
    yield harness
    engine.dispose()


def test_an_unchanged_fingerprint_skips_listing_and_intercom(h: Harness) -> None:
    """After a complete run, the same fingerprint ends the next run before listing."""
    assert h.sync().created == 4
    listings = h.connector.listings
    report = h.sync()
    assert h.connector.listings == listings
    # One request: the check that the Content Import Source still exists.
    assert (report.listed, report.created, report.updated, h.requests) == (4, 0, 0, 1)
    h.connector.docs["d0"] = MemoryDoc("Doc 0", "Edited", version=2)
    h.connector.listing_fingerprint = "tree-2"
    assert h.sync().updated == 1
    assert h.connector.listings == listings + 1


def test_a_run_with_failures_does_not_count_as_complete(h: Harness) -> None:
    """A failed document keeps the fingerprint unstored, so the next run retries it."""
    h.connector.docs["d1"] = MemoryDoc("Doc 1", "Body 1", broken=True)
    assert h.sync().exit_code == ExitCode.PARTIAL
    h.connector.docs["d1"] = MemoryDoc("Doc 1", "Body 1")  # fixed without a new listing token
    report = h.sync()
    assert report.created == 1
    assert h.sync().listed == 4
    assert h.requests == 1  # the check of the source alone


def test_a_cut_short_run_forgets_the_stored_fingerprint(h: Harness) -> None:
    """Going back to the stored listing after an incomplete run is not mistaken for a no-op."""
    assert h.sync().created == 4
    h.connector.listing_fingerprint = "tree-2"
    h.connector.docs["d2"] = MemoryDoc("Doc 2", "Broken for now", version=2, broken=True)
    assert h.sync().exit_code == ExitCode.PARTIAL
    h.connector.listing_fingerprint = "tree-1"  # a force-push back to the first tree
    h.connector.docs["d2"] = MemoryDoc("Doc 2", "Body 2")
    listings = h.connector.listings
    h.sync()
    assert h.connector.listings == listings + 1


def test_full_resync_and_dry_run_ignore_or_keep_the_fingerprint(h: Harness) -> None:
    """--full-resync lists whatever the fingerprint; a dry run stores nothing."""
    h.connector.listing_fingerprint = "tree-9"
    assert h.sync(dry_run=True).created == 4
    assert h.sync().created == 4  # the dry run stored no fingerprint
    listings = h.connector.listings
    h.sync(full_resync=True)
    assert h.connector.listings == listings + 1
