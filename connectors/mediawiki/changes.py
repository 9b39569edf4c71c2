"""What changed on a wiki, asked cheaply: recent changes and named pages' current versions.

recent changes
    ``list=recentchanges`` with ``rcdir=newer`` from a *cursor* (``<timestamp>|<rcid>`` of the
    last change seen): edits, page creations and log entries (moves, deletions, restores,
    uploads) in one request. Every entry carries the page id it concerns; a deletion's is the
    id of the page deleted, a move's the id of the page moved (which keeps it). Entries for
    pages outside the configured namespaces are dropped, except moves into them, and edits of
    templates and Lua modules (:data:`RENDERING_NAMESPACES`): those change how other pages
    render without an entry of their own, so they ask for a full run, whose listing then sees
    the pages' new ``touched`` (once the wiki's job queue has updated it; what it has not yet
    is caught by the next scheduled run). More changes than one answer holds (``continue``)
    ask for a full run too.

lookup
    ``prop=info`` by page ids, in batches: the refs of named pages that the listing would give
    (existing, not redirects, in a configured namespace), with the same version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from syncd.connectors.base import EVERYTHING, NOTHING, ChangeSet, DocumentRef, Poll
from syncd.connectors.mediawiki.api import ActionApi

LOOKUP_BATCH = 50  # the most page ids a non-bot may ask about at once
RENDERING_NAMESPACES = frozenset({10, 828})  # Template, Module (Scribunto)
START_MARGIN = dt.timedelta(minutes=5)  # also covers some clock difference with the wiki
_DELETIONS = {"delete", "delete_redir", "delete_redir2"}


def first_cursor(now: dt.datetime | None = None) -> str:
    """Where the first poll starts: :data:`START_MARGIN` before ``now``, asking nothing.

    The daemon's first full run lists the wiki while the first poll is made: starting a little
    in the past, the feed names again what changed around that listing instead of missing it
    (naming a page that did not change costs a lookup, and sends nothing).
    """
    start = (now or dt.datetime.now(dt.UTC)) - START_MARGIN
    return f"{start:%Y-%m-%dT%H:%M:%SZ}|0"


def poll(api: ActionApi, cursor: str, namespaces: Collection[int], limit: int | str) -> Poll:
    """What changed after ``cursor``, in one request, and the cursor to ask from next."""
    params: dict[str, str | int] = {
        "action": "query",
        "list": "recentchanges",
        "rcprop": "ids|title|timestamp|loginfo",  # title brings the namespace (ns)
        "rctype": "edit|new|log",
        "rcdir": "newer",
        "rclimit": limit,
    }
    timestamp, _, last_id = cursor.partition("|")
    if timestamp:
        params["rcstart"] = timestamp
    answer = api.get(**params)
    entries = [
        entry
        for entry in answer.get("query", {}).get("recentchanges", [])
        if int(entry.get("rcid", 0)) > int(last_id or 0)
    ]
    if not entries:
        return Poll(NOTHING, cursor)
    next_cursor = _cursor_of(entries[-1])
    if isinstance(answer.get("continue"), dict):
        return Poll(EVERYTHING, next_cursor)  # more than one answer holds: list it all
    changed: set[str] = set()
    deleted: set[str] = set()
    wanted = set(namespaces)
    for entry in entries:
        namespace = int(entry.get("ns", -1))
        if namespace in RENDERING_NAMESPACES and namespace not in wanted:
            return Poll(EVERYTHING, next_cursor)  # other pages render differently now
        _classify(entry, wanted, changed, deleted)
    return Poll(ChangeSet(frozenset(changed), frozenset(deleted)), next_cursor)


def _classify(
    entry: dict[str, Any], namespaces: set[int], changed: set[str], deleted: set[str]
) -> None:
    page_id = int(entry.get("pageid") or 0)
    if not page_id:
        return
    ref_id = str(page_id)
    inside = int(entry.get("ns", -1)) in namespaces
    if entry.get("type") != "log":
        if inside:
            changed.add(ref_id)
        return
    params = entry.get("logparams") or {}
    if entry.get("logtype") == "move":
        if int(params.get("target_ns", -1)) in namespaces:
            changed.add(ref_id)
        elif inside:
            deleted.add(ref_id)  # moved out of the namespaces we publish
    elif entry.get("logtype") == "delete" and entry.get("logaction") in _DELETIONS:
        if inside:
            deleted.add(ref_id)
    elif inside:  # restores, uploads, protections: look the page up again
        changed.add(ref_id)


def _cursor_of(entry: dict[str, Any]) -> str:
    return f"{entry.get('timestamp', '')}|{int(entry.get('rcid', 0))}"


def lookup(
    api: ActionApi, ids: Collection[str], namespaces: Collection[int]
) -> Iterator[tuple[DocumentRef, str]]:
    """``(ref, title)`` of each named page that the listing would give now."""
    wanted = sorted({ref_id for ref_id in ids if ref_id.isdigit()}, key=int)
    for batch in _batches(wanted, LOOKUP_BATCH):
        answer = api.get(action="query", pageids="|".join(batch), prop="info")
        for page in answer.get("query", {}).get("pages", []):
            if "missing" in page or "invalid" in page or "lastrevid" not in page:
                continue
            if page.get("redirect") or int(page.get("ns", -1)) not in namespaces:
                continue
            version = f"{page['lastrevid']}@{page.get('touched', '')}"
            yield DocumentRef(id=str(page["pageid"]), version=version), str(page.get("title", ""))


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def touched_at(version: str) -> float | None:
    """The ``touched`` time of a version ``<lastrevid>@<touched>``, in Unix seconds."""
    _, _, touched = version.partition("@")
    try:
        return dt.datetime.fromisoformat(touched).timestamp() if touched else None
    except ValueError:
        return None
