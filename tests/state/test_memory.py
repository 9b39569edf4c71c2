"""A connector's memory in the state database: kept across runs, untouched by a dry run."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from syncd.state.memory import StoredMemory
from syncd.state.tracker import Tracker


def test_values_outlive_the_run_and_a_dry_run_writes_none(
    sessions: sessionmaker[Session],
) -> None:
    Tracker(sessions, "docs")  # a run's tracker makes the source's row first
    memory = StoredMemory(sessions, "docs")
    assert memory.get("git.identities") is None
    memory.put("git.identities", '{"ids": {"b.md": "a.md"}}')
    memory.put("other", "1")
    memory.put("other", None)

    again = StoredMemory(sessions, "docs")
    assert again.get("git.identities") == '{"ids": {"b.md": "a.md"}}'
    assert again.get("other") is None

    dry = StoredMemory(sessions, "docs", dry_run=True)
    dry.put("git.identities", "{}")
    assert dry.get("git.identities") == "{}"  # the dry run sees its own value...
    assert StoredMemory(sessions, "docs").get("git.identities") == '{"ids": {"b.md": "a.md"}}'

    # ...and another source's memory is its own.
    Tracker(sessions, "wiki")
    assert StoredMemory(sessions, "wiki").get("git.identities") is None
