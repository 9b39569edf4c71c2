"""What changed on a DokuWiki since a cursor, in one call to its recent changes.

recent changes
    ``wiki.getRecentChanges(ts)`` (Igor) or ``core.getRecentPageChanges(ts)`` (Kaos and later):
    the newest change of each page since a Unix second, ACL-filtered by the wiki. A deleted
    page has no size (Igor) or type ``D`` (Kaos). Igor answers "nothing new" with an empty
    struct; anything else that is not a list is an error.

cursor
    ``<second>|<seen>``: the second of the newest change seen, and the changes seen *in* that
    second (``page`` or ``page!`` for a deletion), space-separated (page ids hold no spaces).
    Revisions are whole seconds, so the next poll asks from that same second again and drops
    what it saw already; a change later in the same second is not missed.

DokuWiki trims its recent changes to ``recent_days`` (7 by default): a cursor older than
:data:`HORIZON` asks for a full run instead.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from syncd.connectors.base import EVERYTHING, NOTHING, ChangeSet, Poll
from syncd.connectors.dokuwiki.api import DokuWikiApi, WikiError

START_MARGIN = 300  # seconds the first poll looks back; also covers some clock difference
HORIZON = 6 * 86400  # older cursors may ask for changes the wiki no longer keeps


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One entry of the recent changes: the page, the second of its change, deleted or not."""

    page: str
    revision: int
    deleted: bool

    @property
    def key(self) -> str:
        """How the cursor remembers it (``page`` or ``page!``)."""
        return f"{self.page}!" if self.deleted else self.page


def first_cursor(now: float | None = None) -> str:
    """Where the first poll starts: :data:`START_MARGIN` seconds before ``now``."""
    return f"{int(now if now is not None else time.time()) - START_MARGIN}|"


def _parse(cursor: str) -> tuple[int, frozenset[str]]:
    second, _, seen = cursor.partition("|")
    try:
        return int(second), frozenset(seen.split())
    except ValueError:
        return 0, frozenset()


def _change(entry: Any) -> Change:
    if not isinstance(entry, dict):
        raise WikiError(f"recent changes: an entry is not a struct: {entry!r:.80}")
    page = entry.get("id", entry.get("name"))
    revision = entry.get("revision", entry.get("version"))
    if not isinstance(page, str) or isinstance(revision, bool) or not isinstance(revision, int):
        raise WikiError(f"recent changes: an entry without page or revision: {entry!r:.80}")
    # Kaos and later give a change type; Igor a deleted page's size as False.
    deleted = entry.get("type") == "D" if "type" in entry else entry.get("size") is False
    return Change(page, revision, deleted)


def recent_changes(api: DokuWikiApi, since: int) -> list[Change]:
    """The newest change of each page since the Unix second ``since``."""
    answer = api.call("core.getRecentPageChanges", "wiki.getRecentChanges", {"timestamp": since})
    if answer == {} and not api.json_rpc:
        return []  # Igor's "there are no changes in the specified timeframe" (321)
    if not isinstance(answer, list):
        raise WikiError(f"recent changes: the wiki answered {answer!r:.80}, not a list")
    return [_change(entry) for entry in answer]


def poll(
    api: DokuWikiApi, cursor: str, in_scope: Callable[[str], bool], now: float | None = None
) -> Poll:
    """What changed after ``cursor`` (pages ``in_scope``), and the cursor to ask from next."""
    second, seen = _parse(cursor)
    current = int(now if now is not None else time.time())
    if second < current - HORIZON:
        return Poll(EVERYTHING, first_cursor(current))
    fresh = [
        change
        for change in recent_changes(api, second)
        if change.revision > second or change.key not in seen
    ]
    if not fresh:
        return Poll(NOTHING, cursor)
    newest = max(change.revision for change in fresh)
    keys = {change.key for change in fresh if change.revision == newest}
    if newest == second:
        keys |= seen
    next_cursor = f"{newest}|{' '.join(sorted(keys))}"
    changed = {c.page for c in fresh if not c.deleted and in_scope(c.page)}
    deleted = {c.page for c in fresh if c.deleted and in_scope(c.page)}
    return Poll(ChangeSet(frozenset(changed), frozenset(deleted)), next_cursor)
