"""Scheduling: first run at start, repeated ticks, one run per source at a time, failures."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from syncd.config.loading import Schedule
from syncd.daemon.jobs import RunFailed
from syncd.daemon.scheduler import Daemon
from syncd.daemon.ticks import crontab_trigger, make_trigger
from syncd.errors import ExitCode, IntercomAuthError
from tests.daemon.conftest import RecordingJob, make_source, wait_until

StartDaemon = Callable[..., Daemon]


def test_each_source_runs_once_at_start(start_daemon: StartDaemon) -> None:
    """Every source runs right after start, long before its first tick."""
    job = RecordingJob()
    start_daemon([make_source("handbook"), make_source("wiki", cron="0 3 * * *")], job)
    wait_until(lambda: len(job.runs()) == 2, timeout=3)
    assert sorted(call.source for call in job.runs()) == ["handbook", "wiki"]
    time.sleep(0.3)
    assert len(job.runs()) == 2  # the hourly and nightly ticks are far away


def test_sources_run_again_at_every_tick(start_daemon: StartDaemon) -> None:
    """An interval source runs at start and then once per interval."""
    job = RecordingJob()
    start_daemon([make_source("handbook", interval="0.2s")], job)
    wait_until(lambda: len(job.runs()) >= 4, timeout=3)
    starts = [call.started for call in job.runs()]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap > 0.1 for gap in gaps)


def test_a_slow_run_is_never_overlapped_by_the_next_tick(start_daemon: StartDaemon) -> None:
    """Ticks that come while a source's run is going are skipped, not run alongside it."""
    job = RecordingJob(duration=0.5)
    start_daemon([make_source("handbook", interval="0.1s")], job)
    wait_until(lambda: len([c for c in job.runs() if c.ended]) >= 2, timeout=5)
    assert job.max_active == 1
    runs = job.runs()
    assert all(
        earlier.ended is not None and earlier.ended <= later.started
        for earlier, later in itertools.pairwise(runs)
    )


def test_sources_take_turns_by_default(start_daemon: StartDaemon) -> None:
    """With the default of one source at a time, two due sources run one after the other."""
    job = RecordingJob(duration=0.3)
    start_daemon([make_source("a"), make_source("b")], job)
    wait_until(lambda: len([c for c in job.runs() if c.ended]) == 2, timeout=5)
    assert job.max_active == 1


def test_sources_may_run_side_by_side_when_allowed(start_daemon: StartDaemon) -> None:
    """With parallel_sources=2, two sources due together run at the same time."""
    job = RecordingJob(duration=0.3)
    start_daemon([make_source("a"), make_source("b")], job, parallel_sources=2)
    wait_until(lambda: len([c for c in job.runs() if c.ended]) == 2, timeout=5)
    assert job.max_active == 2


def test_a_failed_run_is_logged_and_retried_at_the_next_tick(start_daemon: StartDaemon) -> None:
    """A run that raises is logged as daemon.run_failed; the daemon lives and runs it again."""
    job = RecordingJob(failures=2)
    with capture_logs() as logs:
        daemon = start_daemon([make_source("handbook", interval="0.2s")], job)
        wait_until(lambda: len(job.runs()) >= 3 and job.runs()[2].ended is not None)
        daemon.stop.set()
        assert daemon.wait() == 0
    failed = [entry for entry in logs if entry["event"] == "daemon.run_failed"]
    assert len(failed) == 2
    assert failed[0]["source"] == "handbook"
    assert failed[0]["next_run"] is not None
    assert any(entry["event"] == "daemon.run_finished" for entry in logs)


@pytest.mark.parametrize(
    "error",
    [
        RunFailed("handbook", ExitCode.INTERCOM_AUTH, "Intercom refused the token"),
        IntercomAuthError("Intercom refused the token"),
    ],
)
def test_a_failed_outcome_is_logged_with_its_exit_code(
    start_daemon: StartDaemon, error: Exception
) -> None:
    """A run that ends with a non-zero exit code is logged with that code and its error."""

    def job(source: str, stop: threading.Event, *, tick: dt.datetime | None = None) -> None:
        raise error

    with capture_logs() as logs:
        daemon = start_daemon([make_source("handbook")], job)
        wait_until(lambda: any(e["event"] == "daemon.run_failed" for e in logs))
        daemon.stop.set()
        daemon.wait()
    failed = next(entry for entry in logs if entry["event"] == "daemon.run_failed")
    assert failed["exit_code"] == 6
    assert failed["error"] == "Intercom refused the token"
    assert "exc_info" not in failed  # an expected failure carries no traceback


def test_stopping_lets_the_run_in_flight_end_and_exits_zero(start_daemon: StartDaemon) -> None:
    """Setting the stop event ends scheduling; the run in flight sees it and ends; exit 0."""
    job = RecordingJob(duration=10.0)
    daemon = start_daemon([make_source("handbook", interval="0.1s")], job)
    wait_until(lambda: len(job.runs()) == 1)
    started = time.monotonic()
    daemon.stop.set()
    assert daemon.wait() == 0
    assert time.monotonic() - started < 2
    assert job.runs()[0].ended is not None
    time.sleep(0.3)
    assert len(job.runs()) == 1  # nothing runs after the stop


def test_a_run_outliving_the_grace_period_exits_one(start_daemon: StartDaemon) -> None:
    """A run that ignores the stop event is abandoned after the grace period, with exit 1."""
    release = threading.Event()

    def stubborn(source: str, stop: threading.Event, *, tick: dt.datetime | None = None) -> None:
        release.wait(10)

    with capture_logs() as logs:
        daemon = start_daemon([make_source("handbook")], stubborn, grace=0.3)
        wait_until(lambda: any(e["event"] == "daemon.run_started" for e in logs))
        started = time.monotonic()
        daemon.stop.set()
        assert daemon.wait() == 1
        took = time.monotonic() - started
        timeout = logs[-1]
        release.set()  # let the abandoned run end while its log lines are still captured
        wait_until(lambda: logs[-1]["event"] == "daemon.run_finished")
    assert took < 2
    assert timeout["event"] == "daemon.shutdown_timeout"
    assert timeout["in_flight"] == ["handbook"]


def test_interval_trigger_is_utc_with_capped_jitter() -> None:
    """An interval schedule gets jitter of at most a tenth of the interval, in UTC."""
    short = make_trigger(Schedule(interval="10s"), jitter=30)
    long = make_trigger(Schedule(interval="1h"), jitter=30)
    assert short.jitter == pytest.approx(1.0)
    assert long.jitter == 30
    assert short.timezone == dt.UTC


@pytest.mark.parametrize(
    ("expression", "weekday"),
    [
        ("0 9 * * 1", "Monday"),
        ("0 9 * * 0", "Sunday"),
        ("0 9 * * 7", "Sunday"),
        ("0 9 * * 5-7", "Friday"),
        ("0 9 * * mon", "Monday"),
    ],
)
def test_crontab_weekdays_mean_what_cron_means(expression: str, weekday: str) -> None:
    """Weekday numbers follow cron (0 and 7 are Sunday), not APScheduler 3's Monday = 0."""
    thursday = dt.datetime(2025, 1, 2, 12, 0, tzinfo=dt.UTC)
    fire = crontab_trigger(expression).get_next_fire_time(None, thursday)
    assert fire is not None
    assert fire.strftime("%A") == weekday
    assert (fire.hour, fire.minute) == (9, 0)


def test_crontab_weekday_lists_and_steps_expand() -> None:
    """Lists, ranges and steps of weekday numbers fire on the days cron would pick."""
    trigger = crontab_trigger("0 0 * * */2")  # cron: Sunday, Tuesday, Thursday, Saturday
    when = dt.datetime(2025, 1, 5, 0, 30, tzinfo=dt.UTC)  # a Sunday, just after midnight
    days = []
    for _ in range(4):
        fire = trigger.get_next_fire_time(None, when)
        assert fire is not None
        days.append(fire.strftime("%a"))
        when = fire + dt.timedelta(minutes=1)
    assert days == ["Tue", "Thu", "Sat", "Sun"]


def test_crontab_rejects_a_wrong_field_count() -> None:
    """An expression without exactly five fields is refused with the count."""
    with pytest.raises(ValueError, match="5 crontab fields"):
        crontab_trigger("0 9 * *")
