"""The sandbox's in-memory state: content import sources, external pages, and a request log.

Objects are stored exactly as the API returns them (``content_import_source`` and
``external_page`` dicts). Every method takes the store's lock, so the server thread and a test
thread may read and change it at once; readers get copies, never the live dicts.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from syncd.render.content import PAGE_FIELDS

Obj = dict[str, Any]


class SandboxStore:
    """Sources, pages and the log of answered requests, shared by the server and tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.sources: dict[int, Obj] = {}
        self.pages: dict[str, Obj] = {}
        # (method, path, status); status 0 means the connection was dropped without an answer.
        self.request_log: list[tuple[str, str, int]] = []
        self._by_key: dict[tuple[int, str], str] = {}  # (source_id, external_id) -> page id
        self._clock = clock
        self._next_source_id = 1
        self._next_page_id = 1

    def _now(self) -> int:
        return int(self._clock())

    def forget(self) -> None:
        """Lose every source and page, as a restarted sandbox or a reset workspace does.

        Ids keep counting, as Intercom never hands an id out twice; the request log stays.
        """
        with self.lock:
            self.sources.clear()
            self.pages.clear()
            self._by_key.clear()

    # Sources --------------------------------------------------------------------------------

    def create_source(self, *, url: str, status: str = "active", sync_behavior: str = "api") -> Obj:
        """Add a content import source and return it."""
        with self.lock:
            now = self._now()
            source: Obj = {
                "id": self._next_source_id,
                "type": "content_import_source",
                "last_synced_at": now,
                "status": status,
                "url": url,
                "sync_behavior": sync_behavior,
                "created_at": now,
                "updated_at": now,
            }
            self._next_source_id += 1
            self.sources[source["id"]] = source
            return dict(source)

    def get_source(self, source_id: int) -> Obj | None:
        """The source with this id, or None."""
        with self.lock:
            source = self.sources.get(source_id)
            return None if source is None else dict(source)

    def list_sources(self) -> list[Obj]:
        """Every source, oldest first (as Intercom's examples order them)."""
        with self.lock:
            return [dict(self.sources[key]) for key in sorted(self.sources)]

    def update_source(self, source_id: int, changes: Mapping[str, Any]) -> Obj | None:
        """Apply ``changes`` to a source; None when it does not exist."""
        with self.lock:
            source = self.sources.get(source_id)
            if source is None:
                return None
            source.update(changes)
            source["updated_at"] = self._now()
            return dict(source)

    def delete_source(self, source_id: int) -> bool:
        """Remove a source and, as Intercom does, every page imported from it."""
        with self.lock:
            if self.sources.pop(source_id, None) is None:
                return False
            for page_id in [k for k, p in self.pages.items() if p["source_id"] == source_id]:
                self._drop(page_id)
            return True

    # Pages ----------------------------------------------------------------------------------

    def upsert_page(self, fields: Mapping[str, Any]) -> tuple[Obj, bool]:
        """Create or update the page of (source_id, external_id); returns it and "created".

        On update, availability flags that ``fields`` omits keep their values ("Will not
        default when updating an existing external page").
        """
        with self.lock:
            now = self._now()
            existing = self._find(fields["source_id"], fields["external_id"])
            if existing is not None:
                existing.update(fields)
                existing["updated_at"] = existing["last_ingested_at"] = now
                return dict(existing), False
            page: Obj = {
                "id": str(self._next_page_id),
                "type": "external_page",
                **{spec.name: fields.get(spec.name, spec.default) for spec in PAGE_FIELDS},
                "ai_sales_agent_availability": False,
                "fin_availability": False,
                "created_at": now,
                "updated_at": now,
                "last_ingested_at": now,
            }
            page["fin_availability"] = page["ai_agent_availability"]
            self._next_page_id += 1
            self.pages[page["id"]] = page
            self._by_key[page["source_id"], page["external_id"]] = page["id"]
            return dict(page), True

    def get_page(self, page_id: str) -> Obj | None:
        """The page with this id, or None."""
        with self.lock:
            page = self.pages.get(page_id)
            return None if page is None else dict(page)

    def update_page(self, page_id: str, changes: Mapping[str, Any]) -> Obj | None:
        """Apply ``changes`` to a page (PUT); None when it does not exist."""
        with self.lock:
            page = self.pages.get(page_id)
            if page is None:
                return None
            self._by_key.pop((page["source_id"], page["external_id"]), None)
            page.update(changes)
            page["updated_at"] = page["last_ingested_at"] = self._now()
            self._by_key[page["source_id"], page["external_id"]] = page_id
            return dict(page)

    def delete_page(self, page_id: str) -> Obj | None:
        """Remove a page; returns it with its HTML emptied, as Intercom's DELETE answers."""
        with self.lock:
            page = self._drop(page_id)
            return None if page is None else {**page, "html": ""}

    def list_pages(self) -> list[Obj]:
        """Every page, newest first (as Intercom's examples order them)."""
        with self.lock:
            return [dict(p) for p in sorted(self.pages.values(), key=lambda p: -int(p["id"]))]

    def pages_of(self, source_id: int) -> list[Obj]:
        """The pages of one source, newest first."""
        return [page for page in self.list_pages() if page["source_id"] == source_id]

    def find_page(self, source_id: int, external_id: str) -> Obj | None:
        """The page of (source_id, external_id), or None."""
        with self.lock:
            page = self._find(source_id, external_id)
            return None if page is None else dict(page)

    def _find(self, source_id: int, external_id: str) -> Obj | None:
        page_id = self._by_key.get((source_id, external_id))
        return None if page_id is None else self.pages.get(page_id)

    def _drop(self, page_id: str) -> Obj | None:
        page = self.pages.pop(page_id, None)
        if page is not None:
            self._by_key.pop((page["source_id"], page["external_id"]), None)
        return page

    # Request log ----------------------------------------------------------------------------

    def log_request(self, method: str, path: str, status: int) -> None:
        """Record one answered (or dropped, status 0) request."""
        with self.lock:
            self.request_log.append((method, path, status))

    def status_counts(self) -> collections.Counter[int]:
        """How many requests got each status (0 for dropped connections)."""
        with self.lock:
            return collections.Counter(status for _, _, status in self.request_log)

    def requests(self, *, method: str | None = None, status: int | None = None) -> int:
        """How many logged requests match the method and status given."""
        with self.lock:
            return sum(
                1
                for m, _, s in self.request_log
                if (method is None or m == method) and (status is None or s == status)
            )
