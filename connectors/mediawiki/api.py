"""A small client for the MediaWiki Action API (``api.php``): sessions, login, bounded retries.

The vocabulary:

action API
    The wiki's ``api.php`` endpoint. Every call here asks for JSON with ``formatversion=2``
    and sends ``maxlag=5``, so a wiki whose database replicas lag behind asks us to wait
    instead of being loaded further (https://www.mediawiki.org/wiki/Manual:Maxlag_parameter).

session
    The cookies MediaWiki sets at login. They live in the :class:`httpx.Client`, so every call
    after :meth:`ActionApi.login` is made as the logged-in user. Once logged in, calls carry
    ``assert=user``: a session that expired mid-run answers ``assertuserfailed`` (and is
    renewed once) instead of silently reading as an anonymous visitor.

transient failure
    An answer worth asking again: the ``maxlag`` error, HTTP 429 or 503 (waiting as long as
    their ``Retry-After`` says), any other 5xx, a timeout or a dropped connection. Retries are
    bounded by a :class:`~syncd.net.retry.RetryPolicy` in attempts *and* total time; a
    ``Retry-After`` that would overrun the remaining time ends the retries at once rather than
    sleeping past the budget (:func:`syncd.net.retry.retrying`).

The errors, all rooted at :class:`WikiError`::

    WikiError               the API answered with an error code (``code`` and ``info``)
    ├── LoginRefused        the wiki refused the credentials; never retried
    └── WikiUnavailable     transient failures outlasted the retry policy

Messages name the wiki and the user, never a password or a token.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

import httpx
import structlog

from syncd.net import http
from syncd.net.retry import RetryPolicy, Verdict, retry_after, retrying

__all__ = [
    "ActionApi",
    "LoginRefused",
    "RetryPolicy",
    "WikiError",
    "WikiUnavailable",
]

log = structlog.get_logger(__name__)

USER_AGENT = "syncd-mediawiki-connector/1 (https://www.mediawiki.org/wiki/API:Etiquette)"
MAXLAG_SECONDS = 5
_RETRY_STATUSES = {429, 503}
# What MediaWiki accepts as a bot password (BotPassword::canonicalizeLoginData, 1.39).
_BOT_PASSWORD = re.compile(r"^[0-9a-w]{32,}$")


class WikiError(Exception):
    """The wiki answered with an error; ``code`` is MediaWiki's error code."""

    def __init__(self, code: str, info: str) -> None:
        super().__init__(f"{info} ({code})" if info else code)
        self.code = code
        self.info = info


class LoginRefused(WikiError):
    """The wiki refused the configured credentials."""


class WikiUnavailable(WikiError):
    """The wiki kept failing (lag, overload, 5xx, network) after every allowed retry."""


class _Transient(Exception):
    """One failed attempt that may succeed later; ``retry_after`` is the server's wish."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.retry_after = retry_after


class ActionApi:
    """One wiki's Action API over one HTTP session.

    ``transport`` lets tests put a fake HTTP server in place of the network; ``retry`` bounds
    how long transient failures are retried.
    """

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float,
        bearer_token: str | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if bearer_token is not None:
            headers["Authorization"] = f"Bearer {bearer_token}"
        self.api_url = api_url
        self.retry = retry or RetryPolicy()
        # ``timeout`` bounds each request as a whole, however slowly the wiki answers.
        self._client = http.client(
            timeout=timeout,
            stop=stop,
            transport=transport,
            headers=headers,
            follow_redirects=True,
        )
        self._credentials: tuple[str, str] | None = None
        self._assert_user = bearer_token is not None

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close()

    def login(self, username: str, password: str) -> None:
        """Log in with a bot password (``Name@app``); LoginRefused names the user and reason."""
        self._assert_user = False  # not logged in yet: asserting it would fail the login
        token_answer = self._call_with_retries(
            "GET", {"action": "query", "meta": "tokens", "type": "login"}
        )
        token = token_answer.get("query", {}).get("tokens", {}).get("logintoken")
        if not isinstance(token, str):
            raise WikiError("badtoken", "the wiki did not hand out a login token")
        answer = self._call_with_retries(
            "POST",
            {"action": "login", "lgname": username, "lgpassword": password, "lgtoken": token},
        )
        result = answer.get("login", {})
        if result.get("result") != "Success":
            reason = result.get("reason") or result.get("result") or "no reason given"
            if isinstance(reason, Mapping):  # errorformat other than bc
                reason = reason.get("text") or reason.get("code") or str(reason)
            hint = ""
            if "@" in username and not _BOT_PASSWORD.match(password):
                # MediaWiki silently treats anything else as the account's main password.
                hint = (
                    "; a bot password is the string of 32 lower-case letters and digits"
                    " that Special:BotPasswords generated"
                )
            raise LoginRefused(
                "login-failed", f"the wiki refused the login of {username!r}: {reason}{hint}"
            )
        self._credentials = (username, password)
        self._assert_user = True
        log.info("mediawiki.login", api_url=self.api_url, user=result.get("lgusername"))

    def get(self, **params: str | int) -> dict[str, Any]:
        """A read call (``action=query``, ``action=parse``...); the JSON answer."""
        return self._call("GET", params)

    def download(self, url: str, limit: int) -> bytes | None:
        """The bytes of a file of the wiki (with this session's login), or None past ``limit``.

        WikiError for an HTTP error; transport errors propagate (not retried: a run later).
        """
        with self._client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise WikiError(
                    f"http-{response.status_code}",
                    f"the wiki answered HTTP {response.status_code} for the file",
                )
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
        return b"".join(chunks)

    def post(self, **params: str | int) -> dict[str, Any]:
        """A call that must be POSTed (``action=login``); the JSON answer."""
        return self._call("POST", params)

    def _call(self, method: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        try:
            return self._call_with_retries(method, params)
        except WikiError as exc:
            if exc.code != "assertuserfailed" or self._credentials is None:
                raise
        # The session expired mid-run (cookie lifetime, wiki restart): renew it once.
        log.info("mediawiki.session_renewed", api_url=self.api_url)
        self.login(*self._credentials)
        return self._call_with_retries(method, params)

    def _call_with_retries(self, method: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        def transient(exc: Exception) -> Verdict:
            if isinstance(exc, http.TRANSPORT_ERRORS):
                return True
            if not isinstance(exc, _Transient):
                return False
            return True if exc.retry_after is None else exc.retry_after

        def before_retry(number: int, exc: Exception) -> None:
            log.warning(
                "mediawiki.retry",
                api_url=self.api_url,
                action=params.get("action"),
                attempt=number,
                error=http.describe(exc),
            )

        try:
            return retrying(
                lambda _: self._once(method, params),
                policy=self.retry,
                retry_on=transient,
                before_retry=before_retry,
            )
        except (_Transient, httpx.TransportError) as exc:
            raise WikiUnavailable(
                "unavailable",
                f"the wiki kept failing ({http.describe(exc)})"
                f" after up to {self.retry.attempts} attempts",
            ) from exc

    def _once(self, method: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        query: dict[str, str | int] = {
            **params,
            "format": "json",
            "formatversion": 2,
            "maxlag": MAXLAG_SECONDS,
        }
        if self._assert_user:
            query.setdefault("assert", "user")
        if method == "POST":
            response = self._client.post(self.api_url, data=query)
        else:
            response = self._client.get(self.api_url, params=query)
        if response.status_code in _RETRY_STATUSES or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}", retry_after(response.headers))
        if response.status_code >= 400:
            raise WikiError(
                f"http-{response.status_code}",
                f"the wiki answered HTTP {response.status_code}",
            )
        try:
            answer = response.json()
        except ValueError:
            raise WikiError(
                "not-json",
                f"{self.api_url} did not answer JSON; is api_url the wiki's api.php address?",
            ) from None
        if not isinstance(answer, dict):
            raise WikiError("not-json", f"{self.api_url} answered JSON that is not an object")
        error = answer.get("error")
        if isinstance(error, Mapping):
            code = str(error.get("code", "unknown"))
            if code == "maxlag":
                wait = retry_after(response.headers)
                raise _Transient(
                    "database lag above maxlag", MAXLAG_SECONDS if wait is None else wait
                )
            raise WikiError(code, str(error.get("info", "")))
        return answer
