"""Counts: how many documents of a run went which way, as the run history stores them.

Defined here, below the sync engine, because the state database records them for every run
(:class:`~syncd.sync.plan.RunReport` extends them with what a report adds).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(slots=True)
class Counts:
    """How many documents of a run went which way."""

    listed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    excluded: int = 0
    restored: int = 0  # pages Intercom had lost, sent again (see syncd.sync.drift)

    def counts(self) -> Counts:
        """Just the counts (of a report, say)."""
        return Counts(*(getattr(self, f.name) for f in dataclasses.fields(Counts)))
