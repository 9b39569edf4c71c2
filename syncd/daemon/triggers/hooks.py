"""``POST /hooks/<source>``: CI or a Git host's webhook asks for a run of a source now.

Served by the daemon's HTTP server when ``server.hook_secret`` is set (without it the path
does not exist). A call is accepted with any one of these proofs of the secret, each compared
in constant time (:func:`hmac.compare_digest`):

``X-Hub-Signature-256: sha256=<hex>``
    The HMAC-SHA256 of the request body keyed with the secret, as GitHub signs a webhook
    whose *Secret* is set.
``X-Gitlab-Token: <secret>``
    The webhook's *Secret token*, as GitLab sends it.
``webhook-signature: v1,<base64>`` (with ``webhook-id`` and ``webhook-timestamp``)
    The Standard Webhooks signature that GitLab sends for a webhook with a *Signing token*:
    the HMAC-SHA256 of ``<id>.<timestamp>.<body>``, keyed with the token (a ``whsec_`` token
    is its base64-decoded key). A timestamp more than :data:`SIGNATURE_TOLERANCE` seconds
    away from now is refused, so a captured call cannot be replayed later.
``X-Hub-Signature: <hex>`` or ``sha256=<hex>``
    The HMAC-SHA256 of the body keyed with the secret, as a Confluence Data Center webhook
    with a *Secret* signs it. A GitHub ``sha1=`` value here is refused: GitHub sends its
    SHA-256 in ``X-Hub-Signature-256``, which is checked first.
``Authorization: Bearer <secret>``
    For a CI job or ``curl``.

A Confluence delivery (signed with ``X-Hub-Signature``) names the content it concerns
(``{"event": "page_updated", "page": {"id": 1015809}}``; ``blog`` for blog posts): the run it
asks for is of that page alone, which is looked up again, so every event is only a hint (an
edit, a move, a trash, a restriction all read the same). A delivery whose
``X-Atlassian-Webhook-Identifier`` was seen among the last :data:`REMEMBERED` is answered
200 ``duplicate`` without a run: Confluence keeps the identifier across its retries.

Answers:

* 202 ``run requested``: a full run of the source (a Confluence delivery: of the page it
  names) starts now, or, if it is running, right after (requests during a run coalesce into
  one follow-up);
* 200 ``pong`` for GitHub's ``ping`` event (sent when a webhook is created): no run;
* 401 when no proof or a wrong one was given, logged as ``hooks.refused`` with the source,
  the reason and the caller's address, never with what was sent;
* 404 for a source that is not configured (only after authentication: strangers learn no
  source names); 413 for a body over :data:`MAX_BODY` bytes, 408 for one not sent within
  :data:`BODY_TIMEOUT` seconds. A caller that disconnects mid-body is logged at INFO
  (``hooks.disconnected``), without a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from syncd import metrics
from syncd.config.sections import MIN_HOOK_SECRET
from syncd.connectors.base import EVERYTHING, ChangeSet
from syncd.errors import ConfigError

log = structlog.get_logger(__name__)

MIN_SECRET = MIN_HOOK_SECRET  # checked when the configuration is loaded, and here again
SIGNATURE_TOLERANCE = 300  # seconds, as the Standard Webhooks libraries allow
MAX_BODY = 5 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB; pushes are far smaller
REMEMBERED = 1024  # Confluence delivery identifiers kept to recognise a retried delivery
_CONTENT_KEYS = ("page", "blog", "blogpost", "content")
RequestRun = Callable[[str, ChangeSet], bool]
"""Asks for a run of the named source (EVERYTHING: a full run); False when no such source."""
BODY_TIMEOUT = 30.0  # seconds to send the body once the request head arrived
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def authenticate(  # noqa: PLR0911 - one answer per header and outcome reads best
    secret: bytes, headers: dict[str, str], body: bytes
) -> str | None:
    """None when a header proves the secret; otherwise why the call is refused (no secret)."""
    signature = headers.get("x-hub-signature-256")
    if signature is not None:
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature.strip().encode(), expected.encode()):
            return None
        return "bad X-Hub-Signature-256 signature"
    confluence = headers.get("x-hub-signature")
    if confluence is not None:
        value = confluence.strip()
        if value.lower().startswith("sha1="):
            return "X-Hub-Signature with SHA-1 is not accepted"
        value = value.removeprefix("sha256=")
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(value.lower().encode(), expected.encode()):
            return None
        return "bad X-Hub-Signature signature"
    standard = headers.get("webhook-signature")
    if standard is not None:
        return _standard_webhook(secret, headers, body, standard)
    token = headers.get("x-gitlab-token")
    if token is not None:
        return None if hmac.compare_digest(token.encode(), secret) else "wrong X-Gitlab-Token"
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return "Authorization is not a Bearer token"
        if hmac.compare_digest(credentials.strip().encode(), secret):
            return None
        return "wrong Bearer token"
    return (
        "no X-Hub-Signature-256, X-Hub-Signature, webhook-signature, X-Gitlab-Token or"
        " Authorization header"
    )


def _standard_webhook(
    secret: bytes, headers: dict[str, str], body: bytes, signatures: str
) -> str | None:
    """Check a Standard Webhooks signature (GitLab's signing token); None when it holds."""
    delivery, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    # ASCII digits only, and few: "²" passes isdigit() and 5,000 digits exceed int()'s limit.
    if _TIMESTAMP.fullmatch(stamp) is None or abs(time.time() - int(stamp)) > SIGNATURE_TOLERANCE:
        return "webhook-timestamp missing or too far from now"
    key = secret
    if secret.startswith(b"whsec_"):
        try:
            key = base64.b64decode(secret.removeprefix(b"whsec_"), validate=True)
        except binascii.Error:
            key = secret
    signed = hmac.new(key, f"{delivery}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(signed)
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return None
    return "bad webhook-signature"


class HookEndpoint:
    """Serves ``POST /hooks/{source}`` (:meth:`handle`)."""

    def __init__(self, secret: str, request_run: RequestRun) -> None:
        """ConfigError (``server.hook_secret``) when the secret is shorter than MIN_SECRET."""
        if len(secret) < MIN_SECRET:
            raise ConfigError(
                f"use a hook secret of at least {MIN_SECRET} characters", key="server.hook_secret"
            )
        self._secret = secret.encode()
        self._request_run = request_run
        self._deliveries: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        """Authenticate the call, then ask for a run of the source (see the module docstring)."""
        source = str(request.path_params["source"])
        shown = source[:64]  # what is logged of a name a stranger chose
        caller = request.client.host if request.client else None
        body = await _read_body(request, shown, caller)
        if isinstance(body, Response):
            return body
        headers = {key.lower(): value for key, value in request.headers.items()}
        reason = authenticate(self._secret, headers, body)
        if reason is not None:
            log.warning("hooks.refused", source=shown, reason=reason, caller=caller)
            metrics.HOOKS_REFUSED.inc()
            return PlainTextResponse(
                "unauthorized\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        if headers.get("x-github-event") == "ping":
            return PlainTextResponse("pong\n")
        changes, event = EVERYTHING, _event(headers)
        if "x-hub-signature" in headers and "x-hub-signature-256" not in headers:
            if self._seen(headers.get("x-atlassian-webhook-identifier")):
                return PlainTextResponse("duplicate\n")
            changes, event = confluence_changes(bytes(body))
        if not self._request_run(source, changes):
            return PlainTextResponse(f"no source named {source!r}\n", status_code=404)
        log.info(
            "hooks.accepted",
            source=source,
            caller=caller,
            kind=event,
            named=sorted(changes.changed) or None,
        )
        return PlainTextResponse("run requested\n", status_code=202)

    def _seen(self, delivery: str | None) -> bool:
        """Whether this delivery identifier came before (and remember it)."""
        if not delivery:
            return False
        with self._lock:
            if delivery in self._deliveries:
                return True
            self._deliveries[delivery] = None
            while len(self._deliveries) > REMEMBERED:
                self._deliveries.popitem(last=False)
        return False


def confluence_changes(body: bytes) -> tuple[ChangeSet, str | None]:
    """The change set a Confluence webhook's payload names, and its event.

    The page (or blog post) id, named changed *and* deleted: the run looks it up and syncs
    it if it is still published, removes it if not. A payload naming no content (a space
    event, a label) asks for a full run.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        return EVERYTHING, None
    if not isinstance(payload, dict):
        return EVERYTHING, None
    event = payload.get("event")
    for key in _CONTENT_KEYS:
        content = payload.get(key)
        if isinstance(content, dict):
            found = content.get("id") or content.get("idAsString")
            if isinstance(found, int | str) and str(found).isdigit():
                named = frozenset({str(found)})
                return ChangeSet(named, named), str(event) if event else key
    return EVERYTHING, str(event) if event else None


async def _read_body(request: Request, shown: str, caller: str | None) -> bytes | Response:
    """The body, or the answer when it is too large, too slow, or its sender went away."""
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY:
                    return _refused(shown, "body too large", caller, 413, "payload too large")
    except TimeoutError:
        return _refused(shown, "body not sent in time", caller, 408, "request timeout")
    except ClientDisconnect:
        # The caller went away mid-body: nothing to answer, nothing worth a traceback.
        log.info("hooks.disconnected", source=shown, caller=caller)
        return Response(status_code=400)
    return bytes(body)


def _refused(source: str, reason: str, caller: str | None, status: int, text: str) -> Response:
    log.warning("hooks.refused", source=source, reason=reason, caller=caller)
    metrics.HOOKS_REFUSED.inc()
    return PlainTextResponse(f"{text}\n", status_code=status)


def _event(headers: dict[str, str]) -> str | None:
    return headers.get("x-github-event") or headers.get("x-gitlab-event")
