"""HTTP to one Confluence site: authentication, bounded retries, paging, errors in words.

The vocabulary:

site
    The base URL the options name: ``https://acme.atlassian.net/wiki`` on Cloud, the base URL
    with any context path (``https://wiki.example.com/confluence``) on Data Center. Every
    path here is relative to it (``/rest/api/...``, ``/api/v2/...``).

transient failure
    HTTP 429, 503 and other 5xx, a timeout or a dropped connection: asked again within
    :class:`RetryPolicy`. A ``Retry-After`` is honoured up to :attr:`RetryPolicy.max_wait`;
    a longer one (Data Center answers a user whom the admin *blocked* with
    ``Retry-After: 9223372036854775807``) is reported at once as :class:`RateLimited`, never
    slept.

refused
    401 and 403: the site does not accept the credentials (expired or revoked API token,
    wrong e-mail, personal access token of another site) or the account may not read. Never
    retried: a refusal asked again a hundred times is a lockout, not a recovery.

The errors are :class:`~syncd.connectors.base.SourceUnavailable` (a listing that meets them
deletes nothing): :class:`SiteRefused`, :class:`RateLimited`, :class:`SiteUnavailable`.
:class:`NotFound` (404) is left to the caller: a page gone, or one we may no longer see.
Messages name the site and never carry the token or the e-mail's password.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import structlog

from syncd.connectors.base import ConnectorError, SourceUnavailable
from syncd.net.http import TRANSPORT_ERRORS, client, describe
from syncd.net.retry import RetryPolicy, Verdict, retry_after, retrying

log = structlog.get_logger(__name__)

USER_AGENT = "syncd-confluence-connector/1"
MAX_WAIT = 60.0  # the longest Retry-After slept; a longer one is reported
_TRANSIENT = {429, 502, 503, 504}

__all__ = ["MAX_WAIT", "NotFound", "RateLimited", "RetryPolicy", "SiteClient", "SiteRefused"]


class SiteRefused(SourceUnavailable):
    """401/403: the site refuses the credentials or the account may not read."""


class RateLimited(SourceUnavailable):
    """The site asks us to wait far longer than we would (an admin's block, usually)."""


class SiteUnavailable(SourceUnavailable):
    """Transient failures outlasted the retry policy."""


class BadRequest(SourceUnavailable):
    """400: the site refused the request as malformed (Data Center's attachment search does so
    at random when paged past its first answer)."""


class NotFound(ConnectorError):
    """404: the content does not exist, or the account may not see it (Confluence says both)."""


class _Transient(Exception):
    def __init__(self, what: str, wait: float | None) -> None:
        super().__init__(what)
        self.wait = wait


def what_to_check(cloud: bool) -> str:
    """What a refusal (401/403) asks the operator to check."""
    if cloud:
        return (
            "check `email` and `token` (Cloud API tokens expire within a year: make a new one"
            " at id.atlassian.com > Security > API tokens) and that the account may view the"
            " spaces"
        )
    return (
        "check `token` (a personal access token made on this site, not expired) and that its"
        " user may view the spaces"
    )


def auth_header(email_address: str | None, token: str | None) -> str | None:
    """Basic with the e-mail (a Cloud API token), Bearer without (a Data Center PAT)."""
    if token is None:
        return None
    if email_address:
        pair = f"{email_address}:{token}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")
    return f"Bearer {token}"


class SiteClient:
    """GETs of one Confluence site's REST resources, as JSON objects."""

    def __init__(
        self,
        site: str,
        *,
        authorization: str | None,
        timeout: float,
        what_to_check: str,
        retry: RetryPolicy | None = None,
        max_wait: float = MAX_WAIT,
        transport: httpx.BaseTransport | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        self.site = site.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.max_wait = max_wait
        self.requests = 0  # made, retries included: what the benchmarks count
        self.base: str | None = None  # the last ``_links.base`` the site answered with
        self._what_to_check = what_to_check
        self._client = client(
            timeout=timeout,
            stop=stop,
            transport=transport,
            headers=headers,
            follow_redirects=False,  # a redirect to a login page is not an answer
        )
        split = urlsplit(self.site)
        self._origin = urlunsplit((split.scheme, split.netloc, "", "", ""))

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close()

    def url(self, path: str, params: Mapping[str, str | int] | None = None) -> str:
        """An absolute URL of ``path`` under the site (or the site's origin for ``/wiki/...``)."""
        if path.startswith(("http://", "https://")):
            base = path
        elif self.site.endswith("/wiki") and path.startswith("/wiki/"):
            base = self._origin + path  # Cloud v2 next links already carry /wiki
        else:
            base = self.site + path
        if not params:
            return base
        return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        """The JSON object at ``path``; the errors of the module docstring."""
        url = self.url(path, params)

        def retry_on(exc: Exception) -> Verdict:
            if isinstance(exc, TRANSPORT_ERRORS):
                return True
            if isinstance(exc, _Transient):
                return True if exc.wait is None else exc.wait
            return False

        def before_retry(number: int, exc: Exception) -> None:
            log.warning("confluence.retry", site=self.site, attempt=number, error=describe(exc))

        try:
            return retrying(
                lambda _: self._once(url),
                policy=self.retry,
                retry_on=retry_on,
                before_retry=before_retry,
            )
        except (_Transient, httpx.HTTPError) as exc:
            raise SiteUnavailable(
                f"Confluence at {self.site} kept failing ({describe(exc)})"
                f" after up to {self.retry.attempts} attempts"
            ) from exc

    def _once(self, url: str) -> dict[str, Any]:
        self.requests += 1
        response = self._client.get(url)
        status = response.status_code
        limits = {k: v for k, v in response.headers.items() if "ratelimit" in k.lower()}
        if limits:
            log.debug("confluence.rate_limit_headers", site=self.site, **limits)
        if status in _TRANSIENT or status >= 500:
            wait = retry_after(response.headers)
            if wait is not None and wait > self.max_wait:
                raise RateLimited(
                    f"Confluence at {self.site} answered HTTP {status} asking to wait"
                    f" {_duration(wait)} (Retry-After); not waiting that long. A Data Center"
                    " administrator may have set this account's rate limit to Block"
                    " (General configuration > Rate limiting)"
                )
            raise _Transient(f"HTTP {status}", wait)
        if status in (401, 403):
            raise SiteRefused(
                f"Confluence at {self.site} refused the request (HTTP {status});"
                f" {self._what_to_check}"
            )
        if status == 404:
            raise NotFound(f"{urlsplit(url).path}: not found on {self.site}")
        if 300 <= status < 400:
            raise SiteRefused(
                f"Confluence at {self.site} redirected a REST request (HTTP {status}) to"
                f" {response.headers.get('location', 'elsewhere')}; check that `site` is the"
                " base URL of the site, with its context path"
            )
        if status == 400:
            raise BadRequest(f"Confluence at {self.site} answered HTTP 400 for {url}")
        if status >= 400:
            raise SourceUnavailable(f"Confluence at {self.site} answered HTTP {status} for {url}")
        try:
            answer = response.json()
        except ValueError:
            raise SourceUnavailable(
                f"{self.site} did not answer JSON; is `site` the Confluence base URL?"
            ) from None
        if not isinstance(answer, dict):
            raise SourceUnavailable(f"{self.site} answered JSON that is not an object")
        base = (answer.get("_links") or {}).get("base")
        if isinstance(base, str) and base.startswith(("http://", "https://")):
            self.base = base.rstrip("/")
        return answer

    def download(self, path: str, limit: int) -> bytes | None:
        """The bytes of a file of the site, or None past ``limit`` bytes; NotFound if gone.

        Redirects are followed (Cloud hands files to its media service), at most three, and
        the credentials go only to the site's own origin: never to another host.
        """
        url = self.url(path)
        try:
            for _ in range(4):
                found = self._fetch_file(url, limit)
                if not isinstance(found, str):
                    return found
                url = found
        except httpx.HTTPError as exc:
            raise SiteUnavailable(f"Confluence at {self.site}: {describe(exc)}") from exc
        raise ConnectorError(f"Confluence at {self.site}: a download redirected too often")

    def _fetch_file(self, url: str, limit: int) -> bytes | str | None:
        """One GET of a download: its bytes, None past ``limit``, or where it redirects."""
        request = self._client.build_request("GET", url, headers={"Accept": "*/*"})
        if _origin(url) != self._origin:
            request.headers.pop("Authorization", None)
        self.requests += 1
        response = self._client.send(request, stream=True)
        try:
            status = response.status_code
            if status in (301, 302, 303, 307, 308) and "location" in response.headers:
                return str(response.url.join(response.headers["location"]))
            if status in (401, 403):
                raise SiteRefused(
                    f"Confluence at {self.site} refused a download (HTTP {status});"
                    f" {self._what_to_check}"
                )
            if status == 404:
                raise NotFound(f"{urlsplit(url).path}: not found on {self.site}")
            if status >= 300:
                raise ConnectorError(f"Confluence at {self.site} answered HTTP {status}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                return None
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            response.close()

    def cursor_pages(
        self, path: str, params: Mapping[str, str | int]
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of results of a cursor-paged listing, following ``_links.next`` exactly."""
        answer = self.get(path, params)
        while True:
            yield [item for item in answer.get("results", []) if isinstance(item, dict)]
            following = (answer.get("_links") or {}).get("next")
            if not following:
                return
            answer = self.get(self._next_url(answer, str(following)))

    def offset_pages(
        self, path: str, params: Mapping[str, str | int]
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of a v1 listing: cursors followed as given, offsets recomputed.

        Data Center caps ``limit`` silently and may under-count the ``start`` of its next link,
        announce a next page after the end, or answer past the end with records already seen:
        the next start is the previous one plus what came, and a page of nothing new ends it.
        """
        query: dict[str, str | int] = {**params, "start": 0}
        answer = self.get(path, query)
        seen: set[str] = set()
        while True:
            results = [item for item in answer.get("results", []) if isinstance(item, dict)]
            fresh = [item for item in results if str(item.get("id")) not in seen]
            if not fresh:
                return
            seen.update(str(item.get("id")) for item in fresh)
            yield fresh
            following = (answer.get("_links") or {}).get("next")
            if not following:
                return
            if "cursor=" in str(following):
                answer = self.get(self._next_url(answer, str(following)))
                continue
            query["start"] = int(query["start"]) + len(results)
            answer = self.get(path, query)

    def _next_url(self, answer: Mapping[str, Any], following: str) -> str:
        """A next link as an absolute URL: v1 links are relative to ``_links.base``."""
        if following.startswith(("http://", "https://")):
            return following
        if following.startswith("/wiki/"):
            return self.url(following)
        base = str((answer.get("_links") or {}).get("base") or self.site).rstrip("/")
        # Keep our own scheme and host: a proxy may rewrite what the site believes it is.
        split, ours = urlsplit(base), urlsplit(self.site)
        path = split.path or ours.path
        return urlunsplit((ours.scheme, ours.netloc, path, "", "")) + following


def _origin(url: str) -> str:
    split = urlsplit(url)
    return urlunsplit((split.scheme, split.netloc, "", "", ""))


def _duration(seconds: float) -> str:
    if seconds > 10 * 365 * 86400:
        return "forever"
    if seconds >= 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds:.0f} s"
