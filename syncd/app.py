"""The application: configuration, state database and publisher, wired for the commands.

`syncd sync`, `syncd run` and `syncd status` all go through :class:`App`: it opens (and
migrates) the state database once, then runs sources one after another, each under its lease,
and turns every outcome into a :class:`~syncd.sync.plan.RunReport` with an exit code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Sequence

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from syncd import metrics
from syncd.config.loading import Config, SourceConfig
from syncd.connectors.base import EVERYTHING, ChangeSet, Connector, SourceInfo, SourceUnavailable
from syncd.errors import (
    ExitCode,
    IntercomAuthError,
    Interrupted,
    LeaseBusy,
    SafetyStop,
    StateError,
    SyncdError,
)
from syncd.publisher import Publisher, RequestInterrupted
from syncd.redact import redact
from syncd.runtime.resources import Closing
from syncd.state import database, replicas
from syncd.state.lease import SourceLease
from syncd.state.memory import StoredMemory
from syncd.state.tracker import Tracker
from syncd.sync.engine import SourceSync, SyncOptions
from syncd.sync.plan import RunReport
from syncd.sync.progress import Progress

log = structlog.get_logger(__name__)

# When sources end differently, the process exits with the most serious code.
_SEVERITY = [
    ExitCode.INTERCOM_AUTH,
    ExitCode.STATE_DB,
    ExitCode.INTERCOM_UNAVAILABLE,
    ExitCode.SAFETY_STOP,
    ExitCode.CONFIG,
    ExitCode.UNEXPECTED,
    ExitCode.PARTIAL,
    ExitCode.OK,
]


@dataclasses.dataclass(slots=True)
class SyncOutcome:
    """The reports of one `sync` call and the exit code they add up to."""

    reports: list[RunReport]
    #: The stop event ended the call before every source ran to its end.
    interrupted: bool = False

    @property
    def exit_code(self) -> ExitCode:
        """The most serious exit code among the reports."""
        codes = {report.exit_code for report in self.reports} or {ExitCode.OK}
        return min(codes, key=_SEVERITY.index)

    def process_exit_code(self, signum: int | None) -> int:
        """The exit status of a one-shot command that ``signum`` may have interrupted.

        An interrupted run did not finish its work, so it must not look like a success: it
        exits 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a shell reports a
        process killed by that signal, unless a source failed in a more serious way.
        """
        code = self.exit_code
        if self.interrupted and signum is not None and code in (ExitCode.OK, ExitCode.PARTIAL):
            return 128 + signum
        return int(code)


class App(Closing):
    """A configured syncd with its state database open."""

    def __init__(self, config: Config, engine: Engine, sessions: sessionmaker[Session]) -> None:
        self.config = config
        self.engine = engine
        self.sessions = sessions
        # Set when the caller prints each run's summary where people read the log (`syncd
        # sync` on a terminal): sync.started/sync.finished then go to DEBUG, not repeat it.
        self.summaries_shown = False

    @classmethod
    def open(cls, config: Config) -> App:
        """Connect to the state database and migrate it to head."""
        config.require("state")
        engine, sessions = database.open_database(config.state.sqlalchemy_url)
        return cls(config, engine, sessions)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    def readiness(self) -> str | None:
        """None when the state database is reachable and at head, else the reason."""
        return database.readiness(self.engine)

    def publisher(self, stop: threading.Event | None = None) -> Publisher:
        """A publisher for the configured Intercom workspace; ``stop`` abandons its requests."""
        self.config.require("intercom")
        intercom = self.config.intercom
        return Publisher(
            base_url=intercom.api_base_url,
            token=intercom.access_token(),
            api_version=intercom.api_version,
            max_concurrency=intercom.max_concurrency,
            timeout=intercom.timeout,
            stop=stop,
        )

    def connector(
        self,
        source: SourceConfig,
        stop: threading.Event | None = None,
        *,
        dry_run: bool = False,
        full_resync: bool = False,
    ) -> Connector:
        """A connector remembering in the state database; ``stop`` abandons a stalled request."""
        self.config.require(source)
        cache = self.config.state.cache_root() / source.name
        memory = StoredMemory(self.sessions, source.name, dry_run=dry_run)
        info = SourceInfo(
            source.name,
            source.url,
            cache_dir=cache,
            stop=stop,
            memory=memory,
            full_resync=full_resync,
        )
        return source.setup.open(info)

    def sync(
        self,
        names: Sequence[str] | None = None,
        *,
        full_resync: bool = False,
        dry_run: bool = False,
        allow_mass_delete: bool = False,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        publisher: Publisher | None = None,
        changes: ChangeSet = EVERYTHING,
        tick: dt.datetime | None = None,
        reconcile: bool = False,
    ) -> SyncOutcome:
        """Run the named sources (all when None) one after another.

        ``changes`` other than EVERYTHING makes each run incremental: just those documents.
        ``reconcile``: compare Intercom's pages with the state too (see syncd.sync.drift).
        ``tick``: the start of the scheduled tick this call serves; a source another replica
        is syncing, or synced since then, is skipped (see :mod:`syncd.state.replicas`).
        """
        sources = self.config.sources_named(names) if names else list(self.config.sources)
        if publisher is None:
            # Every variable this call needs, in one error, before any source starts.
            self.config.require("intercom", *sources)
        only = None if changes.everything else changes
        options = SyncOptions(full_resync, dry_run, allow_mass_delete, only, reconcile)
        stop = stop or threading.Event()
        own_publisher = publisher is None
        active = publisher or self.publisher(stop)
        reports: list[RunReport] = []
        try:
            for source in sources:
                if stop.is_set():
                    break
                report = self._run_one(source, options, active, stop, progress, tick)
                reports.append(report)
                if report.exit_code == ExitCode.INTERCOM_AUTH:
                    break  # the same token would be refused for every other source
        finally:
            if own_publisher:
                active.close()
        interrupted = stop.is_set() and (
            len(reports) < len(sources) or any(report.stopped for report in reports)
        )
        return SyncOutcome(reports, interrupted=interrupted)

    def _run_one(
        self,
        source: SourceConfig,
        options: SyncOptions,
        publisher: Publisher,
        stop: threading.Event,
        progress: Progress | None,
        tick: dt.datetime | None = None,
    ) -> RunReport:
        bound = log.bind(source=source.name)
        try:
            tracker = Tracker(self.sessions, source.name)
        except SQLAlchemyError as exc:
            bound.error("sync.state_database_failed", error=database.describe(exc))
            return RunReport(
                source=source.name,
                error=f"state database: {database.describe(exc)}",
                exit_code=StateError.exit_code,
            )
        lease: SourceLease | None = None
        watch = stop
        if not options.dry_run:  # a dry run writes nothing, the lease included
            lease = SourceLease(
                self.sessions,
                source.name,
                ttl=self.config.state.lease_ttl,
                # At a tick, a source being synced is this tick's work done by another replica.
                wait=self.config.state.lease_wait if tick is None else dt.timedelta(0),
            )
            try:
                lease.acquire()
            except LeaseBusy as exc:
                if tick is not None:
                    bound.info("sync.skipped", reason=str(exc))
                    return RunReport(source=source.name, skipped=str(exc))
                bound.warning("sync.lease_busy", error=str(exc))
                return RunReport(source=source.name, error=str(exc), exit_code=exc.exit_code)
            except StateError as exc:
                bound.error("sync.state_database_failed", error=str(exc))
                return RunReport(source=source.name, error=str(exc), exit_code=exc.exit_code)
            if tick is not None and (done := self._synced_since(source.name, tick)):
                lease.release()
                bound.info("sync.skipped", reason=done)
                return RunReport(source=source.name, skipped=done)
            # Losing the lease mid-run (expired while stalled) stops this run at once.
            watch = threading.Event()
            _link(stop, lease.lost, into=watch)
        try:
            return self._execute(
                source=source,
                options=options,
                publisher=publisher,
                tracker=tracker,
                stop=watch,
                progress=progress,
                lease=lease,
            )
        finally:
            if lease is not None:
                watch.set()  # ends the watcher thread
                lease.release()

    def _synced_since(self, name: str, tick: dt.datetime) -> str | None:
        try:
            holder = replicas.synced_since(self.sessions, name, tick)
        except SQLAlchemyError:
            return None  # the run that follows meets the fault and reports it
        if holder is None:
            return None
        host, _, rest = holder.partition(":")
        who = f"{host}:{rest.partition(':')[0]}" if rest else holder
        return f"synced by {who} since this tick began at {tick:%H:%M:%S} UTC"

    def _execute(
        self,
        *,
        source: SourceConfig,
        options: SyncOptions,
        publisher: Publisher,
        tracker: Tracker,
        stop: threading.Event,
        progress: Progress | None,
        lease: SourceLease | None,
    ) -> RunReport:
        bound = log.bind(source=source.name)
        run_id = None
        getattr(bound, "debug" if self.summaries_shown else "info")(
            "sync.started",
            full_resync=options.full_resync,
            dry_run=options.dry_run,
            incremental=options.only is not None,
        )
        started = time.monotonic()
        connector = None
        sync: SourceSync | None = None
        report = RunReport(source=source.name, dry_run=options.dry_run)
        try:
            if not options.dry_run:
                run_id = tracker.start_run(
                    full_resync=options.full_resync,
                    holder=lease.holder if lease else None,
                    incremental=options.only is not None,
                    keep=self.config.state.run_history,
                )
            connector = self.connector(
                source, stop, dry_run=options.dry_run, full_resync=options.full_resync
            )
            sync = SourceSync(
                source=source,
                connector=connector,
                tracker=tracker,
                publisher=publisher,
                options=options,
                max_concurrency=self.config.intercom.max_concurrency,
                max_page_bytes=self.config.intercom.max_page_bytes,
                stop=stop,
                progress=progress,
            )
            report = sync.run()
        except (RequestInterrupted, Interrupted):
            report = sync.report if sync else report
            report.stopped = True
        except (SafetyStop, IntercomAuthError, SyncdError) as exc:
            report = sync.report if sync else report
            report.error, report.exit_code = str(exc), exc.exit_code
        except SourceUnavailable as exc:
            report = sync.report if sync else report
            report.error = f"cannot read the source: {exc}"  # SourceNotReady: 75, retry later
            report.exit_code = ExitCode(getattr(exc, "exit_code", ExitCode.UNEXPECTED))
        except SQLAlchemyError as exc:
            report = sync.report if sync else report
            report.error = f"state database: {database.describe(exc)}"
            report.exit_code = ExitCode.STATE_DB
        except Exception as exc:
            bound.exception("sync.crashed")
            report = sync.report if sync else report
            report.error = f"{type(exc).__name__}: {exc}"
            report.exit_code = ExitCode.UNEXPECTED
        finally:
            if connector is not None:
                connector.close()
        report.duration = time.monotonic() - started
        self._finish(source, tracker, run_id, report)
        return report

    def _finish(
        self, source: SourceConfig, tracker: Tracker, run_id: int | None, report: RunReport
    ) -> None:
        # Errors quote other programs' messages: mask any secret before they are shown or kept.
        report.error = redact(report.error) if report.error else report.error
        report.failures = [(ref, redact(error)) for ref, error in report.failures]
        status = _status(report)
        level = "info" if report.exit_code == ExitCode.OK else "warning"
        getattr(log, "debug" if self.summaries_shown else level)(
            "sync.finished",
            source=source.name,
            status=status,
            **dataclasses.asdict(report.counts()),
            deletions=report.deletions,
            duration=round(report.duration, 3),
            error=report.error,
        )
        if run_id is None:
            return
        try:
            tracker.finish_run(
                run_id,
                status=status,
                counts=report.counts(),
                duration=report.duration,
                error=report.error,
                deletions=report.deletions,
            )
            if metrics.recording():  # a count over every page of the source, for the gauge only
                metrics.PAGES_HELD.labels(source.name).set(tracker.pages_held())
        except SQLAlchemyError as exc:
            report.error = report.error or f"state database: {database.describe(exc)}"
            report.exit_code = ExitCode.STATE_DB
        success = report.exit_code == ExitCode.OK and not report.stopped
        metrics.run_finished(source.name, status, report.duration, success=success)


def _status(report: RunReport) -> str:
    if report.exit_code == ExitCode.SAFETY_STOP:
        return "safety_stop"
    if report.exit_code not in {ExitCode.OK, ExitCode.PARTIAL}:
        return "failed"
    if report.stopped:
        return "stopped"
    return "partial" if report.exit_code == ExitCode.PARTIAL else "ok"


def _link(*sources: threading.Event, into: threading.Event) -> None:
    """Set ``into`` as soon as any of ``sources`` is set (checked by a small watcher)."""

    def watch() -> None:
        while not into.is_set():
            if any(event.wait(0.2) for event in sources):
                into.set()
                return

    threading.Thread(target=watch, name="stop-watch", daemon=True).start()
