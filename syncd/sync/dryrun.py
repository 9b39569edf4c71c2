"""Dry run: the plan item of a write a ``--dry-run`` makes instead of sending it.

A planned write is counted as its action (``created`` or ``updated``), and explained by its
*reason*: the first of ``renamed from faq.md`` (a new ref id taking over the page of one no
longer listed), ``new document``, ``full resync``, ``previous attempt failed``,
``content changed (...)`` in the connector's words (see
:meth:`~syncd.connectors.base.Connector.describe_change`), ``rendering changed (converter
version N)``, or ``not published yet``. An update whose page Intercom still holds carries a
short diff of the readable text (see :func:`syncd.sync.plan.text_diff`), unless its payload
hash is the one last published: then Intercom holds what would be sent, and the plan neither
asks for the page nor renders both texts (a ``--full-resync --dry-run`` of an unchanged
source would otherwise fetch every page and convert it twice, about 15 ms of CPU a page).
"""

from __future__ import annotations

from syncd.connectors.base import DocumentRef
from syncd.render import content
from syncd.state.tracker import Known
from syncd.sync.context import RunContext
from syncd.sync.plan import PlanItem, text_diff


def plan_write(
    run: RunContext,
    action: str,
    ref: DocumentRef,
    payload: content.Payload,
    previous: Known | None,
    known: Known | None,
    *,
    digest: str,
    renamed_from: str | None = None,
) -> None:
    """Add the plan item of a write to the report, and count it."""
    if known is None and renamed_from is not None:
        reason = f"renamed from {renamed_from}"
    elif known is None:
        reason = "new document"
    elif run.full_resync:
        reason = "full resync"
    elif known.failed:
        reason = "previous attempt failed"
    elif known.version != ref.version:
        reason = _changed(run, known.version, ref.version)
    elif run.rerender:
        reason = f"rendering changed (converter version {content.CONVERTER_VERSION})"
    else:
        reason = "not published yet"
    diff = None
    if (
        action == "update"
        and previous is not None
        and previous.page_id
        and previous.payload_hash != digest
    ):
        old_html = run.publisher.get_page_html(previous.page_id)
        if old_html is not None and old_html != payload.html:
            diff = text_diff(
                content.html_to_text(old_html),
                content.html_to_text(payload.html),
                name=payload.title,
            )
    if run.debug:
        run.log.debug("document.planned", ref=ref.id, action=action, reason=reason)
    run.report.plan.append(
        PlanItem(
            "create" if action == "create" else "update",
            ref.id,
            payload.external_id,
            payload.title,
            reason,
            diff,
        )
    )
    run.outcomes.count("created" if action == "create" else "updated")


def _changed(run: RunContext, old: str | None, new: str) -> str:
    """The reason of a re-versioned document, in the connector's words."""
    described = None
    if old is not None:
        try:
            described = run.connector.describe_change(old, new)
        except Exception:  # a wording is never worth failing a plan over
            run.log.debug("document.describe_change_failed", exc_info=True)
    return f"content changed ({described or 'new version at the source'})"
