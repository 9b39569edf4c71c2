"""A small client for DokuWiki's remote API: which dialect, login, calls, and what answers mean.

The vocabulary:

dialect
    DokuWiki 2024-02-06 "Kaos" and later answer JSON-RPC at ``lib/exe/jsonrpc.php`` with
    ``core.*`` methods; 2022-07-31 "Igor" and older only XML-RPC at ``lib/exe/xmlrpc.php`` with
    ``wiki.*`` and ``dokuwiki.*`` methods. :meth:`DokuWikiApi.connect` asks the JSON-RPC
    endpoint for its API version first (Igor answers HTTP 404) and uses the newer where it
    exists.

session
    ``dokuwiki.login`` / ``core.login`` sets two cookies (the PHP session and the ``DW…`` auth
    cookie); they live in the :class:`httpx.Client`. HTTP basic auth is never used: DokuWiki
    cuts its header at every ``:``, so a password holding one fails, and it ignores basic auth
    whenever an auth cookie is sent. The password travels in the POST body only.

empty answer
    Igor reports every API error as a *successful* empty struct (``{}``) with HTTP 200: an
    unknown method, a missing page's info, "no recent changes". A wrong password is ``False``,
    a missing page's HTML ``""``. So every answer is type-checked where it is used. What the
    HTTP status says is reliable: 401 not logged in, 403 logged in but not allowed.

The errors, all rooted at :class:`WikiError`::

    WikiError               the wiki answered, but not with what was asked for
    ├── LoginRefused        wrong user name or password; never retried
    ├── NotAllowed          the user may not use the API or read what was asked (401, 403)
    └── WikiUnavailable     timeouts, dropped connections or 5xx outlasted the retries

Messages name the wiki and the user, never the password.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import xmlrpc.client
from typing import Any
from xml.parsers.expat import ExpatError

import httpx
import structlog

from syncd.net import http
from syncd.net.http import TRANSPORT_ERRORS, describe
from syncd.net.retry import RetryPolicy, Verdict, retry_after, retrying

log = structlog.get_logger(__name__)

USER_AGENT = "syncd-dokuwiki-connector/1"
MISSING_PAGE = 121  # DokuWiki's "the requested page does not exist"
GARBLED = "garbled"  # an answer that is not JSON-RPC or XML-RPC (an HTML error page)


class WikiError(Exception):
    """The wiki answered with an error, or with something that is not an answer; ``code``."""

    def __init__(self, message: str, code: int | str = "") -> None:
        super().__init__(message)
        self.code = code


class LoginRefused(WikiError):
    """The wiki refused the configured user name and password."""


class NotAllowed(WikiError):
    """The user may not call the API, or may not read what was asked (HTTP 401 or 403)."""


class WikiUnavailable(WikiError):
    """The wiki kept failing (network, timeouts, 5xx) after every allowed retry."""


class _Transient(Exception):
    """One failed attempt that may succeed later; ``wait`` is the server's Retry-After."""

    def __init__(self, what: str, wait: float | None = None) -> None:
        super().__init__(what)
        self.wait = wait


class DokuWikiApi:
    """One wiki's remote API over one HTTP session; see the module docstring.

    ``base_url`` is the wiki's root (where ``doku.php`` lives), ending in ``/``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        stop: threading.Event | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url
        self.json_rpc = False
        self.api_version: int | None = None
        self.policy = retry or RetryPolicy()
        self.retry = self.policy  # what calls use now: once per call during an outage
        self._client = http.client(
            timeout=timeout,
            stop=stop,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )
        self._credentials: tuple[str, str] | None = None
        self._connected = False

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close()

    @property
    def dialect(self) -> str:
        """``JSON-RPC`` or ``XML-RPC``, for messages."""
        return "JSON-RPC" if self.json_rpc else "XML-RPC"

    def connect(self, username: str | None, password: str | None) -> None:
        """Find the dialect and log in (once); LoginRefused, NotAllowed or WikiError."""
        if self._connected:
            return
        self._detect()
        if username is not None and password is not None:
            self._credentials = (username, password)
            self._login()
        self._connected = True

    def _detect(self) -> None:
        try:
            version = self._with_retries("core.getAPIVersion", {}, json_rpc=True)
        except WikiError as exc:
            if isinstance(exc, WikiUnavailable):
                raise
            version = None
        if isinstance(version, int) and not isinstance(version, bool):
            self.json_rpc, self.api_version = True, version
            return
        try:
            legacy = self._with_retries("dokuwiki.getXMLRPCAPIVersion", {}, json_rpc=False)
        except WikiError as exc:
            if isinstance(exc, WikiUnavailable | NotAllowed) or exc.code == -32605:
                raise
            raise WikiError(
                f"no DokuWiki remote API answers at {self.base_url} (is base_url the folder"
                f" where doku.php lives?): {exc}"
            ) from exc
        if not isinstance(legacy, int) or isinstance(legacy, bool):
            raise WikiError(f"{self.base_url} did not report a DokuWiki API version")
        self.api_version = legacy

    def _login(self) -> None:
        assert self._credentials is not None
        username, password = self._credentials
        self._client.cookies.clear()  # a stale auth cookie makes DokuWiki refuse the call
        method = "core.login" if self.json_rpc else "dokuwiki.login"
        answer = self._call(method, {"user": username, "pass": password}, renew=False)
        if answer is False:
            raise LoginRefused(
                f"the wiki refused the login of {username!r}: wrong user name or password"
            )
        if answer is not True and answer != 0:  # 0: a wiki without ACL, where anyone may read
            raise WikiError(f"the wiki at {self.base_url} answered the login with {answer!r}")
        log.info("dokuwiki.login", base_url=self.base_url, user=username, api=self.dialect)

    def call(self, new: str, legacy: str, params: dict[str, Any]) -> Any:
        """Call ``new`` (JSON-RPC) or ``legacy`` (XML-RPC, ``params`` in order); the answer."""
        return self._call(new if self.json_rpc else legacy, params, renew=True)

    def _call(self, method: str, params: dict[str, Any], *, renew: bool) -> Any:
        try:
            return self._with_retries(method, params)
        except WikiError as exc:
            if not renew or exc.code not in {401, GARBLED} or self._credentials is None:
                raise
        # Logged in, yet treated as anonymous (401): the session ended (expiry, a new cookie
        # secret). Kaos answers a login cookie it cannot decrypt with an HTML error page.
        log.info("dokuwiki.session_renewed", base_url=self.base_url)
        self._login()
        return self._with_retries(method, params)

    def get_text(self, url: str) -> str:
        """A page of the wiki itself (``doku.php``), as the logged-in user; WikiError if not 200."""
        try:
            response = self._client.get(url)
        except httpx.HTTPError as exc:
            raise WikiUnavailable(f"cannot read {url}: {describe(exc)}") from exc
        if response.status_code != 200:
            raise WikiError(f"{url} answered HTTP {response.status_code}", response.status_code)
        return response.text

    def outage(self, happening: bool) -> None:
        """During an outage every call is tried once; after it, retried by the policy again."""
        self.retry = dataclasses.replace(self.policy, attempts=1) if happening else self.policy

    def _with_retries(
        self, method: str, params: dict[str, Any], *, json_rpc: bool | None = None
    ) -> Any:
        def attempt(_: int) -> Any:
            if self.json_rpc if json_rpc is None else json_rpc:
                return self._post_json(method, params)
            return self._post_xml(method, tuple(params.values()))

        def retry_on(exc: Exception) -> Verdict:
            if isinstance(exc, _Transient):
                return True if exc.wait is None else exc.wait
            return isinstance(exc, TRANSPORT_ERRORS)

        def before_retry(number: int, failure: Exception) -> None:
            log.warning(
                "dokuwiki.retry",
                base_url=self.base_url,
                method=method,
                attempt=number,
                error=describe(failure),
            )

        try:
            return retrying(
                attempt, policy=self.retry, retry_on=retry_on, before_retry=before_retry
            )
        except (_Transient, httpx.HTTPError) as exc:
            raise WikiUnavailable(
                f"the wiki at {self.base_url} kept failing ({describe(exc)})"
                f" after up to {self.retry.attempts} attempts"
            ) from exc

    def _check_status(self, response: httpx.Response, method: str) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status}", retry_after(response.headers))
        user = self._credentials[0] if self._credentials else None
        if status == 401:
            who = f"{user!r} is not logged in" if user else "no username is configured"
            raise NotAllowed(f"the wiki refused {method} (HTTP 401): {who}", 401)
        if status == 403:
            raise NotAllowed(
                f"the wiki does not allow {user!r} to call {method} (HTTP 403): the user must"
                " be in the wiki's remoteuser setting and have read access",
                403,
            )

    def _post_json(self, method: str, params: dict[str, Any]) -> Any:
        # Kaos accepts exactly "application/json" (no charset), which httpx sends for json=.
        response = self._client.post(f"{self.base_url}lib/exe/jsonrpc.php/{method}", json=params)
        self._check_status(response, method)
        try:
            answer = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise WikiError(
                f"{method}: the wiki answered HTTP {response.status_code} without JSON", GARBLED
            ) from None
        error = answer.get("error") if isinstance(answer, dict) else None
        if not isinstance(error, dict):
            raise WikiError(f"{method}: the wiki's JSON-RPC answer has no error field")
        code = error.get("code", 0)
        if code:
            raise WikiError(f"{method}: {error.get('message') or 'error'} ({code})", code)
        return answer.get("result")

    def _post_xml(self, method: str, params: tuple[Any, ...]) -> Any:
        body = xmlrpc.client.dumps(params, method, allow_none=True, encoding="utf-8")
        response = self._client.post(
            f"{self.base_url}lib/exe/xmlrpc.php",
            content=body.encode("utf-8"),
            headers={"Content-Type": "text/xml"},
        )
        self._check_status(response, method)
        if response.status_code != 200:
            raise WikiError(
                f"{method}: the wiki answered HTTP {response.status_code}", response.status_code
            )
        try:
            (answer,), _ = xmlrpc.client.loads(response.content, use_builtin_types=False)
        except xmlrpc.client.Fault as fault:
            hint = ""
            if fault.faultCode == -32605:
                hint = " (the wiki's remote API is off: set 'remote' in its configuration)"
            raise WikiError(f"{method}: {fault.faultString}{hint}", fault.faultCode) from None
        except (ExpatError, ValueError):
            raise WikiError(f"{method}: the wiki's answer is not XML-RPC", GARBLED) from None
        return answer
