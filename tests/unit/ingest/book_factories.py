"""Tiny synthetic book events for the order-book tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ingest.wire import DepthSnapshot
from models import BookDelta, BookSnapshot, Instrument

T0 = datetime(2024, 8, 8, 23, 55, tzinfo=UTC)
Levels = Sequence[tuple[str, str]]


def levels(rows: Levels) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(price), Decimal(size)) for price, size in rows]


def _identity(exchange: str, symbol: str) -> dict[str, Any]:
    return {
        "exchange": exchange,
        "symbol": symbol,
        "native_symbol": symbol.replace("-", ""),
        "instrument_type": Instrument.parse(symbol).type,
    }


def delta(
    first: int | None = None,
    seq: int | None = None,
    *,
    prev: int | None = None,
    bids: Levels = (),
    asks: Levels = (),
    checksum: int | None = None,
    symbol: str = "BTC-USDT",
    exchange: str = "binance",
    ms: int = 0,
) -> BookDelta:
    """A delta; ``ms`` offsets both times from :data:`T0`."""
    at = T0 + timedelta(milliseconds=ms)
    return BookDelta(
        **_identity(exchange, symbol),
        timestamp=at,
        collected_at=at + timedelta(milliseconds=5),
        bids=levels(bids),
        asks=levels(asks),
        first_sequence=first,
        sequence=seq,
        prev_sequence=prev,
        checksum=checksum,
    )


def rest_snapshot(
    seq: int,
    bids: Levels,
    asks: Levels,
    *,
    symbol: str = "BTC-USDT",
    exchange: str = "binance",
) -> DepthSnapshot:
    """A REST depth snapshot (Binance spot: no exchange time)."""
    return DepthSnapshot(
        **_identity(exchange, symbol),
        sequence=seq,
        bids=levels(bids),
        asks=levels(asks),
        collected_at=T0,
    )


def ws_snapshot(
    seq: int | None,
    bids: Levels,
    asks: Levels,
    *,
    checksum: int | None = None,
    symbol: str = "BTC-USDT",
    exchange: str = "okx",
) -> BookSnapshot:
    """A snapshot pushed on the WebSocket (OKX, Deribit)."""
    return BookSnapshot(
        **_identity(exchange, symbol),
        timestamp=T0,
        collected_at=T0 + timedelta(milliseconds=5),
        bids=levels(bids),
        asks=levels(asks),
        sequence=seq,
        checksum=checksum,
        depth=max(len(bids), len(asks), 1),
    )
