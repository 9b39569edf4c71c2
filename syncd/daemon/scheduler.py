"""The daemon behind `syncd run`: each source synced on its schedule, until a signal stops it.

run
    One sync of one source: a call of the *sync job* (see :mod:`syncd.daemon.jobs`), which
    returns when the run ended and raises when it failed.
tick
    A time a source's schedule fires (see :mod:`syncd.daemon.ticks`). Each source also runs once at
    start.

Scheduling rules (APScheduler 3, one job per source):

* A source never runs twice at once (``max_instances=1``): a tick that comes while its run is
  still going is skipped, and ticks missed in a row run once (``coalesce``).
* A late tick (a misfire), its jitter, and replicas ticking together: see :mod:`syncd.daemon.ticks`.
* Sources run one at a time by default (``parallel_sources``), like `syncd sync`: they share
  the Intercom rate limit and, with SQLite, one database file.
* A failed run is logged (``daemon.run_failed``) and the source runs again at its next tick;
  the daemon lives on.

Between ticks, change triggers (see :mod:`syncd.daemon.triggers`) and ``POST /hooks/<source>`` ask
for runs through :meth:`Daemon.request`. Those go through the same :class:`RunGate`: a source
still never runs twice at once, and requests that come during a run coalesce into one
follow-up run (a tick that comes while the tick's own run goes on is skipped, as above).

Stopping: the first SIGTERM or SIGINT stops scheduling and sets the stop event; each run in
flight finishes the document it is writing, records it, and ends. The process exit status:

* 0 when every run in flight ended within the grace period (``grace``, 30 s by default; keep
  Kubernetes' ``terminationGracePeriodSeconds`` above it);
* 1 when a run was still going at the end of the grace period (the document it was writing is
  written again by the next run, since pages are upserted by external id);
* 128 + the signal number (130 for SIGINT, 143 for SIGTERM) at once on a second signal, as a
  shell reports a process killed by that signal.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from syncd import metrics
from syncd import status as status_mod
from syncd.config.loading import ServerConfig, SourceConfig
from syncd.connectors.base import EVERYTHING, ChangeSet
from syncd.daemon.jobs import RunFailed, SyncJob, app_job
from syncd.daemon.server import Endpoints, Readiness
from syncd.daemon.statuspage import StatusCollect, StatusPage, seed_metrics
from syncd.daemon.ticks import (
    DEFAULT_JITTER,
    MISFIRE_GRACE_TIME,
    ThreadPerRunExecutor,
    make_trigger,
)
from syncd.daemon.triggers.base import Trigger
from syncd.daemon.triggers.build import build_triggers
from syncd.daemon.triggers.gate import RunGate
from syncd.daemon.triggers.hooks import HookEndpoint
from syncd.errors import ExitCode, SyncdError
from syncd.runtime.signals import stop_signals
from syncd.sync.progress import make_progress

if TYPE_CHECKING:
    from syncd.app import App


DEFAULT_GRACE = 30.0
_POLL = 0.2

log = structlog.get_logger(__name__)


class Daemon:
    """Schedules the sources, serves the endpoints, and stops cleanly on request."""

    def __init__(
        self,
        sources: Sequence[SourceConfig],
        job: SyncJob,
        *,
        readiness: Readiness | None = None,
        server: ServerConfig | None = None,
        stop: threading.Event | None = None,
        grace: float = DEFAULT_GRACE,
        jitter: float = DEFAULT_JITTER,
        misfire_grace_time: int = MISFIRE_GRACE_TIME,
        parallel_sources: int = 1,
        triggers: Sequence[Trigger] = (),
        status: StatusCollect | None = None,
    ) -> None:
        self.sources = list(sources)
        self.stop = stop if stop is not None else threading.Event()
        self.grace = grace
        self._job = job
        self._readiness = readiness
        self._server = None
        if server is not None:
            secret = server.hook_secret.get_secret_value() if server.hook_secret else None
            hooks = HookEndpoint(secret, self._hook) if secret else None
            page = StatusPage(status, self.next_runs, secret, self._hook) if status else None
            self._server = Endpoints(self._ready, server, hooks, page)
        self._triggers = list(triggers)
        self._gate = RunGate()
        self._jitter = jitter
        self._misfire_grace_time = misfire_grace_time
        self._slots = threading.BoundedSemaphore(parallel_sources)
        self._running: set[str] = set()
        self._changed = threading.Condition()
        self._scheduler: BackgroundScheduler | None = None
        self._signal: int | None = None

    @property
    def url(self) -> str | None:
        """Base URL of the HTTP endpoints, once started (None without a server)."""
        return self._server.url if self._server else None

    def next_runs(self) -> dict[str, dt.datetime | None]:
        """When each scheduled source runs next (empty before the start)."""
        scheduler = self._scheduler
        if scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in scheduler.get_jobs()}

    def start(self) -> None:
        """Start serving the endpoints, then schedule every source with a run right away."""
        if self._server is not None:
            self._server.start()
        # Our daemon.* events say what matters; APScheduler's per-tick INFO lines add noise.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = BackgroundScheduler(
            timezone=dt.UTC, executors={"default": ThreadPerRunExecutor()}
        )
        now = dt.datetime.now(dt.UTC)
        try:
            for source in self.sources:
                scheduler.add_job(
                    self._run,
                    trigger=make_trigger(source.schedule, jitter=self._jitter),
                    args=[source.name],
                    id=source.name,
                    name=f"sync {source.name}",
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=self._misfire_grace_time,
                    next_run_time=now,
                )
            # Set before the start: the first runs begin at once, and their log lines ask
            # the scheduler for the next run time.
            self._scheduler = scheduler
            scheduler.start()
        except BaseException:
            self._scheduler = None
            if self._server is not None:
                self._server.stop()
            raise
        for trigger in self._triggers:
            trigger.start(self.request, self.stop)
        if not self.sources:
            log.warning("daemon.no_sources")
        log.info("daemon.started", sources=[s.name for s in self.sources], url=self.url)

    def request(self, source: str, changes: ChangeSet, reason: str) -> None:
        """Ask for a run of ``source`` now (or right after the one in flight); never blocks.

        A full run when ``changes`` is :data:`~syncd.connectors.base.EVERYTHING`, else a run
        of the documents it names. Safe to call from any thread.
        """
        if not changes or self.stop_requested:
            return
        log.info(
            "daemon.triggered",
            source=source,
            reason=reason,
            changed=len(changes.changed),
            deleted=len(changes.deleted),
            full=changes.everything,
        )
        metrics.TRIGGERS.labels(source, reason).inc()
        if self._gate.enter(source, changes):
            threading.Thread(
                target=self._drive,
                args=(source, changes, None),
                name=f"syncd-trigger-{source}",
                daemon=True,
            ).start()

    def _hook(self, source: str, changes: ChangeSet) -> bool:
        if all(s.name != source for s in self.sources):
            return False
        self.request(source, changes, "hook")
        return True

    @property
    def stop_requested(self) -> bool:
        """Whether a signal, :meth:`request_stop` or the stop event asked the daemon to stop."""
        return self._signal is not None or self.stop.is_set()

    def request_stop(self, signum: int | None = None) -> None:
        """Ask the daemon to stop; safe to call from a signal handler (takes no lock)."""
        self._signal = signum if signum is not None else signal.SIGTERM

    def wait(self) -> int:
        """Block until stopped, let runs in flight end within the grace period; the exit code."""
        # The loop, not the signal handler, sets the event: Event.set takes a lock that the
        # interrupted main thread may hold.
        while not self.stop.wait(_POLL):
            if self._signal is not None:
                self.stop.set()
        reason = signal.Signals(self._signal).name if self._signal is not None else "stop event"
        with self._changed:
            in_flight = sorted(self._running)
        log.info("daemon.stopping", reason=reason, in_flight=in_flight, grace=self.grace)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.grace
        with self._changed:
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            unfinished = sorted(self._running)
        if self._server is not None:
            self._server.stop()
        for trigger in self._triggers:
            trigger.join(1.0)
        if unfinished:
            log.error("daemon.shutdown_timeout", in_flight=unfinished, grace=self.grace)
            return int(ExitCode.UNEXPECTED)
        log.info("daemon.stopped")
        return int(ExitCode.OK)

    def run(self, *, handle_signals: bool = True) -> int:
        """Start, then wait until stopped; the exit code.

        With ``handle_signals`` (and on the main thread), SIGTERM and SIGINT stop the daemon
        as the module docstring describes, and the previous handlers come back afterwards.
        """
        with stop_signals(self.request_stop) if handle_signals else contextlib.nullcontext():
            self.start()
            return self.wait()

    def _ready(self) -> str | None:
        if self.stop_requested:
            return "shutting down"
        return self._readiness() if self._readiness is not None else None

    def _run(self, source: str, *, tick: dt.datetime | None = None) -> None:
        """A tick: a full run, unless a triggered run is going (then one follows it)."""
        if self._gate.enter(source, EVERYTHING):
            self._drive(source, EVERYTHING, tick)

    def _drive(self, source: str, changes: ChangeSet, tick: dt.datetime | None = None) -> None:
        """Run ``source``, then the follow-ups requested meanwhile, until none is left.

        ``tick``: the start of the scheduled tick the first run serves; follow-ups were asked
        for, and always run.
        """
        following: ChangeSet | None = changes
        while following is not None:
            self._run_request(source, following, tick)
            tick = None
            following = self._gate.next(source, stopping=self.stop.is_set())

    def _run_request(self, source: str, changes: ChangeSet, tick: dt.datetime | None) -> None:
        with self._changed:
            if self.stop.is_set():
                return
            self._running.add(source)
        try:
            if self._take_slot():
                try:
                    self._run_once(source, changes, tick)
                finally:
                    self._slots.release()
        finally:
            with self._changed:
                self._running.discard(source)
                self._changed.notify_all()

    def _take_slot(self) -> bool:
        while not self._slots.acquire(timeout=_POLL):
            if self.stop.is_set():
                return False
        if self.stop.is_set():
            self._slots.release()
            return False
        return True

    def _run_once(self, source: str, changes: ChangeSet, tick: dt.datetime | None) -> None:
        started = time.monotonic()
        log.info("daemon.run_started", source=source, full=changes.everything)
        try:
            if changes.everything:
                self._job(source, self.stop, tick=tick)
            else:
                self._job(source, self.stop, changes)
        except (RunFailed, SyncdError) as exc:
            # Expected failures: their messages are written for users and hold no secrets.
            log.warning(
                "daemon.run_failed",
                source=source,
                exit_code=int(exc.exit_code),
                error=exc.error if isinstance(exc, RunFailed) else str(exc),
                duration=round(time.monotonic() - started, 3),
                next_run=self._next_run(source),
            )
        except Exception:
            log.exception(
                "daemon.run_failed",
                source=source,
                duration=round(time.monotonic() - started, 3),
                next_run=self._next_run(source),
            )
        else:
            log.info(
                "daemon.run_finished",
                source=source,
                duration=round(time.monotonic() - started, 3),
            )

    def _next_run(self, source: str) -> str | None:
        job = self._scheduler.get_job(source) if self._scheduler is not None else None
        when = getattr(job, "next_run_time", None)
        return when.isoformat() if when is not None else None


def run_daemon(
    app: App,
    *,
    stop: threading.Event | None = None,
    job: SyncJob | None = None,
    grace: float = DEFAULT_GRACE,
    jitter: float = DEFAULT_JITTER,
    serve: bool = True,
    parallel_sources: int = 1,
    triggers: Sequence[Trigger] | None = None,
) -> int:
    """Run `syncd run` until SIGTERM/SIGINT (or ``stop``); the process exit code.

    ``job`` replaces the sync of a source through ``app`` (tests); ``serve=False`` skips the
    HTTP endpoints; ``triggers`` replaces the change triggers of the sources with ``watch``.
    Signal handlers are installed only when called from the main thread.
    """
    if job is None:
        # Without a token or a source's secret runs would fail; say so now (ConfigError,
        # exit 2), not per tick.
        app.config.require("intercom", "server", *app.config.sources)
        app.config.intercom.access_token()
        job = app_job(app, make_progress(sys.stderr))
        seed_metrics(app)
    daemon = Daemon(
        app.config.sources,
        job,
        readiness=app.readiness,
        server=app.config.server if serve else None,
        stop=stop,
        grace=grace,
        jitter=jitter,
        parallel_sources=parallel_sources,
        triggers=build_triggers(app.config.sources, app.connector)
        if triggers is None
        else triggers,
        status=lambda next_runs: status_mod.collect(app.config, app.sessions, next_runs),
    )
    return daemon.run()
