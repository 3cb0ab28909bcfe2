"""Where each parsed record goes: exactly-once trades, synced books, the sink.

Shared by the live :class:`~ingest.feed.VenueFeed` and the file replay
(:mod:`ingest.replay`), so both publish the same records for the same input:

- trades pass :class:`~ingest.trade_continuity.TradeContinuity` (a duplicate
  is dropped, with a Deribit liquidation that came with it);
- book messages go through :class:`~ingest.book_sync.BookSync`; when a symbol
  falls out of sync, ``on_resync`` (if given) is told, so the live feed can
  fetch a snapshot or resubscribe that one symbol;
- everything else (tickers, funding, open interest, liquidations, dead
  letters, gap events) goes to the sink as it is.

Books are published as top-N snapshots by :meth:`RecordRouter.publish_books`,
only for books that changed since the last call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

from ingest.book_sync import BookSync
from ingest.options import FeedOptions
from ingest.sink import RecordSink
from ingest.trade_continuity import TradeContinuity
from ingest.venue import Venue
from models import BookDelta, BookSnapshot, GapEvent, Liquidation, Record, Trade

#: Called with (symbol, whether a gap was just detected) when a book needs a snapshot.
ResyncHook = Callable[[str, bool], Awaitable[None]]


class RecordRouter:
    def __init__(
        self,
        venue: Venue,
        sink: RecordSink,
        options: FeedOptions,
        on_resync: ResyncHook | None = None,
    ) -> None:
        self.venue = venue
        self.sink = sink
        self.options = options
        self.on_resync = on_resync
        self.books = BookSync.for_venue(venue, emit_deltas=options.publish_deltas)
        self.continuity = TradeContinuity(venue.name, contiguous=venue.contiguous_trade_ids)
        self.published: Counter[str] = Counter()
        self._rejected_trades: set[str] = set()
        self._book_published: dict[str, tuple[int, int]] = {}

    async def route_all(self, records: list[Record]) -> None:
        """The records of one message, in order."""
        self._rejected_trades.clear()
        for record in records:
            await self.route(record)

    async def route(self, record: Record) -> None:
        if isinstance(record, Trade):
            if self.continuity.accept(record):
                await self.publish(record)
            else:
                self._rejected_trades.add(record.trade_id)
        elif isinstance(record, BookDelta | BookSnapshot):
            await self._book(record)
        elif isinstance(record, Liquidation) and record.trade_id in self._rejected_trades:
            return  # it came with a duplicate trade (Deribit)
        else:
            await self.publish(record)

    async def publish(self, record: Record) -> None:
        self.published[type(record).__name__] += 1
        await self.sink.publish(record)

    async def publish_books(self, symbols: list[str] | None = None) -> int:
        """A top-N snapshot of every live book that changed since the last call."""
        depth, count = self.options.book_depth, 0
        for symbol in self.books.symbols() if symbols is None else symbols:
            book = self.books.book(symbol)
            if book is None or self._book_published.get(symbol) == (id(book), book.version):
                continue
            top = self.books.top(symbol, depth)
            if top is not None:
                self._book_published[symbol] = (id(book), book.version)
                await self.publish(top)
                count += 1
        return count

    async def _book(self, record: BookDelta | BookSnapshot) -> None:
        if isinstance(record, BookDelta):
            out = self.books.on_delta(record)
        else:
            out = self.books.on_snapshot(record)
        for item in out:
            await self.publish(item)
        if self.on_resync is not None and self.books.needs_snapshot(record.symbol):
            gap = any(isinstance(item, GapEvent) for item in out)
            await self.on_resync(record.symbol, gap)
