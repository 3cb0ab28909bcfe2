r"""One venue's live collector: connections, snapshots, backfill, polling.

A :class:`VenueFeed` runs the venue's :class:`~ingest.connection.Connection`\ s
and hands every frame's records to a :class:`~ingest.router.RecordRouter`
(exactly-once trades, synced books, the sink). Around it:

- a book that falls out of sync is resynced alone: a REST depth snapshot
  where the venue has one (Binance), otherwise a resubscription of that
  symbol's book, which makes the venue push a fresh snapshot (OKX, Deribit);
- trade gaps opened by the continuity check are backfilled over REST;
- top-N book snapshots are published at the configured rate;
- polled channels (open interest where there is no stream) run on timers.

The book publisher, the trade backfill and each poll report every round into
a job of a :class:`~ingest.jobs.JobRegistry` (the process's ``/scheduler``).

For ``/status`` the feed keeps the last record of every stream (channel and
symbol): its receive time and event time give the stream's age and lag.

The feed never branches on the venue: what differs is declared by the
:class:`~ingest.venue.Venue`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ingest.connection import Connection, utc_now
from ingest.jobs import UNTRACKED, JobRegistry, PeriodicJob
from ingest.options import FeedOptions
from ingest.rest_client import RestClient, RestError
from ingest.router import RecordRouter
from ingest.sink import RecordSink
from ingest.trade_backfill import backfill
from ingest.trade_continuity import TradeContinuity
from ingest.venue import Venue
from models import (
    BookDelta,
    BookSnapshot,
    DeadLetter,
    FundingRate,
    Liquidation,
    OpenInterest,
    Record,
    Ticker,
    Trade,
)
from models.base import MarketEvent

logger = logging.getLogger(__name__)

#: The channel whose watchdog a record feeds.
CHANNEL_OF: dict[type[Record], str] = {
    Trade: "trades",
    Ticker: "ticker",
    BookDelta: "book",
    BookSnapshot: "book",
    FundingRate: "funding",
    OpenInterest: "open_interest",
    Liquidation: "liquidations",
}


class VenueFeed:
    """Collects ``channels`` of ``symbols`` (canonical) from ``venue`` into ``sink``."""

    def __init__(
        self,
        venue: Venue,
        *,
        symbols: list[str],
        channels: list[str],
        sink: RecordSink,
        ws_url: str | None = None,
        rest: RestClient | None = None,
        options: FeedOptions | None = None,
        poll_seconds: Mapping[str, float] | None = None,
        jobs: JobRegistry = UNTRACKED,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utc_now,
    ) -> None:
        self.venue = venue
        self.symbols = symbols
        self.channels = list(dict.fromkeys(channels))
        self.streamed = venue.check_channels(self.channels)
        self.ws_url = ws_url or venue.ws_url
        self.rest = rest
        self.options = options or FeedOptions()
        self.poll_seconds = dict(poll_seconds or {})
        self.router = RecordRouter(venue, sink, self.options, on_resync=self._resync)
        self._clock, self._wall = clock, wall
        self.connections = self._plan_connections()
        self._connection_of = {s: c for c in self.connections for s in c.symbols}
        self._snapshots: asyncio.Queue[str] = asyncio.Queue()
        self._snapshot_pending: set[str] = set()
        self._resynced_at: dict[str, float] = {}
        self._backfill_wake = asyncio.Event()
        #: (channel, symbol) -> the last record of that stream
        self.latest: dict[tuple[str, str], MarketEvent] = {}
        self.polls = {
            channel: jobs.polling(f"poll.{venue.name}.{channel}", self._interval(channel))
            for channel in venue.polled_channels
            if channel in self.channels
        }
        self.book_job = (
            jobs.every(
                f"book_publish.{venue.name}",
                self.options.book_publish_seconds,
                description="top-N snapshots of the books that changed",
            )
            if "book" in self.streamed
            else None
        )
        self.backfill_job = jobs.on_demand(
            f"trade_backfill.{venue.name}",
            trigger="a gap in the trade ids, or a reconnect",
            description="missing trades from the venue's REST trade history",
        )

    @property
    def continuity(self) -> TradeContinuity:
        return self.router.continuity

    def _plan_connections(self) -> list[Connection]:
        """As few connections as the venue's streams-per-connection limit allows."""
        per_symbol = max(1, len(self.streamed))
        size = max(1, self.venue.max_streams_per_connection // per_symbol)
        plan = []
        for start in range(0, len(self.symbols) if self.streamed else 0, size):
            symbols = self.symbols[start : start + size]
            watched = [c for c in self.streamed if self.venue.subscribe_messages(symbols, [c])]
            plan.append(
                Connection(
                    self.venue,
                    self.ws_url,
                    symbols=symbols,
                    channels=watched,
                    handler=self,
                    options=self.options,
                    clock=self._clock,
                    wall=self._wall,
                )
            )
        return plan

    async def run(self) -> None:
        """Run every connection, worker and poller of the venue until cancelled."""
        name = self.venue.name
        async with asyncio.TaskGroup() as group:
            for connection in self.connections:
                group.create_task(connection.run(), name=connection.name)
            if self.book_job is not None:
                group.create_task(self._publish_books(self.book_job), name=f"{name}-books")
                group.create_task(self._fetch_snapshots(), name=f"{name}-snapshots")
            group.create_task(self._backfill_trades(), name=f"{name}-backfill")
            for channel, job in self.polls.items():
                path = self.venue.polled_channels[channel]
                group.create_task(self._poll(channel, path, job), name=f"{name}-poll")

    # -- the connections' handler ---------------------------------------------------------

    async def on_frame(self, connection: Connection, raw: str | bytes, at: datetime) -> None:
        records = self.venue.parse(raw, at)
        latest = self.latest
        for record in records:
            channel = CHANNEL_OF.get(type(record))
            if channel is not None:
                connection.touch(channel)
                event: Any = record  # a MarketEvent (typed Any: no cast call per record)
                latest[channel, event.symbol] = event
        await self.router.route_all(records)
        if self.continuity.has_new_ranges:
            self._backfill_wake.set()

    async def on_session_start(self, connection: Connection, *, switch: bool) -> None:
        if switch:  # the old session may have lagged the new one: verify the seam
            for symbol in connection.symbols:
                self.continuity.reconnected(symbol)

    async def on_session_lost(self, connection: Connection, reason: str) -> None:
        at = self._wall()
        for symbol in connection.symbols:
            self.continuity.reconnected(symbol)
            for record in self.router.books.invalidate(symbol, "reconnect", at):
                await self.router.publish(record)
            self._snapshot_pending.discard(symbol)

    # -- book resync ------------------------------------------------------------------------

    async def _resync(self, symbol: str, gap: bool) -> None:
        if self.venue.depth_snapshot_path is not None:
            if symbol not in self._snapshot_pending:
                self._snapshot_pending.add(symbol)
                self._snapshots.put_nowait(symbol)
        elif gap:
            await self._resubscribe(symbol)

    async def _resubscribe(self, symbol: str) -> None:
        """Resync one book on a venue that pushes a snapshot on subscription."""
        connection = self._connection_of.get(symbol)
        now = self._clock()
        last = self._resynced_at.get(symbol)
        if connection is None or (
            last is not None and now - last < self.options.resubscribe_min_seconds
        ):
            return
        self._resynced_at[symbol] = now
        for message in self.venue.unsubscribe_messages([symbol], ["book"]):
            await connection.send(message)
        for message in self.venue.subscribe_messages([symbol], ["book"]):
            await connection.send(message)

    # -- workers ----------------------------------------------------------------------------

    async def _fetch_snapshots(self) -> None:
        """REST depth snapshots, one at a time, for symbols that wait for one."""
        path, books = self.venue.depth_snapshot_path, self.router.books
        while True:
            symbol = await self._snapshots.get()
            if path is None or self.rest is None or not books.needs_snapshot(symbol):
                self._snapshot_pending.discard(symbol)
                continue
            params = self.venue.depth_snapshot_params(self.venue.to_native(symbol))
            try:
                body = await self.rest.get(path, params, weight=self.venue.depth_snapshot_weight)
            except RestError as exc:
                logger.warning("%s %s: depth snapshot failed: %s", self.venue.name, symbol, exc)
                await asyncio.sleep(1.0)
                self._snapshot_pending.discard(symbol)  # the next delta asks again
                continue
            snapshot = self.venue.parse_snapshot(body, self._wall(), symbol)
            self._snapshot_pending.discard(symbol)
            if isinstance(snapshot, DeadLetter):
                await self.router.publish(snapshot)
            else:
                for record in books.on_snapshot(snapshot):
                    await self.router.publish(record)

    async def _publish_books(self, job: PeriodicJob) -> None:
        while True:
            await asyncio.sleep(self.options.book_publish_seconds)
            async with job.run() as current:
                current.result = {"published": await self.router.publish_books(self.symbols)}

    async def _backfill_trades(self) -> None:
        while True:
            await self._backfill_wake.wait()
            self._backfill_wake.clear()
            await self.backfill_trades()

    async def backfill_trades(self) -> None:
        """One round of the trade backfill: every trade range opened since the last."""
        job = self.backfill_job
        async with job.run() as current:
            ranges = self.continuity.take_new_ranges()
            added = lost = 0
            for symbol, window in ranges:
                done = await backfill(
                    self.venue,
                    self.rest,
                    self.continuity,
                    symbol,
                    window,
                    publish=self.router.publish,
                    wall=self._wall,
                    max_trades=self.options.max_backfill_trades,
                )
                added, lost = added + done.added, lost + done.lost
                if done.error is not None:
                    job.error(f"{symbol}: {done.error}")
            current.result = {"ranges": len(ranges), "backfilled": added, "lost": lost}

    def _interval(self, channel: str) -> float:
        return self.poll_seconds.get(channel, 900.0)

    async def _poll(self, channel: str, path: str, job: PeriodicJob) -> None:
        """A channel the venue serves over REST only, every ``poll_seconds[channel]``."""
        while True:
            async with job.run():
                await self._poll_round(channel, path, job)
            await asyncio.sleep(self._interval(channel))

    async def _poll_round(self, channel: str, path: str, job: PeriodicJob) -> None:
        for symbol in self.symbols:
            if self.rest is None:
                job.error("no REST client")
                return
            params = self.venue.poll_params(channel, self.venue.to_native(symbol))
            try:
                body = await self.rest.get(path, params)
            except RestError as exc:
                logger.warning("%s %s: polling %s failed: %s", self.venue.name, symbol, path, exc)
                job.error(f"{symbol}: {exc}")
                continue
            for record in self.venue.parse_rest(path, body, self._wall()):
                if isinstance(record, MarketEvent) and CHANNEL_OF.get(type(record)) == channel:
                    self.latest[channel, record.symbol] = record
                await self.router.publish(record)
