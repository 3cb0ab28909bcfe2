"""Trades and liquidations."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from models.base import MarketEvent
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
