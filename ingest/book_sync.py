"""Keeping local order books in sync with a venue's deltas, one symbol at a time.

:class:`BookSync` holds the books of one venue. Deltas go to :meth:`BookSync.on_delta`,
snapshots (Binance's REST answer, or the OKX/Deribit ``snapshot`` push) to
:meth:`BookSync.on_snapshot`; both return the records to publish. The
venue's :class:`~ingest.sequence_rules.SequenceRule` decides what is stale,
what bridges a snapshot and what continues the stream, so nothing here knows
one exchange from another.

A gap or checksum mismatch yields a :class:`~models.GapEvent` and puts only
that symbol back into "needs a snapshot" (buffering, where the rule says so);
the next snapshot rebuilds it and repeats the event with ``resynced=True``.
The connection layer polls :meth:`BookSync.needs_snapshot` to know when to
fetch (or resubscribe for) a snapshot.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from ingest.order_book import OrderBook
from ingest.sequence_rules import SequenceRule
from ingest.venue import Venue
from ingest.wire import DepthSnapshot
from models import BookDelta, BookSnapshot, GapEvent, Record
from models.exceptions import ConfigError

logger = logging.getLogger(__name__)

#: Deltas kept per symbol while waiting for a snapshot (Binance spot at 100 ms
#: sends 10 a second; a REST snapshot normally arrives within seconds).
DEFAULT_MAX_BUFFER = 10_000


@dataclass
class BookSyncStats:
    """Counters of one :class:`BookSync` (all symbols)."""

    snapshots: int = 0
    snapshots_rejected: int = 0
    applied: int = 0
    stale: int = 0
    dropped_waiting: int = 0
    buffer_overflow: int = 0
    checksums_verified: int = 0
    gaps: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Symbol:
    buffer: deque[BookDelta]
    book: OrderBook | None = None
    bridged: bool = False
    gap: GapEvent | None = None


class BookSync:
    """The local books of one venue, synchronized by its sequence rule.

    ``emit_deltas`` also returns every delta that was applied in sequence
    (for publishing books as deltas); top-N snapshots are taken with :meth:`top`.
    """

    def __init__(
        self,
        exchange: str,
        rule: SequenceRule,
        *,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        emit_deltas: bool = False,
    ) -> None:
        if max_buffer < 1:
            raise ConfigError(f"max_buffer must be at least 1, not {max_buffer}")
        self.exchange = exchange
        self.rule = rule
        self.max_buffer = max_buffer
        self.emit_deltas = emit_deltas
        self.stats = BookSyncStats()
        self._symbols: dict[str, _Symbol] = {}

    @classmethod
    def for_venue(
        cls,
        venue: Venue | type[Venue],
        *,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        emit_deltas: bool = False,
    ) -> BookSync:
        """The book keeper of ``venue``, with the sequence rule it declares."""
        return cls(venue.name, venue.book_rule, max_buffer=max_buffer, emit_deltas=emit_deltas)

    # -- queries -------------------------------------------------------------------

    def needs_snapshot(self, symbol: str) -> bool:
        """True until ``symbol`` has a book in sync (never seen, waiting, or resyncing)."""
        state = self._symbols.get(symbol)
        return state is None or state.book is None

    def symbols(self) -> list[str]:
        """Every symbol this keeper has seen."""
        return list(self._symbols)

    def book(self, symbol: str) -> OrderBook | None:
        """The live book of ``symbol``, or None while it waits for a snapshot."""
        state = self._symbols.get(symbol)
        return None if state is None else state.book

    def top(self, symbol: str, n: int) -> BookSnapshot | None:
        """The best ``n`` levels a side of a live book (None while out of sync)."""
        book = self.book(symbol)
        if book is None:
            return None
        checksum = self.rule.checksum(book) if self.rule.has_checksum else None
        return book.top(n, checksum)

    def crossed(self, symbol: str) -> bool:
        """True when the live book of ``symbol`` has best bid >= best ask."""
        book = self.book(symbol)
        return book is not None and book.crossed()

    # -- input ---------------------------------------------------------------------

    def on_delta(self, delta: BookDelta) -> list[Record]:
        """Apply (or buffer) one delta; returns gap events and, if enabled, the delta."""
        self._check_exchange(delta.exchange)
        state = self._state(delta.symbol)
        if state.book is not None:
            return self._apply(state, state.book, delta)
        if not self.rule.buffers_before_snapshot:
            self.stats.dropped_waiting += 1
        else:
            if len(state.buffer) == state.buffer.maxlen:
                self.stats.buffer_overflow += 1
            state.buffer.append(delta)
        return []

    def on_snapshot(self, snapshot: DepthSnapshot | BookSnapshot) -> list[Record]:
        """Rebuild a symbol from a full snapshot and apply what was buffered for it.

        A snapshot older than every buffered delta is set aside (the symbol keeps
        waiting for a newer one, nothing is published).
        """
        self._check_exchange(snapshot.exchange)
        state = self._state(snapshot.symbol)
        self.stats.snapshots += 1
        book = OrderBook(
            snapshot.exchange, snapshot.symbol, snapshot.native_symbol, snapshot.instrument_type
        )
        book.load(
            snapshot.bids,
            snapshot.asks,
            sequence=snapshot.sequence,
            timestamp=snapshot.timestamp,
            collected_at=snapshot.collected_at,
        )
        expected = snapshot.checksum if isinstance(snapshot, BookSnapshot) else None
        if self.rule.has_checksum and expected is not None:
            if self.rule.checksum(book) != expected:
                cause, at = "checksum_mismatch", snapshot.collected_at
                return [self._gap(state, book.symbol, snapshot.sequence, None, cause, at)]
            self.stats.checksums_verified += 1
        pending = list(state.buffer)
        state.buffer.clear()
        last = snapshot.sequence
        if last is not None:
            kept = [d for d in pending if not self.rule.stale(d, last, after_snapshot=True)]
            self.stats.stale += len(pending) - len(kept)
            pending = kept
            if pending and not self.rule.bridges(pending[0], last):
                self.stats.snapshots_rejected += 1
                state.buffer.extend(pending)
                logger.info(
                    "%s %s: snapshot %s predates the buffered deltas",
                    self.exchange,
                    snapshot.symbol,
                    last,
                )
                return []
        state.book, state.bridged = book, False
        out: list[Record] = []
        if state.gap is not None:
            out.append(state.gap.model_copy(update={"resynced": True}))
            state.gap = None
        for n, delta in enumerate(pending):
            out.extend(self._apply(state, book, delta))
            if state.book is None:  # a gap inside the buffer: wait again
                state.buffer.extend(pending[n + 1 :])
                break
        return out

    def invalidate(self, symbol: str, cause: str, at: datetime) -> list[Record]:
        """Drop ``symbol``'s book (e.g. its connection was lost); a gap event if it was live."""
        state = self._state(symbol)
        if state.book is None:
            state.buffer.clear()
            return []
        return [self._gap(state, symbol, state.book.sequence, None, cause, at)]

    # -- internals -----------------------------------------------------------------

    def _apply(self, state: _Symbol, book: OrderBook, delta: BookDelta) -> list[Record]:
        rule, last, at = self.rule, book.sequence, delta.collected_at
        if last is not None:
            if rule.stale(delta, last, after_snapshot=not state.bridged):
                self.stats.stale += 1
                return []
            ok = rule.follows(delta, last) if state.bridged else rule.bridges(delta, last)
            if not ok:
                return [self._gap(state, book.symbol, last, delta, "sequence_gap", at)]
        book.apply(
            delta.bids,
            delta.asks,
            sequence=delta.sequence,
            timestamp=delta.timestamp,
            collected_at=delta.collected_at,
        )
        state.bridged = True
        self.stats.applied += 1
        if rule.has_checksum and delta.checksum is not None:
            if rule.checksum(book) != delta.checksum:
                return [self._gap(state, book.symbol, last, delta, "checksum_mismatch", at)]
            self.stats.checksums_verified += 1
        return [delta] if self.emit_deltas else []

    def _gap(
        self,
        state: _Symbol,
        symbol: str,
        last: int | None,
        delta: BookDelta | None,
        cause: str,
        at: datetime,
    ) -> GapEvent:
        """Record a gap after id ``last`` and send ``symbol`` back to waiting for a snapshot."""
        to = None
        if delta is not None:
            to = delta.sequence if delta.first_sequence is None else delta.first_sequence
        missing = None
        if delta is not None and last is not None and cause == "sequence_gap":
            missing = self.rule.missing(delta, last)
        event = GapEvent(
            exchange=self.exchange,
            symbol=symbol,
            channel="book",
            cause=cause,
            from_sequence=last,
            to_sequence=to,
            missing=missing,
            resynced=False,
            timestamp=at,
        )
        logger.warning(
            "%s %s: book %s after %s (next %s); resyncing", self.exchange, symbol, cause, last, to
        )
        self.stats.gaps[cause] = self.stats.gaps.get(cause, 0) + 1
        state.book, state.bridged = None, False
        state.buffer.clear()
        if delta is not None and self.rule.buffers_before_snapshot:
            state.buffer.append(delta)
        if state.gap is None:
            state.gap = event
        return event

    def _state(self, symbol: str) -> _Symbol:
        state = self._symbols.get(symbol)
        if state is None:
            state = self._symbols[symbol] = _Symbol(deque(maxlen=self.max_buffer))
        return state

    def _check_exchange(self, exchange: str) -> None:
        if exchange != self.exchange:
            raise ValueError(f"a {exchange} book event sent to the {self.exchange} BookSync")
