"""Removals run side by side, like the writes, and each is recorded once Intercom answered.

Over real parts: the state database, the sandbox over HTTP; the transport in front of it only
holds each DELETE a moment (to see them overlap) or refuses one, as Intercom would.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from syncd.errors import IntercomAuthError
from syncd.sandbox import SandboxServer
from syncd.state.models import DocumentState
from tests.engine_harness import Harness
from tests.fakes import MemoryDoc


class HeldDeletes(httpx.BaseTransport):
    """Forwards to the sandbox; holds each DELETE ``hold`` seconds, counting how many overlap,
    and answers 401 to the DELETEs of ``refuse`` (page ids) without forwarding them, as
    Intercom does once the token is revoked."""

    def __init__(self, hold: float = 0.0, refuse: frozenset[str] = frozenset()) -> None:
        self.inner = httpx.HTTPTransport()
        self.hold = hold
        self.refuse = refuse
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "DELETE":
            return self.inner.handle_request(request)
        if request.url.path.rsplit("/", 1)[-1] in self.refuse:
            error = {"code": "token_revoked", "message": "Token revoked"}
            return httpx.Response(
                401, json={"type": "error.list", "errors": [error]}, request=request
            )
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            time.sleep(self.hold)
            return self.inner.handle_request(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.inner.close()


def rows(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(sa.select(DocumentState.ref_id)))


def test_pages_of_gone_documents_are_deleted_side_by_side(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """Twelve removals overlap (the harness sends four at a time); every one is recorded."""
    transport = HeldDeletes(hold=0.2)
    h = Harness(sandbox, sessions, transport=transport, delete_allowance=100)
    h.connector.docs.update({f"doc-{i}": MemoryDoc(f"Doc {i}", f"Body {i}") for i in range(16)})
    h.sync()
    for i in range(12):
        del h.connector.docs[f"doc-{i}"]
    report = h.sync()
    assert (report.deleted, report.error) == (12, None)
    assert transport.most > 1
    assert sorted(h.published()) == [f"doc-{i}" for i in range(12, 16)]
    assert rows(sessions) >= {f"doc-{i}" for i in range(12, 16)}
    assert not rows(sessions) & {f"doc-{i}" for i in range(12)}


def test_a_refused_delete_stops_the_rest_and_keeps_what_was_not_deleted(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """Intercom refuses one DELETE (the token was revoked): the run fails with it, every page
    deleted is recorded as gone, and every page not deleted keeps its row, so the next run
    removes it."""
    transport = HeldDeletes()
    h = Harness(sandbox, sessions, transport=transport, delete_allowance=100)
    h.connector.docs.update({f"doc-{i}": MemoryDoc(f"Doc {i}", f"Body {i}") for i in range(10)})
    h.sync()
    source_id = h.source_id()
    assert source_id is not None
    page_of = {p["external_id"]: str(p["id"]) for p in sandbox.store.pages_of(source_id)}
    for i in range(8):
        del h.connector.docs[f"doc-{i}"]
    transport.refuse = frozenset({page_of["doc-3"]})
    with pytest.raises(IntercomAuthError):
        h.sync()
    remaining = set(h.published())
    assert "doc-3" in remaining
    # A row is gone only with its page; a page still there keeps its row.
    gone_docs = {f"doc-{i}" for i in range(8)}
    assert rows(sessions) & gone_docs == remaining & gone_docs
    transport.refuse = frozenset()
    report = h.sync()
    assert report.error is None
    assert sorted(h.published()) == ["doc-8", "doc-9"]
    assert not rows(sessions) & gone_docs


class StopOnFirstDelete(HeldDeletes):
    """Sets ``stop`` when the first DELETE arrives, as SIGTERM would, and holds each one."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(hold=0.1)
        self.stop = stop
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            with self.lock:
                self.sent += 1
            self.stop.set()
        return super().handle_request(request)


def test_a_stopping_run_starts_no_other_delete(
    sandbox: SandboxServer, sessions: sessionmaker[Session]
) -> None:
    """Stopped while deleting, the run lets the DELETEs in flight finish and starts no other;
    the next run removes the rest."""
    stop = threading.Event()
    transport = StopOnFirstDelete(stop)
    h = Harness(sandbox, sessions, transport=transport, delete_allowance=100)
    h.connector.docs.update({f"doc-{i}": MemoryDoc(f"Doc {i}", f"Body {i}") for i in range(40)})
    h.sync()
    for i in range(36):
        del h.connector.docs[f"doc-{i}"]
    stopped = h.sync(stop=stop)
    assert stopped.stopped
    assert transport.sent <= 4  # the harness's max_concurrency: only those already started
    assert stopped.deleted == transport.sent  # and each one finished is recorded
    assert len(h.published()) == 40 - stopped.deleted
    report = h.sync()
    assert (report.deleted, report.error) == (36 - stopped.deleted, None)
    assert sorted(h.published()) == [f"doc-{i}" for i in range(36, 40)]
