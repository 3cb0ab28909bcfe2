"""Tickers: best bid/ask and rolling 24 h statistics."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from models.base import MarketEvent
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
