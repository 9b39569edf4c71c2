"""Writes: the pool that sends rendered pages to Intercom and records each one sent.

A *write* is one rendered document on its way to Intercom: its payload, the hash recorded
with it, its *action* (``create`` or ``update``, as counted), the renamed-away row whose page
it takes over (*replaces*), the old page it leaves behind (*stale*), and whether it is
*pending*: no page id is known for it yet, so its external id is committed before it is sent.

Writes run on a pool of ``max_concurrency`` threads sharing the publisher's rate budget, and
are handed to it in batches whose first-write intents are committed together. Each write is
recorded once it succeeded (see :mod:`syncd.state.tracker`). A 4xx from Intercom fails its document
alone; any other :class:`~syncd.errors.SyncdError` (auth refused, Intercom down), or a failure
of the state database, is *fatal*: writes not started are dropped, those in flight finish and
are counted (and recorded if the database takes them), and the run raises it. A write is
counted once Intercom answered it, before it is recorded: the run's summary counts what was
sent.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import queue
from typing import Self

from sqlalchemy.exc import SQLAlchemyError

from syncd.connectors.base import DocumentRef
from syncd.errors import SyncdError
from syncd.publisher import PageRejected, RequestInterrupted
from syncd.render import content
from syncd.sync.context import RunContext
from syncd.sync.deletes import Removal

# Writes are handed to the pool in batches whose first-write intents are committed together.
_WRITE_BATCH = 32


@dataclasses.dataclass(frozen=True, slots=True)
class Write:
    """One rendered document to send (see the module docstring)."""

    ref: DocumentRef
    payload: content.Payload
    digest: str
    action: str
    replaces: str | None  # ref id of a renamed-away row whose page this write takes over
    stale: tuple[str, str] | None  # (old external id, its page) this document moved away from
    pending: bool  # no page id is known yet: record the intent before sending
    changed_at: float | None  # when the source changed the document (Document.changed_at)
    restore: bool = False  # puts back a page Intercom lost (syncd.sync.drift): "restored"


class WritePool:
    """The writes of one run: queue, send on the pool, record; :attr:`fatal` stops them."""

    def __init__(self, run: RunContext, pool: cf.ThreadPoolExecutor) -> None:
        self.run = run
        self.pool = pool
        self.fatal: BaseException | None = None
        self._batch: list[Write] = []
        self._inflight: dict[cf.Future[str], Write] = {}
        # Writes put themselves here when done: waiting on this queue is O(1) per write,
        # where concurrent.futures.wait installs a waiter on every future in flight each time.
        self._finished: queue.SimpleQueue[cf.Future[str]] = queue.SimpleQueue()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        """Abandon the writes if the run failed (:meth:`abandon`); shut the pool down."""
        try:
            if exc is not None:
                self.abandon(exc)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def queue(self, write: Write) -> None:
        """Add a write to the batch; a full batch is sent."""
        self._batch.append(write)
        if len(self._batch) >= max(self.run.max_concurrency, _WRITE_BATCH):
            self._submit()

    def finish(self) -> None:
        """Send what is batched (unless a write was fatal), then record every write."""
        if self.fatal is None:
            self._submit()
        self._drain(everything=True)

    def _submit(self) -> None:
        batch, self._batch = self._batch, []
        # The intent is committed before the request leaves: if the process dies after
        # Intercom created the page but before its id was recorded, the next run knows the
        # external id and can find the page again instead of leaving it orphaned.
        pending = [(w.ref.id, w.payload.external_id) for w in batch if w.pending]
        if pending:
            try:
                self.run.tracker.record_pending(pending)
            except SQLAlchemyError as exc:
                self.fatal = self.fatal or exc  # the batch is not sent: nothing to count
                return
        for write in batch:
            future = self.pool.submit(self._upsert, write)
            self._inflight[future] = write
            future.add_done_callback(self._finished.put)
            if len(self._inflight) >= 2 * self.run.max_concurrency:
                self._drain(everything=False)

    def _upsert(self, write: Write) -> str:
        source_id = self.run.source_id
        assert source_id is not None
        return self.run.publisher.upsert_page(source_id=source_id, payload=write.payload)

    def _drain(self, *, everything: bool) -> None:
        """Record finished writes: at least one and those already done, or all of them."""
        while self._inflight:
            future = self._finished.get()
            write = self._inflight.pop(future, None)
            if write is not None:  # else cancelled after a fatal error, and forgotten
                self._record(future, write)
            if not everything and self._finished.empty():
                break
        if self.fatal is not None:
            for future in list(self._inflight):
                if future.cancel():  # not started: forget it; running ones finish and count
                    del self._inflight[future]

    def _record(self, future: cf.Future[str], write: Write) -> None:
        try:
            page_id = future.result()
        except PageRejected as exc:
            self.run.fail(write.ref.id, f"Intercom rejected the page: {exc}")
            return
        except RequestInterrupted:
            return  # the run is stopping; the next one sends it again
        except SyncdError as exc:
            # Auth refused or Intercom down: every other write would fail the same way.
            self.fatal = self.fatal or exc
            return
        # Counted as soon as Intercom has it, whatever becomes of its record: the summary
        # says what was sent.
        run = self.run
        outcome = "created" if write.action == "create" else "updated"
        if write.restore:
            outcome = "restored"
        if run.debug:
            event = {"created": "document.created", "updated": "document.updated"}
            run.log.debug(event.get(outcome, "document.restored"), ref=write.ref.id, page=page_id)
        run.outcomes.count(outcome)
        try:
            run.tracker.record_written(
                write.ref.id,
                external_id=write.payload.external_id,
                version=write.ref.version,
                payload_hash=write.digest,
                page_id=page_id,
                title=write.payload.title,
                replaces=write.replaces,
            )
        except SQLAlchemyError as exc:
            # The state database failed: send nothing more, but keep counting (and trying
            # to record: the rows stay buffered) the writes already in flight.
            self.fatal = self.fatal or exc
            return
        if write.stale is not None:
            old_external_id, old_page = write.stale
            run.left_behind.append(Removal("renamed", write.ref.id, old_external_id, old_page))
        run.freshness.written(write.changed_at)

    def abandon(self, error: BaseException) -> None:
        """The run failed with ``error``: writes not started are dropped, and those in
        flight are waited for and counted (sent is sent)."""
        self.fatal = self.fatal or error
        self._batch = []
        for future in list(self._inflight):
            if future.cancel():
                del self._inflight[future]
        self._drain(everything=True)
