"""Level-2 order books: top-N snapshots and incremental deltas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, Self

from pydantic import Field, model_validator

from models.base import EVENT_FIELDS, EventSource, MarketEvent, assemble
from models.numbers import Price, Size

#: One price level: ``(price, size)``; JSON ``["61837.63", "1.5"]``.
BookLevel = tuple[Price, Size]


class BookSnapshot(MarketEvent):
    """The top of a locally maintained book (bids best-first, asks best-first)."""

    type: Literal["book_snapshot"] = "book_snapshot"
    bids: list[BookLevel]
    asks: list[BookLevel]
    sequence: int | None = Field(default=None, description="last update id applied")
    checksum: int | None = Field(default=None, description="venue checksum (OKX CRC32)")
    depth: int = Field(ge=1, description="levels per side requested (the lists may be shorter)")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if len(self.bids) > self.depth or len(self.asks) > self.depth:
            raise ValueError(f"more levels than depth={self.depth}")
        if any(
            lower[0] >= upper[0] for upper, lower in zip(self.bids, self.bids[1:], strict=False)
        ):
            raise ValueError("bids must be strictly descending by price")
        if any(
            upper[0] <= lower[0] for lower, upper in zip(self.asks, self.asks[1:], strict=False)
        ):
            raise ValueError("asks must be strictly ascending by price")
        if any(size == 0 for _, size in (*self.bids, *self.asks)):
            raise ValueError("a snapshot level cannot have size 0")
        return self


class BookDelta(MarketEvent):
    """Changed levels in exchange order; size 0 removes the level.

    ``first_sequence``/``sequence`` are the update-id range (Binance U/u,
    OKX seqId, Deribit change_id); ``prev_sequence`` is the id the venue says
    must precede it (Binance futures ``pu``, OKX ``prevSeqId``, Deribit
    ``prev_change_id``), when it sends one.
    """

    type: Literal["book_delta"] = "book_delta"
    bids: list[BookLevel]
    asks: list[BookLevel]
    first_sequence: int | None = None
    sequence: int | None = None
    prev_sequence: int | None = None
    checksum: int | None = Field(default=None, description="venue checksum (OKX CRC32)")


#: The fields a sequenced delta message sets (Binance spot and USD-M).
_DELTA_FIELDS = frozenset(
    (*EVENT_FIELDS, "bids", "asks", "first_sequence", "sequence", "prev_sequence")
)


def checked_delta(
    source: EventSource,
    timestamp: datetime,
    collected_at: datetime,
    bids: list[BookLevel],
    asks: list[BookLevel],
    first_sequence: int | None,
    sequence: int | None,
    prev_sequence: int | None,
) -> BookDelta:
    """``BookDelta.trusted(source, timestamp, collected_at, bids=..., asks=...,
    first_sequence=..., sequence=..., prev_sequence=...)``, the same delta built in one
    step (the parsers' hot path).

    The caller vouches for the values as for :meth:`~models.MarketEvent.trusted`
    (levels as ``(price, size)`` tuples); an untrusted source or a time that is not
    an aware UTC ``datetime`` goes through :meth:`~models.MarketEvent.trusted`.
    """
    if not (
        source.trusted
        and timestamp.tzinfo is UTC
        and collected_at.tzinfo is UTC
        and type(timestamp) is datetime
        and type(collected_at) is datetime
    ):
        return BookDelta.trusted(
            source,
            timestamp,
            collected_at,
            bids=bids,
            asks=asks,
            first_sequence=first_sequence,
            sequence=sequence,
            prev_sequence=prev_sequence,
        )
    values = {
        **source.fields,  # the four source fields, in model field order
        "timestamp": timestamp,
        "collected_at": collected_at,
        "type": "book_delta",
        "bids": bids,
        "asks": asks,
        "first_sequence": first_sequence,
        "sequence": sequence,
        "prev_sequence": prev_sequence,
        "checksum": None,
    }
    return assemble(BookDelta, values, set(_DELTA_FIELDS))
