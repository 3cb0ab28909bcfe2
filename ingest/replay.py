"""A recorded session as a source: the same parsers, books and continuity checks
as live ingest, with no network hop.

Works on both recording formats (:mod:`ingest.recording`), gzipped or not.
The venue comes from the recorded URL (cryptofeed files) or the file name
(hftbacktest), or is forced with ``exchange`` for a file recorded from
another endpoint of the same protocol family. REST depth snapshots in the
file feed the books; top-N snapshots are published every
``book_publish_seconds`` of *recorded* time. There is no REST to backfill
from, so a trade gap is published as a gap event at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ingest.options import FeedOptions
from ingest.recording import RecordedMessage, read_recording
from ingest.registry import VENUES, venue_for_recording, venue_for_url
from ingest.router import RecordRouter
from ingest.sink import RecordSink
from ingest.venue import Venue
from ingest.wire import DepthSnapshot
from models.exceptions import ConfigError


@dataclass
class ReplayProgress:
    messages: int = 0
    records: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.messages / elapsed if elapsed > 0 else 0.0


def is_depth_snapshot(venue: Venue, source: str) -> bool:
    """A recorded REST answer is a depth snapshot (hftbacktest's carries no URL)."""
    return not source or urlsplit(source).path == venue.depth_snapshot_path


def snapshot_native_symbol(source: str, path: Path) -> str:
    """The native symbol of a REST snapshot: the URL's ``symbol=``, or the hft file name."""
    if source:
        return parse_qs(urlsplit(source).query)["symbol"][0]
    return path.name.split("_")[1].upper()


def venue_kind(path: Path, message: RecordedMessage, exchange: str | None) -> type[Venue]:
    if exchange is not None:
        kind = VENUES.get(exchange)
        if kind is None:
            raise ConfigError(f"unknown exchange {exchange!r} (known: {', '.join(VENUES)})")
        return kind
    kind = venue_for_url(message.source) or venue_for_recording(path)
    if kind is None:
        raise ConfigError(
            f"cannot tell the venue of {path} from {message.source!r}: pass --exchange"
        )
    return kind


class Replay:
    """Feeds one recording through parsers and a :class:`RecordRouter` per venue."""

    def __init__(
        self,
        sink: RecordSink,
        *,
        exchange: str | None = None,
        options: FeedOptions | None = None,
        progress: Callable[[ReplayProgress], None] | None = None,
    ) -> None:
        self.sink = sink
        self.exchange = exchange
        self.options = options or FeedOptions()
        self.progress = ReplayProgress()
        self._report = progress
        self.routers: dict[type[Venue], RecordRouter] = {}

    def _router(self, kind: type[Venue]) -> RecordRouter:
        router = self.routers.get(kind)
        if router is None:
            venue = kind(max_clock_skew=None)
            router = self.routers[kind] = RecordRouter(venue, self.sink, self.options)
        return router

    async def run(self, path: Path) -> ReplayProgress:
        every = self.options.book_publish_seconds
        next_books: float | None = None
        opened = 0
        last_report = time.monotonic()
        for message in read_recording(path):
            router = self._router(venue_kind(path, message, self.exchange))
            venue, stamp = router.venue, message.received_at.timestamp()
            self.progress.messages += 1
            if message.direction == "opened":
                opened += 1
                if opened > 1:  # a reconnect inside the session
                    await self._reconnected(router, message)
            elif message.direction == "received":
                records = venue.parse(message.text, message.received_at)
                self.progress.records += len(records)
                await router.route_all(records)
                await self._close_trade_gaps(router, message)
            elif message.direction == "rest" and is_depth_snapshot(venue, message.source):
                await self._snapshot(router, path, message)
            if next_books is None or stamp >= next_books:
                await router.publish_books()
                next_books = stamp + every
            if self._report is not None and time.monotonic() - last_report >= 1.0:
                last_report = time.monotonic()
                self._report(self.progress)
        for router in self.routers.values():
            await router.publish_books()
        return self.progress

    async def _snapshot(self, router: RecordRouter, path: Path, message: RecordedMessage) -> None:
        venue = router.venue
        native = snapshot_native_symbol(message.source, path)
        symbol = venue.to_canonical(native)
        if symbol is None:
            await router.publish(
                venue.dead_letter(message.text, f"unknown symbol {native!r}", message.received_at)
            )
            return
        snapshot = venue.parse_snapshot(message.text, message.received_at, symbol)
        if isinstance(snapshot, DepthSnapshot):
            for record in router.books.on_snapshot(snapshot):
                await router.publish(record)
        else:
            await router.publish(snapshot)

    async def _close_trade_gaps(self, router: RecordRouter, message: RecordedMessage) -> None:
        for symbol, window in router.continuity.take_new_ranges():
            gap = router.continuity.close(symbol, window, message.received_at)
            if gap is not None:
                await router.publish(gap)

    async def _reconnected(self, router: RecordRouter, message: RecordedMessage) -> None:
        for symbol in router.books.symbols():
            for record in router.books.invalidate(symbol, "reconnect", message.received_at):
                await router.publish(record)
        for symbol in router.continuity.symbols():
            router.continuity.reconnected(symbol)
