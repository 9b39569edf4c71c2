"""The publisher: the only code that talks HTTP to Intercom's AI Content API.

One :class:`Publisher` serves one run and may be used from many threads at once: it holds one
pooled ``httpx.Client``, one shared rate-limit budget and one authentication state. Every call
retries what is worth retrying (:mod:`syncd.publisher.retry`) and ends in one of:

* the result;
* :class:`~syncd.publisher.models.PageRejected`: a 4xx for one page, which fails alone;
* :class:`~syncd.publisher.models.RequestRejected`: a 4xx for anything else;
* :class:`~syncd.errors.IntercomAuthError`: a 401 or 403, raised at once and, from then on, by
  every call of every thread without sending anything;
* :class:`~syncd.errors.IntercomUnavailable`: still failing after every retry;
* :class:`~syncd.publisher.models.RequestInterrupted`: the run is stopping and the request
  was abandoned (see :mod:`syncd.net.deadline`), or not retried.

``timeout`` bounds each request as a whole, from connecting to the last byte of the answer,
however slowly a server trickles it (:class:`~syncd.net.deadline.DeadlineTransport`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

import structlog

from syncd import __version__, metrics
from syncd.errors import IntercomAuthError, IntercomUnavailable
from syncd.net.retry import RetryPolicy, retrying
from syncd.publisher import answers
from syncd.publisher.models import RemotePage, RequestInterrupted, error_of
from syncd.publisher.ratelimit import RateBudget
from syncd.render.content import Payload
from syncd.runtime.resources import Closing

if TYPE_CHECKING:
    import httpx

    from syncd.net.http import Direct

# httpx and the retry policy built on its exceptions are imported by the first request, not
# here: a run where nothing changed sends none, and they cost ~20 ms to import. The methods
# that need them import syncd.publisher.retry, which imports httpx (through syncd.net.http).

log = structlog.get_logger("syncd.publisher")

T = TypeVar("T")
SOURCES = "/ai/content_import_sources"
PAGES = "/ai/external_pages"
PER_PAGE = 150  # the largest page Intercom's list endpoints serve
# Back-off between attempts (seconds): first wait, longest wait, jitter.
WAIT_INITIAL, WAIT_MAX, WAIT_JITTER = 0.25, 15.0, 0.5


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class Publisher(Closing):
    """Writes pages of content import sources to Intercom; see the module docstring."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        api_version: str = "2.14",
        max_concurrency: int = 8,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = 8,
        retry_deadline: float = 300.0,
        stop: threading.Event | None = None,
    ) -> None:
        # The client is built on first use too: its SSL context costs another ~40 ms.
        self._base_url = base_url.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Intercom-Version": api_version,
            "User-Agent": f"syncd/{__version__}",
        }
        self._timeout = timeout
        self._max_concurrency = max_concurrency
        self._transport = transport
        self._stop = stop
        self._client: httpx.Client | None = None
        self._direct: Direct | None = None  # built with the client, on its transport
        self._closed = False
        self._client_lock = threading.Lock()
        self._budget = RateBudget()
        self._retry = RetryPolicy(
            attempts=max_attempts,
            total_seconds=retry_deadline,
            wait_initial=WAIT_INITIAL,
            wait_max=WAIT_MAX,
            wait_jitter=WAIT_JITTER,
        )
        self._lock = threading.Lock()
        self._source_lock = threading.Lock()
        self._requests = 0
        self._auth_failure: str | None = None
        #: Stored source ids Intercom answered 404 for: whatever id replaces one (a restarted
        #: stand-in numbers its sources from 1 again), its pages are gone.
        self.vanished: set[int] = set()

    # Lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections; the publisher sends nothing afterwards."""
        with self._client_lock:
            self._closed = True
            if self._client is not None:
                self._client.close()

    @property
    def _http(self) -> httpx.Client:
        """The pooled client, built by the first caller (many threads may ask at once)."""
        client = self._client
        if client is not None:
            return client
        with self._client_lock:
            if self._closed:
                raise RuntimeError("the publisher is closed")
            if self._client is None:
                self._client = self._new_client()
            return self._client

    def _new_client(self) -> httpx.Client:
        from syncd.net import http

        wire = self._transport or http.network(
            timeout=self._timeout, stop=self._stop, max_connections=self._max_concurrency
        )
        client = http.client(
            timeout=self._timeout,
            transport=wire,
            max_connections=self._max_concurrency,
            base_url=self._base_url,
            headers=self._headers,
        )
        self._direct = http.Direct(client, wire, (SOURCES, PAGES))
        return client

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far (answered or not)."""
        with self._lock:
            return self._requests

    # Content import sources -----------------------------------------------------------------

    def ensure_source(
        self,
        *,
        stored_id: int | None,
        url: str,
        status: Literal["active", "deactivated"] = "active",
    ) -> int:
        """The id of the API content import source for ``url``, created only if none exists.

        A stored id that still exists is kept (its url and status updated if they differ).
        Otherwise an API source with the same url (ignoring a trailing slash) is reused, so a
        lost state database never leads to a duplicate source.
        """
        with self._source_lock:
            if stored_id is not None:
                self.vanished.discard(stored_id)  # a number found again is ours again
                operation = f"get content import source {stored_id}"
                response = self._call(operation, "GET", f"{SOURCES}/{stored_id}")
                if response.status_code == 404:
                    log.info("publish.source_vanished", source_id=stored_id, url=url)
                    self.vanished.add(stored_id)
                else:
                    source = answers.body_of(response, operation)
                    answers.integer_id(source, response, operation)
                    if source.get("sync_behavior") == "api":
                        return self._align_source(source, url, status)
            found = self._find_source(url)
            if found is not None:
                return self._align_source(found, url, status)
            return self._create_source(url, status)

    def _find_source(self, url: str) -> dict[str, Any] | None:
        for source in self._paginate("list content import sources", SOURCES):
            if source.get("sync_behavior") == "api" and _same_url(str(source.get("url")), url):
                return source
        return None

    def _align_source(self, source: dict[str, Any], url: str, status: str) -> int:
        source_id = int(source["id"])  # checked when the answer was read
        if source.get("url") != url or source.get("status") != status:
            operation = f"update content import source {source_id}"
            body = {"sync_behavior": "api", "url": url, "status": status}
            answers.body_of(
                self._call(operation, "PUT", f"{SOURCES}/{source_id}", json=body), operation
            )
            log.info("publish.source_updated", source_id=source_id, url=url, status=status)
        return source_id

    def _create_source(self, url: str, status: str) -> int:
        operation = "create content import source"
        body = {"sync_behavior": "api", "url": url, "status": status}

        def attempt(number: int) -> int:
            # A create whose answer was lost may still have happened: look before retrying.
            if number > 1 and (found := self._find_source(url)) is not None:
                return self._align_source(found, url, status)
            response = self._send(operation, "POST", SOURCES, json=body)
            # Not retried when malformed: the source may exist now, and the next run finds it.
            source_id = answers.integer_id(
                answers.body_of(response, operation), response, operation
            )
            log.info("publish.source_created", source_id=source_id, url=url)
            return source_id

        return self._retrying(operation, attempt)

    # External pages -------------------------------------------------------------------------

    def upsert_page(self, *, source_id: int, payload: Payload) -> str:
        """Create or update the page (source_id, external_id); returns Intercom's page id."""
        # Encoded once (as httpx encodes json=), not again on a retry.
        body = json.dumps(
            payload.request_body(source_id), ensure_ascii=False, separators=(",", ":")
        ).encode()
        operation = f"upsert page {payload.external_id!r}"
        response = self._call(operation, "POST", PAGES, content=body)
        written = answers.body_of(response, operation, page=payload.external_id)
        return answers.object_id(written, response, operation)

    def delete_page(self, page_id: str) -> None:
        """Delete one page by Intercom id; a page already gone is not an error."""
        operation = f"delete page {page_id}"
        response = self._call(operation, "DELETE", f"{PAGES}/{quote(page_id, safe='')}")
        if response.status_code != 404:
            answers.body_of(response, operation, page=page_id)

    def get_page_html(self, page_id: str) -> str | None:
        """The HTML Intercom holds for a page (for dry-run diffs); None when it is gone."""
        operation = f"get page {page_id}"
        response = self._call(operation, "GET", f"{PAGES}/{quote(page_id, safe='')}")
        if response.status_code == 404:
            return None
        html = answers.body_of(response, operation, page=page_id).get("html")
        return html if isinstance(html, str) else None

    def list_pages(self, source_id: int | None = None) -> Iterator[RemotePage]:
        """Every external page of the workspace, or only those of ``source_id``."""
        for item in self._paginate("list external pages", PAGES):
            if "id" not in item or "source_id" not in item:
                continue
            try:
                page = RemotePage.from_json(item)
            except (TypeError, ValueError):
                raise answers.UnexpectedAnswer(
                    f"list external pages: GET {PAGES} listed a page with an id or source_id"
                    f" that is not a number or a string: {str(item)[:200]}"
                ) from None
            if source_id is None or page.source_id == source_id:
                yield page

    # HTTP -----------------------------------------------------------------------------------

    def _paginate(self, operation: str, path: str) -> Iterator[dict[str, Any]]:
        """Items of a list endpoint, every page of it (see :func:`answers.paginate`)."""
        return answers.paginate(
            lambda url, params: self._call(operation, "GET", url, params=params),
            self._is_ours,
            operation,
            path,
            per_page=PER_PAGE,
        )

    def _is_ours(self, url: str) -> bool:
        """Whether a link points at our API host (the token must not go anywhere else)."""
        base = self._http.base_url
        target = base.join(url)
        return (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)

    def _call(self, operation: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; returns any answer that is neither retryable nor 401/403."""
        return self._retrying(operation, lambda _: self._send(operation, method, url, **kwargs))

    def _retrying(self, operation: str, attempt: Callable[[int], T]) -> T:
        from syncd.publisher import retry

        # isort: split
        import httpx

        from syncd.net.deadline import Interrupted

        self._check_auth()
        number = 0

        def counted(attempt_number: int) -> T:
            nonlocal number
            number = attempt_number
            return attempt(attempt_number)

        def worth_retrying(exc: Exception) -> bool:
            # A stopping run does not wait out a back-off for a request it would abandon.
            return isinstance(exc, retry.RETRYABLE) and not self._stopping()

        def before_retry(attempt_number: int, exc: Exception) -> None:
            reason = retry.reason(exc)
            metrics.RETRIES.labels(reason=reason).inc()
            retry.log_retry(log, operation, attempt_number, reason, retry.detail(exc))

        try:
            return retrying(
                counted, policy=self._retry, retry_on=worth_retrying, before_retry=before_retry
            )
        except Interrupted as exc:
            raise RequestInterrupted(f"{operation}: {exc}") from None
        except retry.RETRYABLE as exc:
            if self._stopping():
                raise RequestInterrupted(f"{operation}: not retried, the run is stopping") from exc
            if isinstance(exc, retry.RetryableStatus):
                raise IntercomUnavailable(
                    f"{operation}: Intercom still answered HTTP {exc.status}"
                    f" after {number} attempts"
                ) from None
            raise IntercomUnavailable(
                f"{operation}: no answer from Intercom after {number} attempts"
                f" (last error: {retry.detail(exc)})"
            ) from exc
        except httpx.HTTPError as exc:  # not worth retrying (a decoding error, a bad URL)
            raise IntercomUnavailable(f"{operation}: {retry.detail(exc)}") from exc

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def _send(self, operation: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request through the shared budget; raises RetryableStatus or transport errors."""
        from syncd.publisher import retry

        self._budget.acquire()
        try:
            self._check_auth()  # another thread may have failed while this one waited
            client = self._http  # built by the first request; refused once closed
        except BaseException:
            self._budget.cancel()
            raise
        with self._lock:
            self._requests += 1
        try:
            if url.startswith("/") and all(key == "content" for key in kwargs):
                # A path of the API with at most an encoded body: the direct way, cheaper.
                assert self._direct is not None  # built with the client
                response = self._direct.send(method, url, kwargs.get("content"))
            else:  # query parameters, a `next` link, json=
                response = client.request(method, url, **kwargs)
        except BaseException:
            self._budget.release(None, None)
            metrics.INTERCOM_REQUESTS.labels(method=method, status="error").inc()
            raise
        status = response.status_code
        self._budget.release(response.headers, status)
        metrics.INTERCOM_REQUESTS.labels(method=method, status=str(status)).inc()
        if status in (401, 403):
            self._fail_auth(operation, response)
        if retry.is_retryable(status):
            if status == 429:
                log.info("publish.rate_limited", operation=operation)
            raise retry.RetryableStatus(status)
        return response

    # Authentication -------------------------------------------------------------------------

    def _fail_auth(self, operation: str, response: httpx.Response) -> None:
        code, _ = error_of(response)
        message = (
            f"Intercom refused the access token (HTTP {response.status_code} {code} on"
            f" {operation}). Check that the token is valid and not revoked, that it belongs to"
            " a workspace in the configured region (or intercom.base_url), and that the app"
            " has the permission to manage AI content."
        )
        with self._lock:
            if self._auth_failure is None:
                log.error("publish.auth_failed", status=response.status_code, code=code)
                self._auth_failure = message
        raise IntercomAuthError(message)

    def _check_auth(self) -> None:
        with self._lock:
            failure = self._auth_failure
        if failure is not None:
            raise IntercomAuthError(failure)
