"""Incremental runs over real parts: a trigger's change set, the state database, the sandbox."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session, sessionmaker

from syncd.connectors.base import ChangeSet
from syncd.errors import SafetyStop
from syncd.sandbox import SandboxServer
from syncd.state import freshness
from syncd.state.models import FreshnessSample, Run
from syncd.state.tracker import Tracker
from tests.engine_harness import Harness
from tests.fakes import MemoryDoc


@pytest.fixture
def h(sandbox: SandboxServer, sessions: sessionmaker[Session]) -> Harness:
    """A source of eight documents, synced once in full."""
    harness = Harness(sandbox, sessions, max_delete_fraction=0.25)
    harness.connector.docs.update({f"d{i}": MemoryDoc(f"Doc {i}", f"Body {i}") for i in range(8)})
    harness.sync()
    harness.connector.fetched.clear()
    harness.connector.listings = 0
    return harness


def named(changed: set[str] = frozenset(), deleted: set[str] = frozenset()) -> ChangeSet:
    """A change set naming these ref ids."""
    return ChangeSet(frozenset(changed), frozenset(deleted))


def test_only_the_named_documents_are_read_and_nothing_is_listed(h: Harness) -> None:
    """A run given a change set fetches just the named documents and never lists the source."""
    h.connector.docs["d1"] = MemoryDoc("Doc 1", "Edited", version=2)
    h.connector.docs["new"] = MemoryDoc("New", "Brand new")
    report = h.sync(only=named({"d1", "new", "d2"}))
    assert h.connector.listings == 0
    assert sorted(h.connector.fetched) == ["d1", "new"]  # d2's version did not change
    assert (report.created, report.updated, report.deleted) == (1, 1, 0)
    assert h.published()["d1"][1] == "<p>Edited</p>"
    assert "new" in h.published()


def test_a_document_gone_but_not_named_deleted_stays_until_a_full_run(h: Harness) -> None:
    """An incremental run deletes nothing it was not told was deleted; the next full run does."""
    del h.connector.docs["d3"]
    h.connector.docs["d4"] = MemoryDoc("Doc 4", "Edited", version=2)
    report = h.sync(only=named({"d4", "d3"}))
    assert report.deleted == 0
    assert "d3" in h.published()
    full = h.sync()
    assert full.deleted == 1
    assert "d3" not in h.published()
    assert len(h.published()) == 7


def test_named_deleted_is_deleted_only_when_the_source_confirms_it(h: Harness) -> None:
    """A document named deleted that still exists is kept (and synced); a gone one is deleted."""
    del h.connector.docs["d5"]
    h.connector.docs["d6"] = MemoryDoc("Doc 6", "Back again", version=2)
    report = h.sync(only=named(deleted={"d5", "d6"}))
    assert (report.deleted, report.updated) == (1, 1)
    assert "d5" not in h.published()
    assert h.published()["d6"][1] == "<p>Back again</p>"


def test_incremental_deletions_go_through_the_safety_stop(h: Harness) -> None:
    """Three of eight named deleted is over max_delete_fraction: nothing is deleted."""
    h.source = h.source.model_copy(update={"delete_allowance": 0})  # no small-source slack
    for ref_id in ("d0", "d1", "d2"):
        del h.connector.docs[ref_id]
    with pytest.raises(SafetyStop):
        h.sync(only=named(deleted={"d0", "d1", "d2"}))
    assert len(h.published()) == 8


def test_a_renamed_document_with_its_own_id_keeps_its_page(h: Harness) -> None:
    """A move named as old deleted and new changed updates the page in place by external id."""
    h.connector.docs["e-old"] = MemoryDoc("Keeps", "Same page", external_id="keep")
    h.sync(only=named({"e-old"}))
    page_ids = {p["external_id"]: p["id"] for p in h.sandbox.store.pages_of(h.source_id())}
    h.connector.docs["e-new"] = h.connector.docs.pop("e-old")
    report = h.sync(only=named({"e-new"}, {"e-old"}))
    assert (report.created, report.updated, report.deleted) == (0, 1, 0)
    after = {p["external_id"]: p["id"] for p in h.sandbox.store.pages_of(h.source_id())}
    assert after["keep"] == page_ids["keep"]
    assert h.sync().deleted == 0  # the full run agrees: nothing is left behind


def test_a_connector_without_lookup_lists_everything(h: Harness) -> None:
    """When the connector cannot look documents up, the run lists the source as usual."""
    h.connector.can_look_up = False
    del h.connector.docs["d7"]
    report = h.sync(only=named({"d1"}))
    assert h.connector.listings == 1
    assert report.deleted == 1  # a complete listing may delete, as a full run does


def test_incremental_runs_are_recorded_as_such(h: Harness, sessions: sessionmaker[Session]) -> None:
    """The runs table tells an incremental run from a full one."""
    h.connector.docs["d1"] = MemoryDoc("Doc 1", "Edited", version=2)
    tracker = Tracker(sessions, h.name)
    run_id = tracker.start_run(full_resync=False, holder=None, incremental=True)
    h.sync(only=named({"d1"}))
    with sessions() as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert run.incremental


def test_freshness_is_measured_for_changes_after_the_last_full_listing(
    h: Harness, sessions: sessionmaker[Session]
) -> None:
    """A change made after the last full run is measured; one older than it is not."""
    tracker = Tracker(sessions, h.name)
    run_id = tracker.start_run(full_resync=False, holder=None)
    tracker.finish_run(run_id, status="ok", counts=h.sync().counts(), duration=0.1, error=None)
    labels = {"source": h.name}
    before = REGISTRY.get_sample_value("syncd_freshness_seconds_count", labels) or 0.0
    h.connector.docs["d1"] = MemoryDoc("Doc 1", "Fresh", version=2, changed_at=time.time())
    h.connector.docs["d2"] = MemoryDoc("Doc 2", "Old news", version=2, changed_at=1_000_000.0)
    h.sync(only=named({"d1", "d2"}))
    assert REGISTRY.get_sample_value("syncd_freshness_seconds_count", labels) == before + 1
    with sessions() as session:
        samples = session.scalars(sa.select(FreshnessSample.seconds)).all()
        summary = freshness.summary(session, tracker.source_pk)
    assert len(samples) == 1
    assert 0 <= samples[0] < 60
    assert summary["last"] == samples[0]
    assert summary["p95"] == samples[0]


def test_a_source_never_fully_listed_measures_no_freshness(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """The first sync of old documents is not a freshness measure."""
    harness = Harness(sandbox, sessions)
    harness.connector.docs["a"] = MemoryDoc("A", "Body", changed_at=time.time() - 5)
    harness.sync()
    with sessions() as session:
        assert session.scalars(sa.select(FreshnessSample)).all() == []


def test_percentile_is_nearest_rank() -> None:
    """p95 of 1..100 is 95; of one value, that value; of none, None."""
    assert freshness.percentile([float(v) for v in range(100, 0, -1)], 0.95) == 95.0
    assert freshness.percentile([3.0], 0.95) == 3.0
    assert freshness.percentile([], 0.95) is None


def test_pruning_the_run_history_keeps_the_last_full_run(
    h: Harness, sessions: sessionmaker[Session]
) -> None:
    """With a history of two runs, many incremental runs never push out the last full one."""
    tracker = Tracker(sessions, h.name)
    full = tracker.start_run(full_resync=False, holder=None, keep=2)
    tracker.finish_run(full, status="ok", counts=h.sync().counts(), duration=0.1, error=None)
    for _ in range(4):
        run_id = tracker.start_run(full_resync=False, holder=None, incremental=True, keep=2)
        tracker.finish_run(run_id, status="ok", counts=h.sync().counts(), duration=0.1, error=None)
    with sessions() as session:
        kept = session.scalars(sa.select(Run.id).where(Run.source_id == tracker.source_pk)).all()
    assert full in kept
    assert len(kept) == 3  # the last two, and the full run they would have pushed out
