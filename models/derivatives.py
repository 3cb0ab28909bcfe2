"""Derivative-only data: funding rates and open interest."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from models.base import MarketEvent
from models.numbers import Price, SignedDecimal, Size, UtcDatetime


class FundingRate(MarketEvent):
    """A perpetual's funding rate (the seed's NormalizedFundingRate)."""

    type: Literal["funding_rate"] = "funding_rate"
    funding_rate: SignedDecimal = Field(description="current rate per funding interval")
    next_funding_time: UtcDatetime | None = None
    mark_price: Price | None = None
    index_price: Price | None = None
    estimated_rate: SignedDecimal | None = Field(
        default=None, description="predicted next rate, where the venue publishes one"
    )
    interval_hours: int | None = Field(default=None, ge=1, le=24)


class OpenInterest(MarketEvent):
    """Open interest of a derivative, in contracts/base units and, if known, quote value."""

    type: Literal["open_interest"] = "open_interest"
    open_interest: Size
    open_interest_value: Size | None = Field(default=None, description="in quote currency")
