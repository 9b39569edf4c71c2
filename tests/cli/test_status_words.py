"""`syncd status` in words: one of a thing is singular."""

from __future__ import annotations

from syncd.status import SourceStatus, render
from syncd.sync.plan import plural


def test_one_is_singular_and_two_plural() -> None:
    one = SourceStatus(
        "docs",
        1,
        1,
        None,
        None,
        [{"ref_id": "a.md", "error": "a.md: broken"}],
        1,
        {"last": 0.5, "p95": 0.5, "samples": 1},
    )
    text = render([one])
    assert "docs: 1 page held" in text
    assert "over the last 1 write\n" in text
    assert "  1 failing document:\n" in text
    assert plural(2, "write") == "2 writes"
    assert plural(0, "failing document") == "0 failing documents"
    assert plural(3, "entry", "entries") == "3 entries"
