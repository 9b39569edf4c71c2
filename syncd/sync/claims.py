"""External-id claims: which document of a run publishes under which external id.

external id
    The key of a page in Intercom: the document's own (front matter ``external_id`` or
    ``id``, say), else its ref id.

claim
    A document read this run takes its external id for the run. Two documents of one run
    never share one: the second fails, naming the first.

holder
    The tracked row that published an external id before this run. A holder still listed
    keeps its id, unless it was read this run and moved to another one (a rename of its id,
    or a swap); a holder no longer listed (a renamed file) hands its page over.

deferral
    A document wanting an id whose listed holder has not been read yet waits until every
    other document was read: the holder may be moving away from it (a swap).
"""

from __future__ import annotations

from collections.abc import Callable, Container

from syncd.connectors.base import Document, DocumentRef
from syncd.state.tracker import Known


class ClaimConflict(Exception):
    """The external id is held by another document of this run; the message names it."""


class Claims:
    """The external ids claimed in one run; ``failed`` tells whether a document failed."""

    def __init__(self, failed: Callable[[str], bool]) -> None:
        self.failed = failed
        self.taken: dict[str, str] = {}  # external id -> ref id
        self.deferred: list[tuple[DocumentRef, Document]] = []
        self._settled: set[str] = set()  # tracked ref ids read (or failed) this run

    def settle(self, ref_id: str) -> None:
        """A tracked document was read, or failed to be, this run."""
        self._settled.add(ref_id)

    def claim(
        self,
        ref: DocumentRef,
        document: Document,
        holder: Known | None,
        listed: Container[str],
        *,
        final: bool,
    ) -> str | None:
        """Claim the document's external id; None when the claim is deferred.

        ``final`` is set for deferred documents, once every other document was read.
        Raises :class:`ClaimConflict` when another document of this run holds the id.
        """
        external_id = document.external_id or ref.id
        other = self.taken.get(external_id)
        if other is None and holder is not None and holder.ref_id != ref.id:
            still_listed = holder.ref_id in listed
            if still_listed and holder.ref_id not in self._settled and not final:
                self.deferred.append((ref, document))
                return None
            if still_listed and (holder.ref_id not in self._settled or self.failed(holder.ref_id)):
                other = holder.ref_id
        if other is not None:
            raise ClaimConflict(f"external id {external_id!r} is also used by {other!r}")
        self.taken[external_id] = ref.id
        return external_id
