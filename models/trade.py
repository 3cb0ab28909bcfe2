"""Trades and liquidations."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from models.base import EVENT_FIELDS, EventSource, MarketEvent, assemble
from models.numbers import PositiveSize, Price, exact_product


class Side(StrEnum):
    """The aggressor's side of a trade; for a liquidation, the side of the forced order."""

    BUY = "buy"
    SELL = "sell"


_SELL = Side.SELL  # a module constant: enum attribute access is slow on the hot path


def _price_times_quantity(data: dict[str, Any]) -> Decimal:
    return exact_product(data["price"], data["quantity"])


def _taker_sold(data: dict[str, Any]) -> bool:
    return data["side"] is _SELL


class Trade(MarketEvent):
    """One public trade (the seed's NormalizedTrade).

    Binance ``trade``/``aggTrade`` payload this comes from::

        {"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,
         "p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}
    """

    type: Literal["trade"] = "trade"
    trade_id: str = Field(min_length=1, description="exchange trade id (as text, any venue)")
    price: Price
    quantity: PositiveSize = Field(description="base quantity, or contracts for inverse futures")
    side: Side = Field(description="taker (aggressor) side")
    quote_quantity: PositiveSize = Field(
        default_factory=_price_times_quantity, description="price x quantity unless the venue says"
    )
    is_buyer_maker: bool = Field(
        default_factory=_taker_sold, description="True when the buyer was the maker (taker sold)"
    )
    sequence: int | None = Field(default=None, description="per-instrument trade sequence")

    @model_validator(mode="after")
    def _side_consistent(self) -> Self:
        if self.is_buyer_maker != (self.side is _SELL):
            raise ValueError("is_buyer_maker must be True exactly when the taker side is 'sell'")
        return self


class Liquidation(MarketEvent):
    """A forced order (Binance forceOrder, OKX liquidation-orders, Deribit liquidation trades)."""

    type: Literal["liquidation"] = "liquidation"
    side: Side = Field(description="side of the forced order: sell = a long was liquidated")
    price: Price
    quantity: PositiveSize
    quote_quantity: PositiveSize = Field(default_factory=_price_times_quantity)
    trade_id: str | None = None
    order_status: str | None = None


#: The fields a venue's trade message sets (the rest are derived).
_TAKER_FIELDS = frozenset((*EVENT_FIELDS, "trade_id", "price", "quantity", "side", "sequence"))
_TAKER_FIELD_SET = set(_TAKER_FIELDS)  # copied into each record (``set.copy`` is fastest)


def checked_trade(
    source: EventSource,
    timestamp: datetime,
    collected_at: datetime,
    trade_id: str,
    price: Decimal,
    quantity: Decimal,
    side: Side,
    sequence: int | None,
) -> Trade:
    """``Trade.trusted(source, timestamp, collected_at, trade_id=..., price=..., quantity=...,
    side=..., sequence=...)``, the same record built in one step (the parsers' hot path).

    The caller vouches for the values as for :meth:`~models.MarketEvent.trusted`;
    ``quote_quantity`` and ``is_buyer_maker`` are derived as their default factories
    do, so the side check holds by construction. An untrusted source or a time that
    is not an aware UTC ``datetime`` goes through :meth:`~models.MarketEvent.trusted`.
    """
    if not (
        source.trusted
        and timestamp.tzinfo is UTC
        and collected_at.tzinfo is UTC
        and type(timestamp) is datetime
        and type(collected_at) is datetime
    ):
        return Trade.trusted(
            source,
            timestamp,
            collected_at,
            trade_id=trade_id,
            price=price,
            quantity=quantity,
            side=side,
            sequence=sequence,
        )
    values = {  # every field in model field order (a literal: faster than merging dicts)
        "exchange": source.exchange,
        "symbol": source.symbol,
        "native_symbol": source.native_symbol,
        "instrument_type": source.instrument_type,
        "timestamp": timestamp,
        "collected_at": collected_at,
        "type": "trade",
        "trade_id": trade_id,
        "price": price,
        "quantity": quantity,
        "side": side,
        "quote_quantity": exact_product(price, quantity),
        "is_buyer_maker": side is _SELL,
        "sequence": sequence,
    }
    return assemble(Trade, values, _TAKER_FIELD_SET.copy())
