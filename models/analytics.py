"""Window statistics published on the analytics topic."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from models.base import SymbolRecord
from models.numbers import Price, Size, UtcDatetime


class WindowStats(SymbolRecord):
    """Statistics of one symbol's trades over one window.

    Keeps the seed's analytics fields (``symbol``, ``timestamp``,
    ``average_price``, ``min_price``, ``max_price``, ``std_dev``,
    ``volatility``). OHLC and volumes are exact; the statistics are float64,
    because they are estimates and are computed with numpy.
    ``timestamp`` is the window end in exchange event time.
    """

    type: Literal["window_stats"] = "window_stats"
    timestamp: UtcDatetime = Field(description="window end (exchange event time)")
    window_start: UtcDatetime
    window_end: UtcDatetime
    window_kind: Literal["tumbling", "hopping"]
    window_seconds: float = Field(gt=0)
    step_seconds: float = Field(gt=0, description="equals window_seconds for tumbling windows")
    trade_count: int = Field(ge=1)
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Size
    quote_volume: Size
    buy_volume: Size
    sell_volume: Size
    vwap: float = Field(gt=0)
    average_price: float = Field(gt=0)
    min_price: float = Field(gt=0)
    max_price: float = Field(gt=0)
    std_dev: float = Field(ge=0)
    volatility: float = Field(ge=0, description="standard deviation of log returns")
    last_price: Price
    final: bool = Field(
        default=True, description="False for an early (partial) result of an open window"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if not (self.low <= self.open <= self.high and self.low <= self.close <= self.high):
            raise ValueError("open and close must lie within [low, high]")
        if self.buy_volume + self.sell_volume != self.volume:
            raise ValueError("buy_volume + sell_volume must equal volume")
        return self
