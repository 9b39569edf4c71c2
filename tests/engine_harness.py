"""A sync harness over real parts: the state database, the sandbox over HTTP, a memory source."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from syncd.config.loading import SourceConfig
from syncd.publisher import Publisher
from syncd.sandbox import SandboxServer
from syncd.state.tracker import Tracker
from syncd.sync.engine import SourceSync, SyncOptions
from syncd.sync.plan import RunReport
from tests.fakes import MemoryConnector

TOKEN = "test-token"


class Harness:
    """One source synced from a :class:`MemoryConnector` into the sandbox."""

    def __init__(
        self,
        sandbox: SandboxServer,
        sessions: sessionmaker[Session],
        *,
        name: str | None = None,
        max_delete_fraction: float = 1.0,
        delete_allowance: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.sessions = sessions
        self.name = name or f"src-{uuid.uuid4().hex[:8]}"
        self.source = SourceConfig(
            name=self.name,
            connector="memory",
            url=f"https://{self.name}.example.com",
            max_delete_fraction=max_delete_fraction,
            delete_allowance=delete_allowance,
        )
        self.connector = MemoryConnector(name=self.name)
        self.transport = transport
        self.requests = 0

    def publisher(self) -> Publisher:
        return Publisher(
            base_url=self.sandbox.url,
            token=TOKEN,
            max_concurrency=4,
            transport=self.transport,
            max_attempts=6,
            retry_deadline=60,
        )

    def sync(self, stop: threading.Event | None = None, **options: Any) -> RunReport:
        """Run one sync of the source; raises what the engine raises."""
        tracker = Tracker(self.sessions, self.name)
        with self.publisher() as publisher:
            try:
                return SourceSync(
                    source=self.source,
                    connector=self.connector,
                    tracker=tracker,
                    publisher=publisher,
                    options=SyncOptions(**options),
                    max_concurrency=4,
                    stop=stop,
                ).run()
            finally:
                self.requests = publisher.request_count

    def source_id(self) -> int | None:
        return Tracker(self.sessions, self.name).intercom_source_id

    def published(self) -> dict[str, tuple[str, str]]:
        """external id -> (title, html) of every page of this source in the sandbox."""
        source_id = self.source_id()
        if source_id is None:
            return {}
        pages = self.sandbox.store.pages_of(source_id)
        by_external = {p["external_id"]: (p["title"], p["html"]) for p in pages}
        assert len(by_external) == len(pages), "duplicate external ids in the sandbox"
        return by_external
