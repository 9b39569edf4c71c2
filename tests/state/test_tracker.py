"""The change tracker on SQLite and PostgreSQL: source rows, batched records, their order."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd.state import database
from syncd.state.models import Source
from syncd.state.tracker import WRITE_BATCH, Tracker


@pytest.fixture
def sessions(state_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = database.open_database(state_url)
    yield factory
    engine.dispose()


def written(tracker: Tracker, ref_id: str, page_id: str = "p1") -> None:
    tracker.record_written(
        ref_id,
        external_id=ref_id,
        version="v1",
        payload_hash="h1",
        page_id=page_id,
        title=ref_id.title(),
    )


def stored(sessions: sessionmaker[Session], source_name: str = "docs") -> dict[str, str | None]:
    """What a fresh reader (another process, say) sees: ref id -> page id."""
    return {k.ref_id: k.page_id for k in Tracker(sessions, source_name).iter_known()}


def test_first_runs_starting_at_once_share_one_source_row(
    state_url: str, sessions: sessionmaker[Session]
) -> None:
    """Runs of a new source that start together (before any lease) do not collide."""
    engines = [database.open_database(state_url) for _ in range(6)]
    barrier = threading.Barrier(len(engines))
    results: list[int] = []
    errors: list[BaseException] = []

    def start(factory: sessionmaker[Session]) -> None:
        barrier.wait()
        try:
            results.append(Tracker(factory, "new-source").source_pk)
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(factory,)) for _, factory in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine, _ in engines:
        engine.dispose()
    assert errors == []
    assert len(set(results)) == 1
    with sessions() as session:
        names = session.scalars(sa.select(Source.name)).all()
    assert names.count("new-source") == 1


def test_written_records_are_batched_then_flushed(sessions: sessionmaker[Session]) -> None:
    """Records wait for a full batch or a flush; a reader sees all of them afterwards."""
    tracker = Tracker(sessions, "docs")
    for index in range(WRITE_BATCH - 1):
        written(tracker, f"page-{index}")
    assert stored(sessions) == {}  # nothing committed yet: one transaction per batch
    written(tracker, "last")
    assert len(stored(sessions)) == WRITE_BATCH
    written(tracker, "after")
    tracker.flush()
    assert stored(sessions)["after"] == "p1"


def test_other_records_flush_first_so_their_order_holds(sessions: sessionmaker[Session]) -> None:
    """A buffered write followed by a delete of the same document leaves no row behind."""
    tracker = Tracker(sessions, "docs")
    written(tracker, "gone")
    tracker.record_deleted("gone")
    written(tracker, "failed-later")
    tracker.record_failed("failed-later", "boom")
    known = {k.ref_id: k for k in Tracker(sessions, "docs").iter_known()}
    assert "gone" not in known
    assert known["failed-later"].failed and known["failed-later"].page_id == "p1"


def test_a_write_replacing_a_renamed_row_removes_it(sessions: sessionmaker[Session]) -> None:
    """``replaces`` deletes the renamed-away row in the same batch as the new record."""
    tracker = Tracker(sessions, "docs")
    written(tracker, "old-name")
    tracker.flush()
    tracker.record_written(
        "new-name",
        external_id="old-name",
        version="v2",
        payload_hash="h2",
        page_id="p1",
        title="New",
        replaces="old-name",
    )
    tracker.flush()
    assert stored(sessions) == {"new-name": "p1"}


def test_pending_intent_keeps_a_known_page(sessions: sessionmaker[Session]) -> None:
    """An intent for a row that knows its page does not overwrite its external id."""
    tracker = Tracker(sessions, "docs")
    written(tracker, "a")
    tracker.record_pending([("a", "other"), ("b", "b")])
    known = {k.ref_id: k for k in tracker.iter_known()}
    assert known["a"].external_id == "a" and known["a"].page_id == "p1"
    assert known["b"].external_id == "b" and known["b"].page_id is None
    assert tracker.holder_of("b") == known["b"]
