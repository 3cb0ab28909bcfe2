"""Exactly-once trades per symbol, by trade sequence number.

Every trade passes :meth:`TradeContinuity.accept`: it is new (published) or a
duplicate (dropped). Where trades may be missing, the tracker keeps an *open
range* ``(low, high)`` of sequence numbers: ids inside it are accepted once,
from the live stream or from the REST backfill, until the backfill closes
the range. What a closed range still lacks is a counted, published gap.

- Venues whose ids have no holes (``contiguous``: Binance aggregate ids,
  Deribit ``trade_seq``) open a range whenever the stream jumps.
- For the others (OKX), a range opens only across a reconnect: between the
  last id before it and the first id after it. The REST history decides
  what was in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models import GapEvent, Trade


@dataclass(slots=True)
class OpenRange:
    """Ids strictly between ``low`` and ``high`` that may still arrive."""

    low: int
    high: int
    seen: set[int] = field(default_factory=set)

    def holds(self, sequence: int) -> bool:
        return self.low < sequence < self.high

    @property
    def width(self) -> int:
        return self.high - self.low - 1


@dataclass(slots=True)
class _Symbol:
    high: int | None = None
    reconnected: bool = False
    ranges: list[OpenRange] = field(default_factory=list)


@dataclass
class ContinuityStats:
    accepted: int = 0
    duplicates: int = 0
    ranges_opened: int = 0
    backfilled: int = 0
    lost: int = 0


class TradeContinuity:
    """The trade-id bookkeeping of one venue (all its symbols)."""

    def __init__(self, exchange: str, *, contiguous: bool) -> None:
        self.exchange = exchange
        self.contiguous = contiguous
        self.stats = ContinuityStats()
        self._symbols: dict[str, _Symbol] = {}
        #: Ranges opened since the last :meth:`take_new_ranges`, for the backfiller.
        self._new: list[tuple[str, OpenRange]] = []

    def accept(self, trade: Trade, *, backfilled: bool = False) -> bool:
        """True when ``trade`` is new and must be published; False for a duplicate."""
        sequence = trade.sequence
        if sequence is None:  # no id to check by: nothing to deduplicate on
            self.stats.accepted += 1
            return True
        state = self._symbols.get(trade.symbol)
        if state is None:
            state = self._symbols[trade.symbol] = _Symbol()
        high = state.high
        if high is None or sequence > high:
            if high is not None and sequence > high + 1:
                if self.contiguous or state.reconnected:
                    self._open(trade.symbol, state, high, sequence)
            state.high, state.reconnected = sequence, False
            self.stats.accepted += 1
            return True
        for window in state.ranges:
            if window.holds(sequence) and sequence not in window.seen:
                window.seen.add(sequence)
                self.stats.accepted += 1
                self.stats.backfilled += backfilled
                if self.contiguous and len(window.seen) == window.width:
                    state.ranges.remove(window)
                return True
        self.stats.duplicates += 1
        return False

    def reconnected(self, symbol: str) -> None:
        """The stream of ``symbol`` was interrupted: trades may be missing before
        the next one that arrives."""
        state = self._symbols.get(symbol)
        if state is not None and state.high is not None:
            state.reconnected = True

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def last(self, symbol: str) -> int | None:
        state = self._symbols.get(symbol)
        return None if state is None else state.high

    @property
    def has_new_ranges(self) -> bool:
        return bool(self._new)

    def take_new_ranges(self) -> list[tuple[str, OpenRange]]:
        """Ranges opened since the last call (each to be backfilled once)."""
        new, self._new = self._new, []
        return new

    def open_ranges(self, symbol: str) -> list[OpenRange]:
        state = self._symbols.get(symbol)
        return [] if state is None else list(state.ranges)

    def close(
        self, symbol: str, window: OpenRange, at: datetime, *, failed: bool = False
    ) -> GapEvent | None:
        """The backfill of ``window`` is over (``failed``: the REST history could not
        be read); a gap event when trades are known or feared to be lost."""
        state = self._symbols.get(symbol)
        if state is not None and window in state.ranges:
            state.ranges.remove(window)
        missing = window.width - len(window.seen) if self.contiguous else 0
        if missing <= 0 and not failed:
            return None
        cause = "backfill_failed" if failed else "trades_lost"
        self.stats.lost += max(missing, 0)
        return GapEvent(
            exchange=self.exchange,
            symbol=symbol,
            channel="trades",
            cause=cause,
            from_sequence=window.low,
            to_sequence=window.high,
            missing=missing if self.contiguous else None,
            timestamp=at,
        )

    def _open(self, symbol: str, state: _Symbol, low: int, high: int) -> None:
        window = OpenRange(low, high)
        state.ranges.append(window)
        self.stats.ranges_opened += 1
        self._new.append((symbol, window))
