"""View restrictions of a live site: which pages stay out with ``restricted_pages: skip``.

A restriction is no edit: a page that gains one keeps its version, so no listing of versions
shows it. And restrictions inherit: a page under a restricted page is restricted too, while
the REST API reports only each page's own. So:

sweep
    One CQL pass per space with the read restrictions expanded (ids only, no bodies) finds
    every page that carries its own. It runs when the connector is asked for a full resync,
    when the last sweep is older than :data:`SWEEP_EVERY`, and when none was recorded. Its
    result is kept in the connector's memory in the state database (key :data:`KEY`: the
    site, the time and the ids, nothing secret), so the runs in between cost nothing.
inheritance
    A page is *hidden* when it or any ancestor carries its own restriction.
fetch
    Every page fetched (new or edited) has its own restriction read with it, so a page
    created restricted never waits for the next sweep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence

import structlog

from syncd.connectors.base import Memory
from syncd.connectors.confluence.live.site import SiteApi

log = structlog.get_logger(__name__)

SWEEP_EVERY = 24 * 3600.0
KEY = "confluence.restrictions"


class RestrictionCache:
    """Ids of pages with their own view restriction, and when they were last swept."""

    def __init__(self, memory: Memory | None, site: str) -> None:
        self._memory = memory
        self._site = site
        self.own: set[str] = set()
        self.swept_at: float | None = None
        self._load()

    def _load(self) -> None:
        text = self._memory.get(KEY) if self._memory is not None else None
        if not text:
            return
        try:
            data = json.loads(text)
            if data.get("site") != self._site:
                return
            self.own = {str(page) for page in data.get("own", [])}
            self.swept_at = float(data["swept_at"])
        except (ValueError, KeyError, TypeError, AttributeError):
            self.own, self.swept_at = set(), None  # unreadable: sweep again

    def due(self, *, full_resync: bool, now: float | None = None) -> bool:
        """Whether this run must sweep (see the module docstring)."""
        if full_resync or self.swept_at is None:
            return True
        return (now or time.time()) - self.swept_at >= SWEEP_EVERY

    def swept(self, own: Iterable[str]) -> None:
        """Record a complete sweep's result."""
        self.own = set(own)
        self.swept_at = time.time()
        self.save()

    def mark(self, page_id: str, restricted: bool) -> None:
        """Record what a fetch found of one page's own restriction."""
        if restricted == (page_id in self.own):
            return
        if restricted:
            self.own.add(page_id)
        else:
            self.own.discard(page_id)
        if self.swept_at is not None:
            self.save()

    def save(self) -> None:
        """Keep what is known in the connector's memory (nothing without one)."""
        if self._memory is None or self.swept_at is None:
            return
        data = {"site": self._site, "swept_at": self.swept_at, "own": sorted(self.own)}
        self._memory.put(KEY, json.dumps(data, separators=(",", ":")))


def hidden(ids: Iterable[str], own: set[str], ancestors: Callable[[str], list[str]]) -> set[str]:
    """The ids among ``ids`` that are restricted themselves or below a restricted page."""
    return {page for page in ids if page in own or any(a in own for a in ancestors(page))}


def restricted_now(api: SiteApi, cache: RestrictionCache, chain: Iterable[str]) -> bool:
    """Whether any page of ``chain`` (a page and its ancestors) carries its own restriction,
    asked of the site now; what is found is recorded in ``cache``."""
    for page_id in chain:
        restricted = api.own_restriction(page_id)
        cache.mark(page_id, restricted)
        if restricted:
            return True
    return False


def sweep_if_due(
    api: SiteApi,
    cache: RestrictionCache,
    spaces: Iterable[str],
    kinds: Sequence[str],
    full_resync: bool,
) -> bool:
    """Sweep the spaces (see the module docstring) when the cache says it is time; whether
    it did."""
    if not cache.due(full_resync=full_resync):
        return False
    own: set[str] = set()
    for key in spaces:
        own |= api.restricted_in(key, kinds)
    cache.swept(own)
    log.info("confluence.restrictions_swept", site=api.client.site, own=len(own))
    return True
