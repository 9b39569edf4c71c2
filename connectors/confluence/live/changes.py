"""What changed on a live site between runs: CQL ``lastmodified`` windows, and lookups by id.

poll
    ``lastmodified >= "<start>"`` over the chosen spaces, where ``start`` is the previous
    poll's time less a margin. CQL dates have minute granularity and are read in the zone of
    the account (by default the site's), so the window overlaps the previous one: by
    :data:`MARGIN` when the account's zone is known, by :data:`UNKNOWN_ZONE_MARGIN` (any
    offset on Earth) when it is not. What the overlap finds again is told apart by version
    number: the cursor carries the ids and versions the last window found, and only a new id
    or another version counts as changed (named deleted as well: the run that looks it up
    removes it if it is no longer published). Deletions, moves and restrictions do not show
    in ``lastmodified``; the scheduled full runs catch those.
lookup
    CQL ``id in (...)`` with versions, ancestors and spaces, :data:`~.site.ID_BATCH` ids at a
    time: the named pages as a listing would give them now.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterator, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncd.connectors.base import EVERYTHING, NOTHING, ChangeSet, Poll
from syncd.connectors.confluence.live.site import ID_BATCH, Meta, SiteApi, meta_v1, quote_cql

MARGIN = dt.timedelta(minutes=10)  # minute granularity, and our clock against the site's
UNKNOWN_ZONE_MARGIN = dt.timedelta(hours=26)  # UTC-12 to UTC+14
MAX_CHANGES = 500  # more in one window: a full run is cheaper than this many lookups


def zone_of(name: object) -> ZoneInfo | None:
    """The time zone an account's ``timeZone`` names, or None when unknown."""
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def cql_time(instant: dt.datetime, zone: ZoneInfo | None) -> str:
    """``instant`` as a CQL date literal in ``zone`` (UTC when unknown)."""
    local = instant.astimezone(zone or dt.UTC)
    return f"{local:%Y-%m-%d %H:%M}"


def space_clause(spaces: Sequence[str], kinds: Sequence[str]) -> str:
    """``space in (...) and type in (...)``."""
    keys = ", ".join(quote_cql(key) for key in spaces)
    return f"space in ({keys}) and type in ({', '.join(kinds)})"


def poll(
    api: SiteApi,
    cursor: str | None,
    *,
    spaces: Sequence[str],
    kinds: Sequence[str],
    zone: ZoneInfo | None,
    now: dt.datetime | None = None,
) -> Poll:
    """What changed since ``cursor`` (None: nothing yet, only remember what is there)."""
    now = now or dt.datetime.now(dt.UTC)
    since, before = _read(cursor, now)
    start = since - (MARGIN if zone is not None else UNKNOWN_ZONE_MARGIN)
    cql = (
        f"{space_clause(spaces, kinds)} and lastmodified >= {quote_cql(cql_time(start, zone))}"
        " order by lastmodified asc"
    )
    seen: dict[str, int] = {}
    for item in api.search(cql, expand="version"):
        seen[str(item.get("id"))] = int((item.get("version") or {}).get("number") or 0)
        if len(seen) > MAX_CHANGES:
            return Poll(EVERYTHING if cursor else NOTHING, _write(now, {}))
    if cursor is None:
        return Poll(NOTHING, _write(now, seen))
    changed = frozenset(page for page, number in seen.items() if before.get(page) != number)
    # Named deleted too: a run looks each up, and removes one that is no longer published
    # (moved out of the spaces, restricted) instead of waiting for the next full listing.
    return Poll(ChangeSet(changed, changed) if changed else NOTHING, _write(now, seen))


def _read(cursor: str | None, now: dt.datetime) -> tuple[dt.datetime, dict[str, int]]:
    if not cursor:
        return now, {}
    try:
        state = json.loads(cursor)
        since = dt.datetime.fromisoformat(state["t"])
        seen = {str(k): int(v) for k, v in dict(state.get("seen") or {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return now, {}
    return since, seen


def _write(now: dt.datetime, seen: dict[str, int]) -> str:
    return json.dumps({"t": now.isoformat(), "seen": seen}, separators=(",", ":"))


def lookup(
    api: SiteApi, ids: Collection[str], *, spaces: Sequence[str], kinds: Sequence[str]
) -> Iterator[Meta]:
    """The named pages (current, in the chosen spaces and kinds) as a listing would see them."""
    wanted = sorted({page for page in ids if page.isdigit()}, key=int)
    chosen = {key.lower() for key in spaces}
    for start in range(0, len(wanted), ID_BATCH):
        batch = wanted[start : start + ID_BATCH]
        cql = f"id in ({', '.join(batch)}) and type in ({', '.join(kinds)})"
        for item in api.search(cql):
            meta = meta_v1(item)
            if meta.space_key.lower() in chosen and meta.id in batch:
                yield meta
