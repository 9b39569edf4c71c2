"""The sync engine over real parts: SQLite and PostgreSQL, the sandbox over HTTP."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd.errors import ExitCode, IntercomAuthError, SafetyStop
from syncd.publisher import Publisher
from syncd.sandbox import SandboxServer
from syncd.state import database
from syncd.state.models import DocumentState, Run
from syncd.state.tracker import Tracker
from tests.engine_harness import Harness
from tests.fakes import MemoryDoc, RejectingTransport


@pytest.fixture
def h(sandbox: SandboxServer, sessions: sessionmaker[Session]) -> Harness:
    return Harness(sandbox, sessions)


def docs(n: int) -> dict[str, MemoryDoc]:
    return {f"doc-{i}": MemoryDoc(f"Doc {i}", f"Body **{i}**") for i in range(n)}


def test_first_run_creates_then_second_run_sends_nothing(h: Harness) -> None:
    """Everything is created once; a run with no changes reads nothing and sends nothing."""
    h.connector.docs.update(docs(5))
    report = h.sync()
    assert (report.created, report.failed, report.exit_code) == (5, 0, ExitCode.OK)
    assert set(h.published()) == {f"doc-{i}" for i in range(5)}
    assert h.published()["doc-1"] == ("Doc 1", "<p>Body <strong>1</strong></p>")
    h.connector.fetched.clear()
    report = h.sync()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
    assert h.connector.fetched == []
    assert h.requests == 1  # only the check that the source still exists


def test_edit_updates_and_cosmetic_version_change_sends_nothing(h: Harness) -> None:
    """A content change updates the page; a new version with the same content sends nothing."""
    h.connector.docs.update(docs(3))
    h.sync()
    h.connector.docs["doc-0"] = MemoryDoc("Doc 0", "New body", version=2)
    h.connector.docs["doc-1"] = MemoryDoc("Doc 1", "Body **1**", version=2)
    report = h.sync()
    assert (report.updated, report.unchanged, report.created) == (1, 2, 0)
    assert h.published()["doc-0"][1] == "<p>New body</p>"
    h.connector.fetched.clear()
    h.sync()
    assert h.connector.fetched == []  # the new version of doc-1 was recorded


def test_deleted_document_disappears(h: Harness) -> None:
    """A document gone from the source is deleted from Intercom and forgotten."""
    h.connector.docs.update(docs(4))
    h.sync()
    del h.connector.docs["doc-2"]
    report = h.sync()
    assert report.deleted == 1
    assert "doc-2" not in h.published()
    assert len(h.published()) == 3


def test_safety_stop_on_mass_delete(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """Deleting more than max_delete_fraction deletes nothing and names the flag."""
    h = Harness(sandbox, sessions, max_delete_fraction=0.25)
    h.connector.docs.update(docs(8))
    h.sync()
    for key in ("doc-0", "doc-1", "doc-2", "doc-3"):
        del h.connector.docs[key]
    with pytest.raises(SafetyStop) as info:
        h.sync()
    message = str(info.value)
    assert h.name in message and "4 of 8" in message and "--allow-mass-delete" in message
    assert info.value.exit_code == ExitCode.SAFETY_STOP
    assert len(h.published()) == 8
    report = h.sync(allow_mass_delete=True)
    assert report.deleted == 4
    assert len(h.published()) == 4


def test_empty_listing_never_deletes_everything(h: Harness) -> None:
    """A source that suddenly lists nothing stops the run, even with max_delete_fraction 1."""
    h.connector.docs.update(docs(3))
    h.sync()
    h.connector.docs.clear()
    with pytest.raises(SafetyStop, match="lists no documents"):
        h.sync()
    assert len(h.published()) == 3


def test_failed_listing_deletes_nothing(h: Harness) -> None:
    """A listing that fails part-way ends the run before any delete."""
    from syncd.connectors.base import SourceUnavailable

    h.connector.docs.update(docs(6))
    h.sync()
    h.connector.listing_fails = True
    with pytest.raises(SourceUnavailable):
        h.sync()
    assert len(h.published()) == 6


def test_broken_document_fails_alone_and_is_retried(
    h: Harness, sessions: sessionmaker[Session]
) -> None:
    """A document that cannot be read is recorded with its error; the rest are published."""
    h.connector.docs.update(docs(3))
    h.connector.docs["bad"] = MemoryDoc("Bad", "x", broken=True)
    report = h.sync()
    assert (report.created, report.failed, report.exit_code) == (3, 1, ExitCode.PARTIAL)
    assert report.failures == [("bad", "bad: cannot parse")]
    with sessions() as session:
        row = session.scalar(sa.select(DocumentState).where(DocumentState.ref_id == "bad"))
        assert row is not None and row.last_error == "bad: cannot parse"
    h.connector.docs["bad"].broken = False  # fixed at the source, same version
    report = h.sync()
    assert (report.created, report.failed) == (1, 0)
    assert "bad" in h.published()


def test_page_rejected_by_intercom_fails_alone(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """A 4xx for one page records Intercom's code and message; the others go on."""
    h = Harness(sandbox, sessions, transport=RejectingTransport({"doc-1"}))
    h.connector.docs.update(docs(3))
    report = h.sync()
    assert (report.created, report.failed) == (2, 1)
    ref, error = report.failures[0]
    assert ref == "doc-1" and "data_invalid" in error and "too large" in error


def test_draft_is_removed_when_it_becomes_one(h: Harness) -> None:
    """A published document that turns into a draft is removed from Intercom."""
    h.connector.docs.update(docs(3))
    h.sync()
    h.connector.docs["doc-0"] = MemoryDoc("Doc 0", "b", version=2, draft=True)
    report = h.sync()
    assert report.excluded == 1
    assert "doc-0" not in h.published()
    h.connector.fetched.clear()
    h.sync()
    assert h.connector.fetched == []  # the draft's version is remembered


def test_full_resync_leaves_a_recorded_draft_alone(
    h: Harness, sessions: sessionmaker[Session]
) -> None:
    """A full resync fetches a draft again and counts it, but writes no state for it when
    the state already holds that version as excluded; a new version is recorded."""
    h.connector.docs["doc-0"] = MemoryDoc("Doc 0", "b", draft=True)
    h.connector.docs["doc-1"] = MemoryDoc("Doc 1", "b")
    h.sync()
    about: list[str] = []  # every statement naming the draft, or updating a document

    def seen(conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
        if "doc-0" in repr(parameters) or statement.startswith("UPDATE documents"):
            about.append(statement)

    engine = sessions.kw["bind"]
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        report = h.sync(full_resync=True)
        assert (report.excluded, report.updated) == (1, 1)
        assert about == []
        h.connector.docs["doc-0"].version = 2
        h.sync()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    with sessions() as session:
        row = session.scalars(sa.select(DocumentState).where(DocumentState.ref_id == "doc-0")).one()
        assert (row.excluded, row.version) == (True, "2")


def test_rename_with_stable_external_id_is_an_update(h: Harness) -> None:
    """A document moved to a new ref but keeping its external id keeps its page."""
    h.connector.docs["old/path.md"] = MemoryDoc("Guide", "v1", external_id="guide")
    h.sync()
    source_id = h.source_id()
    assert source_id is not None
    page_id = h.sandbox.store.pages_of(source_id)[0]["id"]
    h.connector.docs = {"new/path.md": MemoryDoc("Guide", "v2", external_id="guide")}
    report = h.sync()
    assert (report.deleted, report.created, report.updated) == (0, 0, 1)
    pages = h.sandbox.store.pages_of(source_id)
    assert [(p["id"], p["external_id"], p["html"]) for p in pages] == [
        (page_id, "guide", "<p>v2</p>")
    ]


def test_rename_onto_a_path_whose_new_document_is_broken_keeps_the_page(h: Harness) -> None:
    """A renamed document waits while an unreadable document holds its old path, then moves."""
    h.connector.docs["a.md"] = MemoryDoc("Guide", "v1", external_id="guide")
    h.sync()
    h.connector.docs["b.md"] = h.connector.docs.pop("a.md")
    h.connector.docs["b.md"].version = 2
    h.connector.docs["a.md"] = MemoryDoc("New", "n", version=3, external_id="new", broken=True)
    report = h.sync()
    # The unreadable document at a.md may still be the one that published "guide".
    assert (report.created, report.updated, report.deleted) == (0, 0, 0)
    assert any("'guide' is also used by 'a.md'" in reason for _, reason in report.failures)
    assert h.published() == {"guide": ("Guide", "<p>v1</p>")}
    h.connector.docs["a.md"].broken = False
    h.connector.docs["a.md"].version = 4
    report = h.sync()
    assert report.failed == 0
    assert h.published() == {"guide": ("Guide", "<p>v1</p>"), "new": ("New", "<p>n</p>")}


def test_two_documents_claiming_one_external_id(h: Harness) -> None:
    """The second claimant of an external id fails with a message naming the first."""
    h.connector.docs["a"] = MemoryDoc("A", "a", external_id="same")
    h.connector.docs["b"] = MemoryDoc("B", "b", external_id="same")
    report = h.sync()
    assert (report.created, report.failed) == (1, 1)
    assert "'same' is also used by 'a'" in report.failures[0][1]


def test_dry_run_writes_nothing(h: Harness, sessions: sessionmaker[Session]) -> None:
    """--dry-run sends no write and records nothing, and plans creates, updates and deletes."""
    h.connector.docs.update(docs(3))
    h.sync()
    with sessions() as session:
        before = session.scalars(sa.select(DocumentState).order_by(DocumentState.id)).all()
        runs_before = session.scalar(sa.select(sa.func.count()).select_from(Run))
        snapshot = [(d.ref_id, d.version, d.payload_hash, d.last_error) for d in before]
    writes_before = sandbox_writes(h)
    h.connector.docs["doc-0"] = MemoryDoc("Doc 0", "Changed text", version=2)
    h.connector.docs["new"] = MemoryDoc("New", "n")
    del h.connector.docs["doc-2"]
    report = h.sync(dry_run=True)
    actions = sorted((i.action, i.ref_id) for i in report.plan)
    assert actions == [("create", "new"), ("delete", "doc-2"), ("update", "doc-0")]
    update = next(i for i in report.plan if i.action == "update")
    assert update.reason.startswith("content changed")
    assert update.diff is not None and "+Changed text" in update.diff
    assert sandbox_writes(h) == writes_before
    with sessions() as session:
        after = session.scalars(sa.select(DocumentState).order_by(DocumentState.id)).all()
        assert [(d.ref_id, d.version, d.payload_hash, d.last_error) for d in after] == snapshot
        assert session.scalar(sa.select(sa.func.count()).select_from(Run)) == runs_before


def test_full_resync_dry_run_reads_only_pages_whose_payload_changed(h: Harness) -> None:
    """A --full-resync --dry-run plans every page, but asks Intercom only for the pages whose
    payload differs from the one published, and diffs only those."""
    h.connector.docs.update(docs(3))
    h.sync()
    h.connector.docs["doc-1"] = MemoryDoc("Doc 1", "Changed text", version=2)
    log = h.sandbox.store.request_log
    before = len(log)
    report = h.sync(dry_run=True, full_resync=True)
    assert sorted((i.action, i.ref_id) for i in report.plan) == [
        ("update", "doc-0"),
        ("update", "doc-1"),
        ("update", "doc-2"),
    ]
    diffs = {i.ref_id: i.diff for i in report.plan}
    assert diffs["doc-0"] is None and diffs["doc-2"] is None
    assert diffs["doc-1"] is not None and "+Changed text" in diffs["doc-1"]
    page_reads = [path for method, path, _ in log[before:] if method == "GET" and "_pages/" in path]
    assert len(page_reads) == 1, page_reads


def sandbox_writes(h: Harness) -> int:
    store = h.sandbox.store
    return (
        store.requests(method="POST")
        + store.requests(method="DELETE")
        + store.requests(method="PUT")
    )


def test_full_resync_with_lost_state_adopts_pages(
    sandbox: SandboxServer, state_url: str, tmp_path: object
) -> None:
    """A full resync on an empty state database adopts existing pages instead of duplicating."""
    first_engine, first = database.open_database(state_url)
    h = Harness(sandbox, first)
    h.connector.docs.update(docs(4))
    h.sync()
    source_id = h.source_id()
    first_engine.dispose()
    lost = f"sqlite:///{tmp_path}/lost.db"
    engine, fresh = database.open_database(lost)
    try:
        h2 = Harness(sandbox, fresh, name=h.name)
        h2.connector = h.connector
        del h.connector.docs["doc-3"]  # gone while the state was lost
        report = h2.sync(full_resync=True)
        assert h2.source_id() == source_id  # found again by URL, not duplicated
        assert report.updated == 3 and report.created == 0 and report.deleted == 1
        assert set(h2.published()) == {"doc-0", "doc-1", "doc-2"}
        sources = [s for s in sandbox.store.list_sources() if s["url"] == h.source.url]
        assert len(sources) == 1
    finally:
        engine.dispose()


def test_full_resync_never_touches_other_sources(h: Harness) -> None:
    """Pages of Content Import Sources syncd does not own survive a full resync."""
    foreign = h.sandbox.store.create_source(url="https://someone-else.example.com")
    h.sandbox.store.upsert_page(
        {
            "source_id": foreign["id"],
            "external_id": "theirs",
            "title": "T",
            "html": "<p>x</p>",
            "locale": "en",
        }
    )
    h.connector.docs.update(docs(2))
    h.sync()
    h.sync(full_resync=True)
    assert [p["external_id"] for p in h.sandbox.store.pages_of(foreign["id"])] == ["theirs"]


def test_wrong_token_stops_the_run(h: Harness) -> None:
    """401 from Intercom ends the run with exit code 6 after one request."""
    h.connector.docs.update(docs(3))
    tracker = Tracker(h.sessions, h.name)
    from syncd.sync.engine import SourceSync, SyncOptions

    with Publisher(base_url=h.sandbox.url, token="wrong") as publisher:
        sync = SourceSync(
            source=h.source,
            connector=h.connector,
            tracker=tracker,
            publisher=publisher,
            options=SyncOptions(),
            max_concurrency=4,
        )
        with pytest.raises(IntercomAuthError) as info:
            sync.run()
        assert publisher.request_count == 1
    assert info.value.exit_code == ExitCode.INTERCOM_AUTH


def test_stop_event_ends_the_run_between_documents(h: Harness) -> None:
    """A set stop event ends the run early; what was written is recorded; the next run ends it."""
    h.connector.docs.update(docs(6))
    stop = threading.Event()
    stop.set()
    report = h.sync(stop=stop)
    assert report.stopped and report.created == 0
    report = h.sync()
    assert report.created == 6 and len(h.published()) == 6


def test_token_revoked_mid_run_stops_at_once_keeping_what_was_written(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """A 401 in the middle of a run ends it with exit 6; pages written before are recorded."""
    transport = RejectingTransport(set(), revoke_after=10)
    h = Harness(sandbox, sessions, transport=transport)
    h.connector.docs.update(docs(60))
    with pytest.raises(IntercomAuthError):
        h.sync()
    published = h.published()
    assert 1 <= len(published) <= 10
    assert transport.upserts < 60  # no storm: the rest were never sent
    tracker = Tracker(sessions, h.name)
    assert tracker.pages_held() == len(published)


def test_write_interrupted_before_its_record_is_cleaned_up(h: Harness) -> None:
    """A page created by a run that died before recording it is deleted once its doc is gone."""
    h.connector.docs.update(docs(3))
    h.sync()
    source_id = h.source_id()
    assert source_id is not None
    # What a run killed between Intercom's answer and the commit leaves behind: the intent
    # recorded, the page created, no page id stored.
    Tracker(h.sessions, h.name).record_pending([("lost.md", "lost.md")])
    h.sandbox.store.upsert_page(
        {
            "source_id": source_id,
            "external_id": "lost.md",
            "title": "L",
            "html": "<p>l</p>",
            "locale": "en",
        }
    )
    report = h.sync()
    assert report.deleted == 1
    assert set(h.published()) == {"doc-0", "doc-1", "doc-2"}
    assert h.sync().deleted == 0


def test_interrupted_write_of_a_listed_document_is_adopted(h: Harness) -> None:
    """A listed document whose first write was not recorded is sent again, not duplicated."""
    h.connector.docs.update(docs(2))
    h.sync()
    source_id = h.source_id()
    assert source_id is not None
    h.connector.docs["late"] = MemoryDoc("Late", "late")
    Tracker(h.sessions, h.name).record_pending([("late", "late")])
    h.sandbox.store.upsert_page(
        {
            "source_id": source_id,
            "external_id": "late",
            "title": "Late",
            "html": "<p>old</p>",
            "locale": "en",
        }
    )
    h.sync()
    assert h.published()["late"] == ("Late", "<p>late</p>")
    assert len(h.sandbox.store.pages_of(source_id)) == 3
