"""Tickers: best bid/ask and rolling 24 h statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import Field, model_validator

from models.base import EVENT_FIELDS, EventSource, MarketEvent, assemble
from models.numbers import Price, SignedDecimal, Size


class Ticker(MarketEvent):
    """Best bid/ask and, where the venue sends them, 24 h statistics.

    A Binance ``bookTicker`` fills only the best bid/ask; a ``24hrTicker``,
    an OKX ``tickers`` or a Deribit ``ticker`` message fills the rest. Every
    ticker carries at least a best bid/ask pair or a last price.
    """

    type: Literal["ticker"] = "ticker"
    bid_price: Price | None = None
    bid_size: Size | None = None
    ask_price: Price | None = None
    ask_size: Size | None = None
    last_price: Price | None = None
    open_24h: Price | None = None
    high_24h: Price | None = None
    low_24h: Price | None = None
    volume_24h: Size | None = Field(default=None, description="base volume over 24 h")
    quote_volume_24h: Size | None = Field(default=None, description="quote volume over 24 h")
    price_change_pct_24h: SignedDecimal | None = None
    sequence: int | None = Field(default=None, description="book update id, where sent")

    @model_validator(mode="after")
    def _has_a_price(self) -> Self:
        if self.last_price is None and (self.bid_price is None or self.ask_price is None):
            raise ValueError("a ticker needs a best bid and ask, or a last price")
        return self


#: The fields a best bid/ask message sets.
_QUOTE_FIELDS = frozenset(
    (*EVENT_FIELDS, "bid_price", "bid_size", "ask_price", "ask_size", "sequence")
)
_QUOTE_FIELD_SET = set(_QUOTE_FIELDS)  # copied into each record (``set.copy`` is fastest)


def checked_quote(
    source: EventSource,
    timestamp: datetime,
    collected_at: datetime,
    bid_price: Decimal,
    bid_size: Decimal,
    ask_price: Decimal,
    ask_size: Decimal,
    sequence: int | None,
) -> Ticker:
    """``Ticker.trusted(source, timestamp, collected_at, bid_price=..., bid_size=...,
    ask_price=..., ask_size=..., sequence=...)``, the same best bid/ask ticker built in
    one step (the parsers' hot path).

    The caller vouches for the values as for :meth:`~models.MarketEvent.trusted`.
    What the shortcut cannot vouch for (an untrusted source, a time that is not an
    aware UTC ``datetime``, a missing bid or ask price) goes through
    :meth:`~models.MarketEvent.trusted`.
    """
    if not (
        source.trusted
        and timestamp.tzinfo is UTC
        and collected_at.tzinfo is UTC
        and type(timestamp) is datetime
        and type(collected_at) is datetime
        and bid_price is not None
        and ask_price is not None
    ):
        return Ticker.trusted(
            source,
            timestamp,
            collected_at,
            bid_price=bid_price,
            bid_size=bid_size,
            ask_price=ask_price,
            ask_size=ask_size,
            sequence=sequence,
        )
    values = {  # every field in model field order (a literal: faster than merging dicts)
        "exchange": source.exchange,
        "symbol": source.symbol,
        "native_symbol": source.native_symbol,
        "instrument_type": source.instrument_type,
        "timestamp": timestamp,
        "collected_at": collected_at,
        "type": "ticker",
        "bid_price": bid_price,
        "bid_size": bid_size,
        "ask_price": ask_price,
        "ask_size": ask_size,
        "last_price": None,
        "open_24h": None,
        "high_24h": None,
        "low_24h": None,
        "volume_24h": None,
        "quote_volume_24h": None,
        "price_change_pct_24h": None,
        "sequence": sequence,
    }
    return assemble(Ticker, values, _QUOTE_FIELD_SET.copy())
