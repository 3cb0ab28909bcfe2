"""What ``marketprism ingest`` reports on ``/ready`` and ``/status``.

Ready means, for every venue feed:

- every connection has a live session, and every channel it watches is fresh
  by the watchdog's own measure and thresholds
  (``MARKETPRISM_INGEST__STALE_SECONDS``): a channel with no threshold, such as
  liquidations, is never stale, and a channel counts from its session's start
  until its first data (:meth:`ingest.connection.Connection.silences`);
- every order book is in sync (none waits for a snapshot after a gap);
- every REST poll (open interest, funding) works: it has not failed its last
  ``MARKETPRISM_POLLING__READY_FAILURES`` rounds in a row, and has had a good
  round within ``MARKETPRISM_POLLING__READY_STALE_INTERVALS`` of its intervals
  (counted from the start until its first); one good round makes it ready again;
- the Kafka producer is connected and its in-flight buffer is not full.

Everything is read from the objects ingest keeps anyway, when asked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.health.model import Check, Document, Readiness, seconds
from app.scheduler import Job, Scheduler
from app.settings import PollSettings
from ingest.connection import Connection
from ingest.feed import VenueFeed
from ingest.producer import ProducerStats


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PollLimits:
    """When a REST poll makes ingest not ready."""

    failures: int = 3  #: consecutive failed rounds
    stale_intervals: float = 3.0  #: intervals without a good round

    @classmethod
    def of(cls, polling: PollSettings) -> PollLimits:
        return cls(polling.ready_failures, polling.ready_stale_intervals)


class IngestHealth:
    """Readiness and status of ``feeds``, the REST polls of ``jobs`` and the
    ``producer`` (None: ``--to-stdout``)."""

    def __init__(
        self,
        feeds: Sequence[VenueFeed],
        producer: ProducerStats | None,
        *,
        jobs: Scheduler | None = None,
        limits: PollLimits = PollLimits(),
        wall: Callable[[], datetime] = utc_now,
    ) -> None:
        self.feeds = feeds
        self.producer = producer
        self.jobs = jobs
        self.limits = limits
        self._wall = wall

    def readiness(self) -> Readiness:
        now = self._wall()
        checks: list[Check] = []
        for feed in self.feeds:
            for connection in feed.connections:
                checks.extend(connection_checks(connection, now))
            if "book" in feed.streamed:
                checks.append(books_check(feed))
        if self.jobs is not None:
            checks.extend(poll_check(job, now, self.limits) for job in self.jobs.polls)
        if self.producer is not None:
            checks.append(producer_check(self.producer))
        return Readiness.of(checks)

    def status(self) -> Document:
        now = self._wall()
        return {
            "venues": [feed_status(feed, now) for feed in self.feeds],
            "producer": None if self.producer is None else producer_status(self.producer),
        }


def connection_checks(connection: Connection, now: datetime) -> list[Check]:
    """The connection has a live session; each watched channel within its threshold."""
    name, stats = connection.name, connection.stats
    if not stats.connected:
        if stats.last_disconnect_at is None:
            failed = f" (last attempt: {stats.last_error})" if stats.failed_connects else ""
            reason = f"{name}: not connected yet{failed}"
        else:
            ago = (now - stats.last_disconnect_at).total_seconds()
            ended = f"its session ended {ago:.1f} s ago ({stats.last_disconnect})"
            reason = f"{name}: not connected; {ended}"
        return [Check.failed(name, reason, symbols=connection.symbols)]
    checks = [Check.passed(name, connected_since=stats.connected_since)]
    for channel, silent in connection.silences().items():
        limit = connection.stale_after(channel)
        detail = {"silent_seconds": seconds(silent), "stale_after_seconds": limit}
        label = f"{name} {channel}"
        if limit is not None and silent > limit:
            reason = f"{label}: no data for {silent:.2f} s (stale after {limit:g} s)"
            checks.append(Check.failed(label, reason, **detail))
        else:
            checks.append(Check.passed(label, **detail))
    return checks


def books_check(feed: VenueFeed) -> Check:
    name = f"{feed.venue.name} books"
    waiting = [symbol for symbol in feed.symbols if feed.router.books.needs_snapshot(symbol)]
    if waiting:
        reason = f"{name} out of sync, waiting for a snapshot: {', '.join(waiting)}"
        return Check.failed(name, reason, out_of_sync=waiting)
    return Check.passed(name, in_sync=len(feed.symbols))


def poll_check(job: Job, now: datetime, limits: PollLimits) -> Check:
    """The poll's last rounds did not all fail, and one went well recently enough."""
    name = job.name
    interval = job.schedule.period_seconds
    detail = {
        "consecutive_failures": job.consecutive_failures,
        "last_success_at": job.last_success_at,
        "every_seconds": interval,
    }
    error = f" (last error: {job.last_error})" if job.last_error else ""
    if job.consecutive_failures >= limits.failures:
        reason = f"{name}: its last {job.consecutive_failures} rounds failed{error}"
        return Check.failed(name, reason, **detail)
    since = job.last_success_at or job.registered_at
    quiet = (now - since).total_seconds()
    if interval is not None and quiet > limits.stale_intervals * interval:
        ever = "no round has gone well" if job.last_success_at is None else "no good round"
        running = "" if job.running is None else "; a round is under way"
        reason = (
            f"{name}: {ever} for {quiet:.1f} s ({limits.stale_intervals:g} intervals of "
            f"{interval:g} s){running}{error}"
        )
        return Check.failed(name, reason, **detail)
    return Check.passed(name, **detail)


def producer_check(stats: ProducerStats) -> Check:
    name = "kafka producer"
    detail = {"buffered": stats.buffered, "capacity": stats.max_buffered}
    if not stats.connected:
        return Check.failed(name, f"{name}: not connected to the broker", **detail)
    if stats.full:
        reason = (
            f"{name}: buffer full ({stats.buffered} of {stats.max_buffered} records in "
            "flight), publishing waits for Kafka"
        )
        return Check.failed(name, reason, **detail)
    return Check.passed(name, **detail)


def feed_status(feed: VenueFeed, now: datetime) -> Document:
    books = feed.router.books
    continuity = feed.router.continuity.stats
    out: Document = {
        "exchange": feed.venue.name,
        "symbols": feed.symbols,
        "channels": feed.channels,
        "connections": [connection_status(c) for c in feed.connections],
        "streams": [
            {
                "channel": channel,
                "symbol": symbol,
                "last_message_age_seconds": seconds((now - record.collected_at).total_seconds()),
                "event_lag_seconds": seconds(
                    (record.collected_at - record.timestamp).total_seconds()
                ),
                "last_event_time": record.timestamp,
            }
            for (channel, symbol), record in sorted(feed.latest.items())
        ],
        "records_published": dict(feed.router.published),
        "trades": {
            "duplicates": continuity.duplicates,
            "backfilled": continuity.backfilled,
            "lost": continuity.lost,
        },
    }
    if "book" in feed.streamed:
        out["books"] = {
            "in_sync": [s for s in feed.symbols if not books.needs_snapshot(s)],
            "out_of_sync": [s for s in feed.symbols if books.needs_snapshot(s)],
        }
    return out


def connection_status(connection: Connection) -> Document:
    stats = connection.stats
    silences = connection.silences()
    return {
        "name": connection.name,
        "url": connection.url,
        "symbols": connection.symbols,
        "connected": stats.connected,
        "connected_since": stats.connected_since if stats.connected else None,
        "sessions": stats.connects,
        "reconnects": sum(stats.disconnects.values()),
        "disconnects": dict(stats.disconnects),
        "last_disconnect": stats.last_disconnect,
        "last_disconnect_at": stats.last_disconnect_at,
        "connect_failures": stats.failed_connects,
        "last_error": stats.last_error,
        "rotations": stats.rotations,
        "messages": stats.frames,
        "bytes": stats.bytes,
        "channels": {
            channel: {
                "silent_seconds": seconds(silences.get(channel)),
                "stale_after_seconds": connection.stale_after(channel),
            }
            for channel in connection.channels
        },
    }


def producer_status(stats: ProducerStats) -> Document:
    return {**dataclasses.asdict(stats), "full": stats.full}
