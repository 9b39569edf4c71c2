"""Fetch and render: one listed document's way from its connector to a payload to send.

A fetch that fails settles its document there: *excluded* when the connector says it must not
be published (its page, if any, is *left behind* for the deletes behind the safety stop, see
:mod:`syncd.sync.deletes`), *failed* for a document error or a connector bug (fetched again next
run), failed at its *final version* when too large or unreadable (fetched again once its
version changes).
A fetch cut short because the run is stopping settles nothing.

Rendering turns a document into the payload of its page (see :mod:`syncd.render.content`); a
document that cannot be rendered fails alone, and so does a page whose HTML is larger than
the limit (``intercom.max_page_bytes``, :data:`~syncd.sync.context.DEFAULT_MAX_PAGE_BYTES` by
default), at its final version.
"""

from __future__ import annotations

from syncd.connectors.base import (
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
from syncd.sync.context import RunContext
from syncd.sync.deletes import Removal
from syncd.sync.plan import PlanItem


def too_large(size: int, limit: int) -> str:
    """Why a rendered page was not sent."""
    return (
        f"page too large: {size / 1e6:.1f} MB of HTML once rendered, over the limit of"
        f" {limit / 1e6:.1f} MB (intercom.max_page_bytes); split the page, or raise the limit"
    )


def fetch(run: RunContext, ref: DocumentRef, known: Known | None) -> Document | None:
    """The document, or None when its fetch settled it (see the module docstring)."""
    try:
        return run.connector.fetch(ref)
    except DocumentExcluded as exc:
        _exclude(run, ref, known, exc)
    except (DocumentTooLarge, DocumentUnreadable) as exc:
        run.fail(ref.id, str(exc), final_version=ref.version)
    except DocumentError as exc:
        run.fail(ref.id, str(exc))
    except Interrupted:
        pass  # the run is stopping (see syncd.net.deadline); the next run fetches it
    except Exception as exc:  # a connector bug must fail its document, not the run
        run.log.exception("document.fetch_crashed", ref=ref.id)
        run.fail(ref.id, f"{type(exc).__name__}: {exc}")
    return None


def _settled(known: Known | None, ref: DocumentRef) -> bool:
    """Whether the state already holds this version of the document as excluded.

    A full resync fetches every excluded document again; recording each one anew cost a
    transaction apiece (a third of the main thread's time in a Docusaurus resync, whose drafts
    and unlisted pages are a fifth of its documents).
    """
    return (
        known is not None
        and known.excluded
        and known.version == ref.version
        and not known.failed
        and not known.page_id
    )


def render(
    run: RunContext, ref: DocumentRef, document: Document, external_id: str
) -> content.Payload | None:
    """The payload of a document, or None when it failed (cannot render, too large)."""
    # The title is known once fetched: kept with the failure, for `syncd status`.
    title = document.title
    try:
        payload = content.render(document, external_id=external_id, settings=run.source)
    except DocumentTooLarge as exc:  # too deep to sanitize: the same at this version
        run.fail(ref.id, str(exc), final_version=ref.version, title=title)
        return None
    except Exception as exc:
        run.fail(ref.id, f"cannot render: {type(exc).__name__}: {exc}", title=title)
        return None
    if (size := len(payload.html.encode())) > run.max_page_bytes:
        error = too_large(size, run.max_page_bytes)
        run.fail(ref.id, error, final_version=ref.version, title=title)
        return None
    return payload


def _exclude(run: RunContext, ref: DocumentRef, known: Known | None, why: DocumentExcluded) -> None:
    reason = why.reason
    if run.debug:
        run.log.debug("document.excluded", ref=ref.id, reason=str(why))
    if run.dry_run and not (known is not None and known.page_id):
        # Named in the plan, as in the DEBUG log: nothing listed is left out without a word
        # (one with a page is named by the plan's delete of that page).
        run.report.plan.append(
            PlanItem("exclude", ref.id, None, None, f"excluded: {reason or 'excluded'} ({why})")
        )
    if known is not None and known.page_id:
        # Its page goes behind the safety stop with every other removal; the document is
        # recorded as excluded once the page is gone (see syncd.sync.deletes).
        run.left_behind.append(
            Removal("excluded", ref.id, known.external_id, known.page_id, reason, ref.version)
        )
    elif not run.dry_run and not _settled(known, ref):
        run.tracker.record_excluded(ref.id, ref.version)
    exclusions = run.report.exclusions
    exclusions[reason or "excluded"] = exclusions.get(reason or "excluded", 0) + 1
    run.outcomes.count("excluded")
