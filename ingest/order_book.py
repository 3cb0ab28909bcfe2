"""A local level-2 order book: price -> size per side, with sorted access for the top N.

Each side is a dict (price -> size) for O(1) updates plus the prices in
ascending order, kept with :mod:`bisect`, for the best levels (the last ones
for bids, the first ones for asks). Prices and sizes stay the exchange's
:class:`~decimal.Decimal` values, so ``format(price, "f")`` gives back the
exchange's own digits (OKX checksums need them).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from models import BookSnapshot, InstrumentType
from models.book import BookLevel


class BookSide:
    """One side of a book; ``descending`` for bids (best = highest price)."""

    __slots__ = ("_descending", "_prices", "_sizes")

    def __init__(self, *, descending: bool) -> None:
        self._descending = descending
        self._sizes: dict[Decimal, Decimal] = {}
        self._prices: list[Decimal] = []  # ascending

    def __len__(self) -> int:
        return len(self._sizes)

    def set(self, price: Decimal, size: Decimal) -> None:
        """Set the size at ``price``; size 0 removes the level (absent: no-op)."""
        self.update(((price, size),))

    def update(self, levels: Iterable[BookLevel]) -> None:
        """:meth:`set` each level in order."""
        sizes, prices = self._sizes, self._prices
        for price, size in levels:
            if size:
                if price not in sizes:
                    insort(prices, price)
                sizes[price] = size
            elif sizes.pop(price, None) is not None:
                del prices[bisect_left(prices, price)]

    def load(self, levels: Iterable[BookLevel]) -> None:
        """Replace every level (a snapshot); zero sizes are skipped."""
        self._sizes = {price: size for price, size in levels if size}
        self._prices = sorted(self._sizes)

    def best(self, n: int) -> list[BookLevel]:
        """Up to ``n`` levels, best first."""
        if n <= 0:
            return []
        prices = self._prices[-n:][::-1] if self._descending else self._prices[:n]
        sizes = self._sizes
        return [(price, sizes[price]) for price in prices]

    def best_price(self) -> Decimal | None:
        if not self._prices:
            return None
        return self._prices[-1] if self._descending else self._prices[0]

    def as_dict(self) -> dict[Decimal, Decimal]:
        """A copy of every level (price -> size)."""
        return dict(self._sizes)


class OrderBook:
    """The local book of one symbol on one exchange.

    ``sequence`` is the last update id applied; ``timestamp`` and
    ``collected_at`` are the exchange and receive times of the last change
    (``timestamp`` stays None after a snapshot that carries no exchange time,
    such as Binance spot's REST answer, until the first delta).
    """

    def __init__(
        self, exchange: str, symbol: str, native_symbol: str, instrument_type: InstrumentType
    ) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.native_symbol = native_symbol
        self.instrument_type = instrument_type
        self.bids = BookSide(descending=True)
        self.asks = BookSide(descending=False)
        self.sequence: int | None = None
        self.timestamp: datetime | None = None
        self.collected_at: datetime | None = None
        #: Snapshots and deltas applied so far: tells a changed book from an unchanged one
        #: even where the venue sends no sequence numbers.
        self.version = 0

    def load(
        self,
        bids: Iterable[BookLevel],
        asks: Iterable[BookLevel],
        *,
        sequence: int | None,
        timestamp: datetime | None,
        collected_at: datetime,
    ) -> None:
        """Replace the whole book with a snapshot."""
        self.bids.load(bids)
        self.asks.load(asks)
        self.sequence, self.timestamp, self.collected_at = sequence, timestamp, collected_at
        self.version += 1

    def apply(
        self,
        bids: Iterable[BookLevel],
        asks: Iterable[BookLevel],
        *,
        sequence: int | None,
        timestamp: datetime,
        collected_at: datetime,
    ) -> None:
        """Apply changed levels in order; size 0 removes a level."""
        self.bids.update(bids)
        self.asks.update(asks)
        if sequence is not None:
            self.sequence = sequence
        self.timestamp, self.collected_at = timestamp, collected_at
        self.version += 1

    def crossed(self) -> bool:
        """True when the best bid is at or above the best ask (a broken book)."""
        bid, ask = self.bids.best_price(), self.asks.best_price()
        return bid is not None and ask is not None and bid >= ask

    def top(self, n: int, checksum: int | None = None) -> BookSnapshot | None:
        """The best ``n`` levels a side as a :class:`BookSnapshot`.

        None while no exchange time is known: a snapshot's event time is never
        filled in from the receive time.
        """
        if self.timestamp is None or self.collected_at is None:
            return None
        return BookSnapshot(
            exchange=self.exchange,
            symbol=self.symbol,
            native_symbol=self.native_symbol,
            instrument_type=self.instrument_type,
            timestamp=self.timestamp,
            collected_at=self.collected_at,
            bids=self.bids.best(n),
            asks=self.asks.best(n),
            sequence=self.sequence,
            checksum=checksum,
            depth=n,
        )
