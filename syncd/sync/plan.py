"""Plans and reports: what a run did, or with ``--dry-run`` would do, in words and JSON.

plan item
    One intended write: ``create``, ``update`` or ``delete`` of one document, with the reason
    (new document, content changed, gone from the source, ...) and, for an update whose old
    text is known, a short unified diff of the readable text.

run report
    The outcome of one run of one source: counts, duration, the documents that failed and
    why, the plan items (dry-run), and the exit code that outcome maps to.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any, Literal

from syncd.errors import ExitCode
from syncd.state.counts import Counts

Action = Literal["create", "update", "delete", "exclude"]
DIFF_LINES = 40


@dataclasses.dataclass(frozen=True, slots=True)
class PlanItem:
    """One write a run makes, or would make; or a listed document it leaves out (``exclude``,
    the reason saying why: ``excluded: restricted``)."""

    action: Action
    ref_id: str
    external_id: str | None
    title: str | None
    reason: str
    diff: str | None = None


@dataclasses.dataclass(slots=True, kw_only=True)
class RunReport(Counts):
    """What happened in one run of one source."""

    source: str
    duration: float = 0.0
    error: str | None = None
    exit_code: ExitCode = ExitCode.OK
    stopped: bool = False
    skipped: str | None = None  # why a scheduled tick was left to another replica
    dry_run: bool = False
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    plan: list[PlanItem] = dataclasses.field(default_factory=list)
    # Pages removed (or, in a dry run, to remove), by reason: "gone", "excluded: draft", ...
    deletions: dict[str, int] = dataclasses.field(default_factory=dict)
    # Documents this run read and found not to publish, by reason: "draft", "no text", ...
    # (those excluded before and unchanged since are counted in ``excluded`` alone).
    exclusions: dict[str, int] = dataclasses.field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = dataclasses.asdict(self)
        data["exit_code"] = int(self.exit_code)
        data["duration"] = round(self.duration, 3)  # seconds; ms is all a run's length needs
        data["failures"] = [{"ref_id": ref, "error": err} for ref, err in self.failures]
        return data

    def _exclusion_reasons(self) -> str:
        """``: 2 no text, 1 draft`` for the exclusions this run found, if any."""
        if not self.exclusions:
            return ""
        tally = describe_tally(ordered(self.exclusions))
        earlier = self.excluded - sum(self.exclusions.values())
        return f": {tally}" + (f", {earlier} as before" if earlier > 0 else "")

    def summary(self) -> str:
        """One line for people: what the run did (or would do), in counts that add up.

        Each listed document is in one bucket: created, updated, unchanged, excluded (not
        published) or failed; those a stopped run did not reach are counted apart. Deleted
        counts pages removed from Intercom, with their reasons: a gone document is not listed,
        and an excluded one is both excluded and, if it had a page, deleted.
        """
        if self.skipped:
            return f"{self.source}: skipped - {self.skipped}"
        if self.dry_run:
            creates = sum(1 for i in self.plan if i.action == "create")
            updates = sum(1 for i in self.plan if i.action == "update")
            deletes = sum(1 for i in self.plan if i.action == "delete")
            line = (
                f"{self.source} (dry run): would create {creates}, update {updates}, "
                f"delete {deletes}"
            )
            sent = creates + updates + deletes
        else:
            line = (
                f"{self.source}: {self.created} created, {self.updated} updated, "
                f"{self.deleted} deleted"
            )
            sent = self.created + self.updated + self.deleted + self.restored
            if self.restored:
                line += f", {self.restored} restored (lost in Intercom, sent again)"
        line += f", {self.unchanged} unchanged"
        if self.excluded:
            line += f", {self.excluded} excluded (not published{self._exclusion_reasons()})"
        if self.failed:
            line += f", {self.failed} failed"
        line += f"; {self.listed} listed"
        sent_or_not = self.created + self.updated + self.restored + self.unchanged
        handled = sent_or_not + self.excluded + self.failed
        if self.listed > handled:
            line += f", {self.listed - handled} not reached"
        if self.deletions:
            line += f"; deleted: {describe_tally(self.deletions)}"
        if sent == 0 and not self.error:
            line += "; nothing would be sent to Intercom" if self.dry_run else "; nothing sent"
        if self.stopped:
            line += " - stopped early"
        if self.error:
            line += f" - {self.error}"
        return line


def ordered(counts: Mapping[str, int]) -> dict[str, int]:
    """A tally, most frequent first (ties by name)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """``1 write``, ``2 writes``: a count and its noun, in the right number."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def describe_tally(counts: Mapping[str, int]) -> str:
    """``6 excluded: empty, 1 gone``: a tally in words."""
    return ", ".join(f"{count} {reason}" for reason, count in counts.items())


def text_diff(old: str, new: str, *, name: str) -> str | None:
    """A unified diff of two readable texts, cut to :data:`DIFF_LINES` lines."""
    lines = list(
        difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            f"{name} (published)",
            f"{name} (source)",
            n=1,
            lineterm="",
        )
    )
    if not lines:
        return None
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... {len(lines) - DIFF_LINES} more lines"]
    return "\n".join(lines)


def render_plan(report: RunReport) -> str:
    """The dry-run plan of one source as readable text."""
    out = [report.summary()]
    for item in report.plan:
        label = item.title or item.external_id or item.ref_id
        # A page without a title (a delete) is named by its path alone, not twice.
        where = f" [{item.ref_id}]" if label != item.ref_id else ""
        out.append(f"  {item.action:<6} {label}{where}: {item.reason}")
        if item.diff:
            out.extend(f"      {line}" for line in item.diff.splitlines())
    for ref_id, error in report.failures:
        out.append(f"  failed {ref_id}: {error}")
    return "\n".join(out)
