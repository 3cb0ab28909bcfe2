"""Each venue's order-book sequence rule, as a small strategy object.

A venue declares its rule (``Venue.book_rule``); :class:`~ingest.book_sync.BookSync`
asks it three questions about every delta and never branches on the venue:

- ``stale``: is the delta already contained in the book (drop it silently)?
- ``bridges``: may it be the first delta applied on top of a snapshot?
- ``follows``: does it continue the last delta applied?

A delta without the ids a rule needs (OKX sessions recorded before ``seqId``
existed) cannot be checked and is accepted; the checksum then is the only guard.
"""

from __future__ import annotations

import zlib

from ingest.order_book import OrderBook
from models import BookDelta
from models.book import BookLevel


class SequenceRule:
    """The base rule: every delta is accepted (a venue with no sequence ids)."""

    #: Deltas that arrive before the snapshot are kept for it (Binance's REST
    #: snapshot), rather than dropped (a WebSocket snapshot comes in-stream first).
    buffers_before_snapshot = False
    #: The venue sends a checksum of its book with each update.
    has_checksum = False

    def stale(self, delta: BookDelta, last: int, *, after_snapshot: bool) -> bool:
        return False

    def bridges(self, delta: BookDelta, snapshot: int) -> bool:
        return True

    def follows(self, delta: BookDelta, last: int) -> bool:
        return True

    def missing(self, delta: BookDelta, last: int) -> int | None:
        """How many ids a gap lost, where the venue's ids are contiguous."""
        return None

    def checksum(self, book: OrderBook) -> int | None:
        """The venue's checksum of ``book``, for rules with ``has_checksum``."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BinanceSpotRule(SequenceRule):
    """Binance spot ``U``/``u``: buffer, drop ``u <= lastUpdateId``, the first applied
    has ``U <= lastUpdateId + 1 <= u``, then each ``U`` is the previous ``u + 1``."""

    buffers_before_snapshot = True

    def stale(self, delta: BookDelta, last: int, *, after_snapshot: bool) -> bool:
        return delta.sequence is not None and delta.sequence <= last

    def bridges(self, delta: BookDelta, snapshot: int) -> bool:
        first, final = delta.first_sequence, delta.sequence
        return first is None or final is None or first <= snapshot + 1 <= final

    def follows(self, delta: BookDelta, last: int) -> bool:
        return delta.first_sequence is None or delta.first_sequence == last + 1

    def missing(self, delta: BookDelta, last: int) -> int | None:
        first = delta.first_sequence
        return None if first is None else max(first - last - 1, 0)


class BinanceFuturesRule(SequenceRule):
    """Binance USD-M: drop ``u < lastUpdateId``; the first applied has
    ``U <= lastUpdateId <= u``; then each ``pu`` is the previous ``u``."""

    buffers_before_snapshot = True

    def stale(self, delta: BookDelta, last: int, *, after_snapshot: bool) -> bool:
        final = delta.sequence
        if final is None:
            return False
        return final < last if after_snapshot else final <= last

    def bridges(self, delta: BookDelta, snapshot: int) -> bool:
        first, final = delta.first_sequence, delta.sequence
        return first is None or final is None or first <= snapshot <= final

    def follows(self, delta: BookDelta, last: int) -> bool:
        return delta.prev_sequence is None or delta.prev_sequence == last


class PrevIdRule(SequenceRule):
    """A snapshot in the stream, then each delta's previous id is the last id applied
    (Deribit ``prev_change_id``/``change_id``)."""

    def stale(self, delta: BookDelta, last: int, *, after_snapshot: bool) -> bool:
        return delta.sequence is not None and delta.sequence <= last

    def bridges(self, delta: BookDelta, snapshot: int) -> bool:
        return self.follows(delta, snapshot)

    def follows(self, delta: BookDelta, last: int) -> bool:
        return delta.prev_sequence is None or delta.prev_sequence == last


class DeribitRule(PrevIdRule):
    """Deribit: the ``snapshot`` notification, then ``prev_change_id == change_id``."""


class OkxRule(PrevIdRule):
    """OKX: the ``snapshot`` push, then ``prevSeqId == seqId`` of the previous push
    (a heartbeat repeats it: ``seqId == prevSeqId``), and the CRC32 checksum.

    Checksum (OKX v5 docs): the best 25 bids and asks as ``price:size``
    strings, interleaved bid, ask, bid, ask (a shorter side just ends),
    joined with ``:``; CRC32 compared as a signed 32-bit integer.
    """

    has_checksum = True
    depth = 25

    def stale(self, delta: BookDelta, last: int, *, after_snapshot: bool) -> bool:
        final, prev = delta.sequence, delta.prev_sequence
        if final is None:
            return False
        return final < last or (final == last and prev != final)

    def checksum(self, book: OrderBook) -> int:
        return okx_checksum(book.bids.best(self.depth), book.asks.best(self.depth))


def okx_checksum(bids: list[BookLevel], asks: list[BookLevel]) -> int:
    """OKX's CRC32 of the top levels (best first), as a signed 32-bit integer.

    Levels hold the exchange's Decimals; ``format(d, "f")`` writes their
    original digits (``"0.0590"`` stays ``"0.0590"``).
    """
    parts: list[str] = []
    for n in range(max(len(bids), len(asks))):
        for side in (bids, asks):
            if n < len(side):
                price, size = side[n]
                parts.append(f"{price:f}:{size:f}")
    crc = zlib.crc32(":".join(parts).encode("ascii"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc
