"""The periodic jobs of a process, as ``/scheduler`` shows them.

A :class:`Scheduler` is a registry, not a timer: the jobs keep running where
they already run (ingest's REST polls in their feed, the worker's Faust
crontab and background tasks) and report each run into their :class:`Job`:

    job = scheduler.add("parquet.compaction", Cron("5 * * * *"), leader_only=True)
    async with job.run() as run:
        run.result = do_the_work()

A run records its start, end, duration and outcome; an exception is recorded
and raised on; :meth:`Job.error` records a failure the job survives (one
symbol of a poll). The next run is computed from the schedule: an interval
after the previous run ended, the next time the cron expression names, or
none for a job that runs when something asks for it (:class:`OnDemand`: a
trade gap to backfill). :func:`recorded` wraps a timer's function so each
call is one run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from faust.utils.cron import secs_for_next


def utc_now() -> datetime:
    return datetime.now(UTC)


class Schedule(Protocol):
    def describe(self) -> dict[str, Any]:
        """The schedule as JSON (``{"every_seconds": 900}``, ``{"cron": "5 * * * *"}``)."""

    def next_run(self, previous_end: datetime | None) -> datetime | None:
        """When the job runs next, given when its previous run ended (None: never ran);
        None when no time is set in advance."""

    @property
    def period_seconds(self) -> float | None:
        """The fixed interval between runs, if the schedule has one."""


@dataclass(frozen=True)
class Every:
    """``seconds`` after the previous run ended; the first run at start (``immediate``)
    or one interval after it."""

    seconds: float
    immediate: bool = True
    started: datetime = field(default_factory=utc_now)

    def describe(self) -> dict[str, Any]:
        return {"every_seconds": self.seconds}

    def next_run(self, previous_end: datetime | None) -> datetime:
        if previous_end is None:
            return self.started if self.immediate else self.started + self._interval
        return previous_end + self._interval

    @property
    def period_seconds(self) -> float | None:
        return self.seconds

    @property
    def _interval(self) -> timedelta:
        return timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Cron:
    """A crontab expression in UTC (five fields, or six with seconds last), computed
    the way Faust's ``app.crontab`` sleeps until it."""

    expression: str

    def describe(self) -> dict[str, Any]:
        return {"cron": self.expression, "timezone": "UTC"}

    def next_run(self, previous_end: datetime | None) -> datetime:
        # Faust's own computation (seconds from the wall clock's now) is what its crontab
        # sleeps; cron times are whole seconds.
        return datetime.fromtimestamp(round(time.time() + secs_for_next(self.expression, UTC)), UTC)

    @property
    def period_seconds(self) -> float | None:
        return None


@dataclass(frozen=True)
class OnDemand:
    """Runs when ``trigger`` happens (e.g. a gap in the trade ids), at no set time."""

    trigger: str

    def describe(self) -> dict[str, Any]:
        return {"on_demand": self.trigger}

    def next_run(self, previous_end: datetime | None) -> datetime | None:
        return None

    @property
    def period_seconds(self) -> float | None:
        return None


@dataclass
class Run:
    """The run under way; a job may leave a small JSON-able summary in ``result``."""

    started_at: datetime
    result: Any = None


@dataclass
class Job:
    """One periodic job and what its runs did."""

    name: str
    schedule: Schedule
    description: str = ""
    leader_only: bool = False
    runs: int = 0
    failures: int = 0  #: runs that raised or recorded an error
    consecutive_failures: int = 0  #: failed runs since the last run that went well
    running: Run | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_duration_seconds: float | None = None
    last_outcome: str | None = None  #: "ok", "failed" or "cancelled"
    last_result: Any = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_success_at: datetime | None = None  #: end of the last run that went well
    registered_at: datetime = field(default_factory=utc_now)
    _errors_in_run: int = field(default=0, repr=False)

    @asynccontextmanager
    async def run(self) -> AsyncIterator[Run]:
        """Record one run of the job around the block (an exception is recorded and raised)."""
        began = time.monotonic()
        current = self.running = Run(utc_now())
        self.last_started_at = current.started_at
        self._errors_in_run = 0
        outcome = "ok"
        try:
            yield current
        except asyncio.CancelledError:  # the process stops: not a failure of the job
            outcome = "cancelled"
            raise
        except BaseException as exc:
            self.error(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            finished = utc_now()
            if self._errors_in_run:
                outcome = "failed"
                self.failures += 1
                self.consecutive_failures += 1
            elif outcome == "ok":
                self.consecutive_failures = 0
                self.last_success_at = finished
            self.runs += 1
            self.running = None
            self.last_finished_at = finished
            self.last_duration_seconds = round(time.monotonic() - began, 6)
            self.last_outcome = outcome
            self.last_result = current.result

    def error(self, message: str) -> None:
        """A failure inside the current run (the run goes on, and counts as failed)."""
        self._errors_in_run += 1
        self.last_error = message
        self.last_error_at = utc_now()

    def next_run_at(self) -> datetime | None:
        """None while a run is under way."""
        if self.running is not None:
            return None
        return self.schedule.next_run(self.last_finished_at)

    def document(self) -> dict[str, Any]:
        """The job as ``/scheduler`` shows it."""
        return {
            "name": self.name,
            "description": self.description,
            "schedule": self.schedule.describe(),
            "leader_only": self.leader_only,
            "running": self.running is not None,
            "runs": self.runs,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
            "last_success_at": self.last_success_at,
            "last_run": {
                "started_at": self.last_started_at,
                "finished_at": self.last_finished_at,
                "duration_seconds": self.last_duration_seconds,
                "outcome": self.last_outcome,
                "result": self.last_result,
            },
            "next_run_at": self.next_run_at(),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }


class Scheduler:
    """The registry of one process's periodic jobs (names are unique)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._polls: list[Job] = []

    def add(
        self,
        name: str,
        schedule: Schedule,
        *,
        description: str = "",
        leader_only: bool = False,
    ) -> Job:
        if name in self._jobs:
            raise ValueError(f"a periodic job named {name!r} is already registered")
        job = self._jobs[name] = Job(name, schedule, description, leader_only)
        return job

    def polling(self, name: str, seconds: float) -> Job:
        """A job that runs at once, then ``seconds`` after each run ends (a REST poll;
        ingest's readiness watches these)."""
        job = self.add(name, Every(seconds), description="REST poll")
        self._polls.append(job)
        return job

    def every(self, name: str, seconds: float, *, description: str) -> Job:
        """A job that runs ``seconds`` after start, then after each run ends (a timer)."""
        return self.add(name, Every(seconds, immediate=False), description=description)

    def on_demand(self, name: str, *, trigger: str, description: str = "") -> Job:
        """A job that runs whenever ``trigger`` happens."""
        return self.add(name, OnDemand(trigger), description=description)

    @property
    def polls(self) -> list[Job]:
        """The jobs registered by :meth:`polling`."""
        return list(self._polls)

    def get(self, name: str) -> Job:
        return self._jobs[name]

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def document(self) -> dict[str, Any]:
        return {"now": utc_now(), "jobs": [job.document() for job in self._jobs.values()]}


def recorded(job: Job, work: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """``work`` as a function whose every call is one run of ``job`` (for ``app.timer``);
    what ``work`` returns becomes the run's result."""

    async def run() -> None:
        async with job.run() as current:
            current.result = await work()

    run.__doc__ = work.__doc__
    return run
