"""Fetch and render: one listed document's way from its connector to a payload to send.

A fetch that fails settles its document there: *excluded* when the connector says it must not
be published (its page, if any, is *left behind* for the deletes behind the safety stop, see
:mod:`syncd.sync.deletes`), *failed* for a document error or a connector bug (fetched again next
run), failed at its *final version* when too large or unreadable (fetched again once its
version changes).
A fetch cut short because the run is stopping settles nothing.

Rendering turns a document into the payload of its page (see :mod:`syncd.render.content`); a
document that cannot be rendered fails alone, and so does a page whose HTML is larger than
the limit (``intercom.max_page_bytes``), at its final version.
"""

from __future__ import annotations

from collections.abc import Callable

from syncd.config.loading import SourceConfig
from syncd.connectors.base import (
    Connector,
    Document,
    DocumentError,
    DocumentExcluded,
    DocumentRef,
    DocumentTooLarge,
    DocumentUnreadable,
)
from syncd.errors import Interrupted
from syncd.render import content
from syncd.state.tracker import Known
from syncd.sync.deletes import Removal
from syncd.sync.outcomes import Outcomes
from syncd.sync.plan import PlanItem

#: The largest rendered page sent (bytes of HTML), unless ``intercom.max_page_bytes`` says
#: otherwise: far above real pages, and a bound on what one page costs in memory.
DEFAULT_MAX_PAGE_BYTES = 2_000_000


def too_large(size: int, limit: int) -> str:
    """Why a rendered page was not sent."""
    return (
        f"page too large: {size / 1e6:.1f} MB of HTML once rendered, over the limit of"
        f" {limit / 1e6:.1f} MB (intercom.max_page_bytes); split the page, or raise the limit"
    )


def fetch(
    connector: Connector,
    ref: DocumentRef,
    known: Known | None,
    *,
    outcomes: Outcomes,
    left_behind: Callable[[Removal], None],
) -> Document | None:
    """The document, or None when its fetch settled it (see the module docstring)."""
    try:
        return connector.fetch(ref)
    except DocumentExcluded as exc:
        _exclude(ref, known, exc, outcomes, left_behind)
    except (DocumentTooLarge, DocumentUnreadable) as exc:
        outcomes.fail(ref.id, str(exc), final_version=ref.version)
    except DocumentError as exc:
        outcomes.fail(ref.id, str(exc))
    except Interrupted:
        pass  # the run is stopping (see syncd.net.deadline); the next run fetches it
    except Exception as exc:  # a connector bug must fail its document, not the run
        outcomes.log.exception("document.fetch_crashed", ref=ref.id)
        outcomes.fail(ref.id, f"{type(exc).__name__}: {exc}")
    return None


def render(
    ref: DocumentRef,
    document: Document,
    external_id: str,
    *,
    source: SourceConfig,
    max_page_bytes: int,
    outcomes: Outcomes,
) -> content.Payload | None:
    """The payload of a document, or None when it failed (cannot render, too large)."""
    try:
        payload = content.render(document, external_id=external_id, settings=source)
    except DocumentTooLarge as exc:  # too deep to sanitize: the same at this version
        outcomes.fail(ref.id, str(exc), final_version=ref.version)
        return None
    except Exception as exc:
        outcomes.fail(ref.id, f"cannot render: {type(exc).__name__}: {exc}")
        return None
    if (size := len(payload.html.encode())) > max_page_bytes:
        outcomes.fail(ref.id, too_large(size, max_page_bytes), final_version=ref.version)
        return None
    return payload


def _exclude(
    ref: DocumentRef,
    known: Known | None,
    why: DocumentExcluded,
    outcomes: Outcomes,
    left_behind: Callable[[Removal], None],
) -> None:
    reason = why.reason
    if outcomes.debug:
        outcomes.log.debug("document.excluded", ref=ref.id, reason=str(why))
    if outcomes.dry_run:
        # Named in the plan, as in the DEBUG log: nothing listed is left out without a word.
        outcomes.report.plan.append(
            PlanItem("exclude", ref.id, None, None, f"excluded: {reason or 'excluded'} ({why})")
        )
    if known is not None and known.page_id:
        # Its page goes behind the safety stop with every other removal; the document is
        # recorded as excluded once the page is gone (see syncd.sync.deletes).
        left_behind(
            Removal("excluded", ref.id, known.external_id, known.page_id, reason, ref.version)
        )
    elif not outcomes.dry_run:
        outcomes.tracker.record_excluded(ref.id, ref.version)
    exclusions = outcomes.report.exclusions
    exclusions[reason or "excluded"] = exclusions.get(reason or "excluded", 0) + 1
    outcomes.count("excluded")
