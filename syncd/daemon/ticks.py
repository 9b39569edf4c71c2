"""Ticks: when APScheduler fires a source's run, and the thread each run gets.

tick
    A time a source's schedule fires: every ``interval``, or on a crontab expression (UTC,
    with crontab's weekday numbers: 0 and 7 are Sunday).
jitter
    A random delay added to each tick, up to :data:`DEFAULT_JITTER` seconds (at most a tenth
    of the interval), so many daemons on one schedule do not hit Intercom in the same second.
misfire
    A tick that could not run on time (a busy machine, a suspended laptop). One up to
    :data:`MISFIRE_GRACE_TIME` seconds late still runs; later ones wait for the next tick.

Interval ticks count from a fixed point in time, so replicas of one deployment tick together
(see :mod:`syncd.state.replicas`). Each run gets its own daemon thread, and the start of the
tick it serves as its ``tick`` argument, so a tick another replica already served is skipped.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import threading
from typing import Any

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syncd.config.loading import Schedule
from syncd.state import replicas

DEFAULT_JITTER = 10.0
MISFIRE_GRACE_TIME = 600


def crontab_trigger(expression: str, *, jitter: float | None = None) -> CronTrigger:
    """A UTC trigger for a five-field crontab expression, with crontab's weekday numbers.

    APScheduler 3 numbers weekdays from Monday = 0, unlike cron (Sunday = 0 or 7), so
    ``CronTrigger.from_crontab("0 9 * * 1-5")`` would fire Tuesday to Saturday
    (https://github.com/agronholm/apscheduler/issues/286). Numeric weekdays are rewritten
    as names here, which both agree on. One difference remains: when both day of month and
    day of week are restricted, cron fires on either, APScheduler only when both match.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 crontab fields, got {len(fields)}")
    minute, hour, day, month, day_of_week = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_cron_weekdays(day_of_week),
        timezone=dt.UTC,
        jitter=jitter or None,
    )


_WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _cron_weekdays(field: str) -> str:
    parts: list[str] = []
    for part in field.split(","):
        if part == "*" or any(char.isalpha() for char in part):
            parts.append(part)  # "*" and names mean the same days to both
            continue
        span, slash, step_text = part.partition("/")
        if span == "*":
            start, end = 0, 6
        else:
            first, dash, last = span.partition("-")
            start = int(first)
            end = int(last) if dash else (7 if slash else start)  # "1/2": Monday onwards
        step = int(step_text) if slash else 1
        if not 0 <= start <= end <= 7 or step < 1:
            raise ValueError(f"invalid day-of-week field {field!r}")
        parts.extend(_WEEKDAY_NAMES[number % 7] for number in range(start, end + 1, step))
    return ",".join(dict.fromkeys(parts))


def make_trigger(schedule: Schedule, *, jitter: float = DEFAULT_JITTER) -> BaseTrigger:
    """The APScheduler trigger of a source's schedule, in UTC, with a little jitter."""
    if schedule.interval is not None:
        seconds = schedule.interval.total_seconds()
        return AlignedInterval(
            seconds=seconds,
            start_date=replicas.ANCHOR,
            timezone=dt.UTC,
            jitter=min(jitter, seconds / 10) or None,
        )
    assert schedule.cron is not None  # the config allows exactly one of the two
    return crontab_trigger(schedule.cron, jitter=jitter)


def interval_seconds(schedule: Schedule) -> float:
    """Seconds between two ticks of the schedule: its interval, or the gap between a cron
    expression's next two ticks (for the ``syncd_schedule_interval_seconds`` gauge)."""
    if schedule.interval is not None:
        return schedule.interval.total_seconds()
    assert schedule.cron is not None
    trigger = crontab_trigger(schedule.cron)
    now = dt.datetime.now(dt.UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + dt.timedelta(seconds=1))
    return float((second - first).total_seconds())


class AlignedInterval(IntervalTrigger):  # type: ignore[misc]  # APScheduler is untyped
    """Ticks at the anchor plus whole intervals, each with its own jitter.

    APScheduler's IntervalTrigger counts each tick from the previous one, jitter included, so
    jitter accumulates and replicas drift apart; here every tick is the next multiple of the
    interval after the previous tick, so replicas stay together (see :mod:`syncd.state.replicas`).
    """

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        anchor = self.start_date.timestamp()
        step = self.interval_length
        if previous_fire_time is None:
            number = math.ceil((now.timestamp() - anchor) / step)
        else:
            # The first tick more than 0.6 interval after the previous run: the next one
            # whatever jitter the previous had, and never right after the run at start.
            after = previous_fire_time.timestamp() + 0.6 * step
            number = math.ceil((after - anchor) / step)
        fire = anchor + step * number + (random.uniform(0, self.jitter) if self.jitter else 0.0)  # noqa: S311
        if self.end_date and fire > self.end_date.timestamp():
            return None
        return dt.datetime.fromtimestamp(fire, tz=self.timezone)


class ThreadPerRunExecutor(BaseExecutor):  # type: ignore[misc]  # APScheduler is untyped
    """Runs each job in a new daemon thread, with the start of its tick as ``tick=``.

    APScheduler's thread pool uses non-daemon threads that the interpreter joins at exit, so a
    run that outlives the grace period would keep the process alive; a daemon thread does not.
    """

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        jitter = float(getattr(job.trigger, "jitter", None) or 0.0)
        # A scheduled tick: a run another replica made since it was due makes it moot.
        ticked = _Ticked(job, replicas.tick_start(run_times[-1], jitter))

        def target() -> None:
            try:
                events = run_job(ticked, job._jobstore_alias, run_times, self._logger.name)
            except BaseException:  # handed to APScheduler, as its own pools do
                _, exc, tb = sys.exc_info()
                self._run_job_error(job.id, exc, tb)
            else:
                self._run_job_success(job.id, events)

        threading.Thread(target=target, name=f"syncd-run-{job.id}", daemon=True).start()


class _Ticked:
    """A job as APScheduler's ``run_job`` reads it, with its tick added to its arguments."""

    def __init__(self, job: Any, tick: dt.datetime) -> None:
        self._job = job
        self.kwargs = {**job.kwargs, "tick": tick}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)
