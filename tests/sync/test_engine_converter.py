"""A new converter version re-renders every document once and re-sends the pages it changes."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from syncd.render import content
from syncd.sandbox import SandboxServer
from syncd.state.tracker import Tracker
from tests.engine_harness import Harness
from tests.fakes import MemoryConnector, MemoryDoc


class FingerprintedConnector(MemoryConnector):
    """A memory source whose listing never changes, and says so with a fingerprint."""

    def fingerprint(self) -> str | None:
        return "tree-1"


@pytest.fixture
def h(sandbox: SandboxServer, sessions: sessionmaker[Session]) -> Harness:
    harness = Harness(sandbox, sessions)
    harness.connector.docs.update(
        {f"doc-{i}": MemoryDoc(f"Doc {i}", f"Body {i}") for i in range(3)}
    )
    return harness


def _upgrade(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "CONVERTER_VERSION", f"{content.CONVERTER_VERSION}-next")


def test_new_converter_resends_every_page_once(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unchanged sources are fetched and re-sent after an upgrade, then left alone again."""
    assert h.sync().created == 3
    _upgrade(monkeypatch)
    h.connector.fetched.clear()
    report = h.sync()
    assert sorted(h.connector.fetched) == ["doc-0", "doc-1", "doc-2"]
    assert (report.updated, report.failed) == (3, 0)
    assert Tracker(h.sessions, h.name).converter_version == content.CONVERTER_VERSION
    h.connector.fetched.clear()
    report = h.sync()
    assert h.connector.fetched == []
    assert (report.updated, h.requests) == (0, 1)  # 1: the check of the source


def test_fingerprint_does_not_hide_an_upgrade(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing fingerprint equal to the last run's still renders again after an upgrade."""
    h.connector = FingerprintedConnector(h.connector.docs, name=h.name)
    h.sync()
    h.connector.fetched.clear()
    assert h.sync().listed == 3 and h.connector.listings == 1  # the fingerprint skipped it
    _upgrade(monkeypatch)
    assert h.sync().updated == 3
    assert len(h.connector.fetched) == 3


def test_stopped_or_dry_runs_do_not_record_the_upgrade(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a complete, real run records the new version; a dry run plans the re-renders."""
    h.sync()
    _upgrade(monkeypatch)
    plan = h.sync(dry_run=True)
    assert {item.reason for item in plan.plan} == {
        f"rendering changed (converter version {content.CONVERTER_VERSION})"
    }
    stop = threading.Event()
    stop.set()
    h.sync(stop=stop)
    assert Tracker(h.sessions, h.name).converter_version != content.CONVERTER_VERSION
    h.connector.fetched.clear()
    assert h.sync().updated == 3
