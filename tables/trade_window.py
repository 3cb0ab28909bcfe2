"""The one state a window table holds per key and window: OHLCV + price moments +
log-return volatility, with the result as :class:`~models.WindowStats`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from models.analytics import WindowStats
from tables.moments import (
    LogReturnState,
    MomentsState,
    add_prices,
    add_values,
    merge_moments,
    merge_returns,
    moments_of,
)
from tables.ohlcv import OhlcvState, add_ticks, merge_ohlcv, sell_volume
from tables.tick import Tick

_FORMAT = 1


class TradeWindowState(NamedTuple):
    ohlcv: OhlcvState = OhlcvState()
    prices: MomentsState = MomentsState()
    returns: LogReturnState = LogReturnState()

    @property
    def trades(self) -> int:
        return self.ohlcv.trades


@dataclass(frozen=True, slots=True)
class TradeWindowResult:
    """What a non-empty window's state says (sample statistics, ddof=1)."""

    count: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    buy_volume: Decimal
    sell_volume: Decimal
    vwap: float
    mean: float  #: trade-weighted mean price
    std_dev: float  #: of trade prices
    volatility: float  #: std of log returns between consecutive trades, not annualized
    first_us: int  #: event time of the open
    last_us: int  #: event time of the close

    @property
    def close_float(self) -> float:
        return float(self.close)

    def to_window_stats(
        self,
        *,
        exchange: str,
        symbol: str,
        start: datetime,
        end: datetime,
        kind: Literal["tumbling", "hopping"],
        step_seconds: float | None = None,
        final: bool = True,
    ) -> WindowStats:
        seconds = (end - start).total_seconds()
        return WindowStats(
            exchange=exchange,
            symbol=symbol,
            timestamp=end,
            window_start=start,
            window_end=end,
            window_kind=kind,
            window_seconds=seconds,
            step_seconds=seconds if step_seconds is None else step_seconds,
            trade_count=self.count,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
            quote_volume=self.quote_volume,
            buy_volume=self.buy_volume,
            sell_volume=self.sell_volume,
            vwap=self.vwap,
            average_price=self.mean,
            min_price=float(self.low),
            max_price=float(self.high),
            std_dev=self.std_dev,
            volatility=self.volatility,
            last_price=self.close,
            final=final,
        )


class TradeWindowAccumulator:
    """Everything the analytics topic publishes about a window of trades."""

    def initialize(self) -> TradeWindowState:
        return TradeWindowState()

    def add(self, state: TradeWindowState, event: Tick) -> TradeWindowState:
        return self.add_many(state, (event,))

    def add_many(self, state: TradeWindowState, events: Iterable[Tick]) -> TradeWindowState:
        ticks = events if isinstance(events, list | tuple) else list(events)
        if not ticks:
            return state
        prices = [float(t.price) for t in ticks]
        return TradeWindowState(
            add_ticks(state.ohlcv, ticks, prices),
            add_values(state.prices, prices),
            add_prices(state.returns, prices),
        )

    def merge(self, a: TradeWindowState, b: TradeWindowState) -> TradeWindowState:
        if a.ohlcv.trades == 0:
            return b
        if b.ohlcv.trades == 0:
            return a
        return TradeWindowState(
            merge_ohlcv(a.ohlcv, b.ohlcv),
            merge_moments(a.prices, b.prices),
            merge_returns(a.returns, b.returns),
        )

    def result(self, state: TradeWindowState) -> TradeWindowResult | None:
        """``None`` for an empty state (a window with no trade publishes nothing)."""
        o = state.ohlcv
        if o.trades == 0:
            return None
        return TradeWindowResult(
            count=o.trades,
            open=o.open,
            high=o.high,
            low=o.low,
            close=o.close,
            volume=o.volume,
            quote_volume=o.quote_volume,
            buy_volume=o.buy_volume,
            sell_volume=sell_volume(o),
            vwap=o.notional / float(o.volume),
            mean=state.prices.mean,
            std_dev=moments_of(state.prices).std,
            volatility=moments_of(state.returns.returns).std,
            first_us=o.open_us,
            last_us=o.close_us,
        )

    def to_bytes(self, state: TradeWindowState) -> bytes:
        """Compact JSON (Decimals as strings, floats by ``repr``: both round-trip exactly)."""
        return json.dumps(self.to_row(state), separators=(",", ":")).encode()

    def from_bytes(self, data: bytes) -> TradeWindowState:
        return self.from_row(json.loads(data))

    def to_row(self, state: TradeWindowState) -> list[Any]:
        """The JSON-able form of a state (what :meth:`to_bytes` encodes)."""
        return [_FORMAT, state.ohlcv.to_json(), list(state.prices), list(state.returns)]

    def from_row(self, row: list[Any]) -> TradeWindowState:
        version, ohlcv, prices, returns = row
        if version != _FORMAT:
            raise ValueError(f"unknown TradeWindowState format {version!r}")
        n, mean, m2 = prices
        count, first, last, rn, rmean, rm2 = returns
        return TradeWindowState(
            OhlcvState.from_json(ohlcv),
            MomentsState(int(n), float(mean), float(m2)),
            LogReturnState(
                int(count), float(first), float(last), int(rn), float(rmean), float(rm2)
            ),
        )
