"""The status page of `syncd run`: what `syncd status` says, for a browser and as JSON.

``GET /`` and ``GET /status``
    Server-rendered HTML, one card per source (see :func:`render_html`); it reloads itself
    every :data:`REFRESH` seconds with a ``<meta>`` refresh, no JavaScript. A request that
    accepts ``application/json`` and not ``text/html`` gets the JSON instead.
``GET /status.json``
    A list with one object per source, the same fields as ``syncd status --json``
    (:meth:`syncd.status.SourceStatus.as_json`).
``POST /status/run/<source>``
    Only when ``server.hook_secret`` is set: the page's *run now* form. The form posts the
    secret as ``token``, checked as ``Authorization: Bearer`` is by the hooks
    (:func:`syncd.daemon.triggers.hooks.authenticate`); without a ``token`` field the request
    must carry one of the hooks' headers, signatures included. Refused calls count in
    ``syncd_hooks_refused`` and answer 401, as the hooks do. Accepted: 303 back to ``/status``.

Every value on the page is escaped (titles and errors are user content), and nothing on it
holds a secret: errors are masked before they are stored (see :mod:`syncd.redact`).
"""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from syncd import metrics
from syncd.connectors.base import EVERYTHING
from syncd.daemon.ticks import interval_seconds
from syncd.daemon.triggers.hooks import RequestRun, authenticate
from syncd.status import SourceStatus
from syncd.status import seed_metrics as seed_from_state

if TYPE_CHECKING:
    from syncd.app import App

log = structlog.get_logger(__name__)

StatusCollect = Callable[[dict[str, dt.datetime | None]], list[SourceStatus]]
"""The status of every configured source, given each one's next scheduled run (queries the
state database)."""

REFRESH = 30  # seconds between reloads of the page
MAX_FORM = 4096  # bytes: the run-now form holds one token
_CSS = """
body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:12px;background:#f4f5f7;color:#172b4d}
h1{font-size:20px;margin:0 0 4px}main{max-width:960px;margin:auto}
section{background:#fff;border-radius:8px;padding:12px 14px;margin:12px 0;
border-left:6px solid #999}
section.ok{border-color:#1f845a}section.partial{border-color:#b38600}
section.failed,section.safety_stop{border-color:#c9372c}
h2{font-size:17px;margin:0;overflow-wrap:anywhere}.badge{font-size:13px;padding:1px 8px;
border-radius:10px;background:#dfe1e6;white-space:nowrap}.ok .badge{background:#baf3db}
.failed .badge,.safety_stop .badge{background:#ffd5d2}.partial .badge{background:#f8e6a0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}
dt{color:#626f86}dd{margin:0;overflow-wrap:anywhere}.error{color:#ae2e24}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{text-align:left;padding:4px 6px;border-top:1px solid #dfe1e6;vertical-align:top;
overflow-wrap:anywhere}small{color:#626f86}form{margin:8px 0 0;display:flex;gap:6px;flex-wrap:wrap}
input{font:inherit;padding:4px 6px;min-width:0;flex:1}button{font:inherit;padding:4px 12px}
@media(max-width:520px){dl{grid-template-columns:1fr}dt{margin-top:4px}}
"""
_LABELS = {
    "ok": "ok",
    "partial": "partial",
    "failed": "failed",
    "safety_stop": "refused (safety stop)",
    "stopped": "stopped",
    "running": "running",
}


def seed_metrics(app: App) -> None:
    """Set at start-up the gauges the alert rules need: each source's schedule interval, and
    what the state database knows (the last success, the failing streak, the pages held)."""
    for source in app.config.sources:
        metrics.SCHEDULE_INTERVAL.labels(source.name).set(interval_seconds(source.schedule))
    try:
        seed_from_state(app.config, app.sessions)
    except Exception as exc:  # the database is away: the first runs set them; never fatal
        log.warning("status.metrics_not_seeded", error=type(exc).__name__)


class StatusPage:
    """Serves the routes above for one daemon (:meth:`page`, :meth:`as_json`, :meth:`run_now`)."""

    def __init__(
        self,
        collect: StatusCollect,
        next_runs: Callable[[], dict[str, dt.datetime | None]],
        secret: str | None = None,
        request_run: RequestRun | None = None,
    ) -> None:
        """``request_run`` asks for a run as the hooks do; *run now* needs it and ``secret``."""
        self._collect = lambda: collect(next_runs())
        self._secret = secret.encode() if secret and request_run is not None else None
        self._request_run = request_run

    @property
    def can_run(self) -> bool:
        """Whether the page offers *run now* (``server.hook_secret`` is set)."""
        return self._secret is not None

    async def _statuses(self) -> list[SourceStatus] | Response:
        try:
            return await run_in_threadpool(self._collect)
        except Exception as exc:  # the state database is away: say so, never a traceback
            log.warning("status.unavailable", error=type(exc).__name__)
            return Response(
                f"status unavailable: the state database did not answer ({type(exc).__name__})\n",
                status_code=503,
                media_type="text/plain",
            )

    async def page(self, request: Request) -> Response:
        """The HTML page (or the JSON, for a client that asks for JSON alone)."""
        accept = request.headers.get("accept", "")
        if "application/json" in accept and "text/html" not in accept:
            return await self.as_json(request)
        statuses = await self._statuses()
        if isinstance(statuses, Response):
            return statuses
        note = request.query_params.get("requested")
        body = render_html(statuses, dt.datetime.now(dt.UTC), can_run=self.can_run, note=note)
        return HTMLResponse(body, headers=_HEADERS)

    async def as_json(self, request: Request) -> Response:
        """The statuses as ``syncd status --json`` prints them."""
        statuses = await self._statuses()
        if isinstance(statuses, Response):
            return statuses
        return JSONResponse([s.as_json() for s in statuses], headers={"Cache-Control": "no-store"})

    async def run_now(self, request: Request) -> Response:
        """Check the token (or a hook header), then ask for a full run of the source."""
        source = str(request.path_params["source"])
        caller = request.client.host if request.client else None
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                return _refused(source, "form too large", caller, 413)
        if self._secret is None or self._request_run is None:
            return Response(status_code=404)
        headers = {key.lower(): value for key, value in request.headers.items()}
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "token" in form:
            headers = {"authorization": f"Bearer {form['token'][0]}"}
            body = b""
        reason = authenticate(self._secret, headers, body)
        if reason is not None:
            return _refused(source, reason, caller, 401)
        if not self._request_run(source, EVERYTHING):
            return Response(f"no source named {source!r}\n", status_code=404)
        log.info("status.run_requested", source=source, caller=caller)
        query = urllib.parse.urlencode({"requested": source})
        return RedirectResponse(f"/status?{query}", status_code=303)


_HEADERS = {
    "Cache-Control": "no-store",
    # Nothing on the page runs a script or loads anything from elsewhere.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def _refused(source: str, reason: str, caller: str | None, status: int) -> Response:
    log.warning("status.run_refused", source=source[:64], reason=reason, caller=caller)
    metrics.HOOKS_REFUSED.inc()
    return Response("unauthorized\n" if status == 401 else "too large\n", status_code=status)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(value: dt.datetime | None, now: dt.datetime) -> str:
    """A UTC time and how long ago (or in how long) it is, escaped."""
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    span = abs(seconds)
    if span < 90:
        rel = f"{span:.0f} s"
    elif span < 5400:
        rel = f"{span / 60:.0f} min"
    elif span < 172800:
        rel = f"{span / 3600:.1f} h"
    else:
        rel = f"{span / 86400:.0f} days"
    rel = f"{rel} ago" if seconds >= 0 else f"in {rel}"
    return f'<time datetime="{_e(value.isoformat())}">{value:%Y-%m-%d %H:%M:%S} UTC</time> ({rel})'


def _seconds(value: float | int | None) -> str:
    return "none yet" if value is None else f"{value:.1f} s"


def render_html(
    statuses: list[SourceStatus], now: dt.datetime, *, can_run: bool, note: str | None = None
) -> str:
    """The whole page; every value from the state database goes through ``html.escape``."""
    cards = "".join(_card(s, now, can_run) for s in statuses) or "<p>No sources configured.</p>"
    notice = f"<p><strong>Run requested for {_e(note)}.</strong></p>" if note else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta http-equiv="refresh" content="{REFRESH}"><title>syncd status</title>'
        f"<style>{_CSS}</style></head><body><main><h1>syncd status</h1>"
        f"<small>{now:%Y-%m-%d %H:%M:%S} UTC · reloads every {REFRESH} s · "
        '<a href="/status.json">JSON</a></small>'
        f"{notice}{cards}</main></body></html>"
    )


def _card(status: SourceStatus, now: dt.datetime, can_run: bool) -> str:
    run = status.last_run
    state = run["status"] if run else "never"
    rows: list[tuple[str, str]] = [
        ("Connector", _e(status.connector)),
        ("Pages held", _e(status.pages_held)),
    ]
    if run is not None:
        took = "" if run["duration"] is None else f", took {run['duration']:.2f} s"
        rows.append(("Last run", f"{_when(run['started_at'], now)}{_e(took)}"))
        counts = ", ".join(
            f"{run[key]} {key}"
            for key in ("created", "updated", "deleted", "unchanged", "excluded", "failed")
        )
        rows.append(("Counts", _e(f"{counts}; {run['listed']} listed")))
        if run["deletions"]:
            tally = ", ".join(f"{n} {reason}" for reason, n in sorted(run["deletions"].items()))
            rows.append(("Deleted", _e(tally)))
    rows.append(("Last success", _when(status.last_success, now)))
    for label, event in (
        ("Last failure", status.last_failure),
        ("Safety stop", status.last_refusal),
    ):
        if event is not None:
            reason = f'<div class="error">{_e(event["error"] or "no reason recorded")}</div>'
            rows.append((label, _when(event["at"], now) + reason))
    left = status.left_out
    rows.append(
        (
            "Left out",
            _e(
                f"{left['excluded']} excluded (drafts, exclude rules, restrictions); "
                f"{left['final']} too large or unreadable at their version; "
                f"{status.failing_total} failing"
            ),
        )
    )
    if status.origin:
        rows.append(("Listed from", _e(", ".join(f"{k} {v}" for k, v in status.origin.items()))))
    fresh = status.freshness
    rows.append(
        (
            "Freshness",
            _e(f"last {_seconds(fresh['last'])}, p95 {_seconds(fresh['p95'])}")
            + f" <small>({_e(fresh['samples'])} writes)</small>",
        )
    )
    rows.append(("Next run", _when(status.next_run, now) if status.next_run else "not scheduled"))
    details = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return (
        f'<section class="{_e(state)}" id="source-{_e(status.name)}">'
        f'<h2>{_e(status.name)} <span class="badge">{_e(_LABELS.get(state, state))}</span></h2>'
        f"<dl>{details}</dl>{_failing(status, now)}{_form(status.name) if can_run else ''}"
        "</section>"
    )


def _failing(status: SourceStatus, now: dt.datetime) -> str:
    if not status.failing_total:
        return ""
    rows = "".join(
        f"<tr><td>{_e(doc['title'] or doc['ref_id'])}<br><small>{_e(doc['ref_id'])}</small></td>"
        f'<td class="error">{_e(doc["error"])}</td>'
        f"<td>{_when(doc['since'], now)}</td></tr>"
        for doc in status.failing
    )
    more = status.failing_total - len(status.failing)
    tail = f"<p><small>… and {more} more (syncd status --json)</small></p>" if more > 0 else ""
    return (
        f"<h3>{_e(status.failing_total)} failing</h3><table><thead><tr><th>Document</th>"
        f"<th>Reason</th><th>Since</th></tr></thead><tbody>{rows}</tbody></table>{tail}"
    )


def _form(name: str) -> str:
    action = "/status/run/" + urllib.parse.quote(name, safe="")
    return (
        f'<form method="post" action="{_e(action)}">'
        f'<input type="password" name="token" autocomplete="off" placeholder="hook secret" '
        f'aria-label="hook secret for {_e(name)}" required><button>Run now</button></form>'
    )
