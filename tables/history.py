"""Ticks from offline history: rows of a trades CSV, and OHLCV bars.

**Trades CSV** (one trade a row, in arrival order; a header row names the columns)::

    timestamp,exchange,symbol,price,quantity,side,trade_id
    2024-08-09T00:00:00.123Z,binance,BTC-USDT,61837.63,0.02,buy,3735683259
    1723161600124,binance,BTC-USDT,61837.64,0.5,sell,3735683260

* ``timestamp``: exchange event time, ISO-8601 with a zone (``Z`` or ``+00:00``)
  or integer epoch milliseconds;
* ``exchange``: the venue id (``binance``, ...); may be left out when the
  caller forces one;
* ``symbol``: canonical (``BTC-USDT``, ``BTC-USDT-PERP``, ...);
* ``price``, ``quantity``: positive decimals (base quantity);
* ``side``: the taker's side, ``buy`` or ``sell``;
* ``trade_id``: optional, not used by the windows.

**Bars** (``date, open, high, low, close, volume``): a bar ``[t, t + d)``
becomes the trades its OHLC path implies, each with a quarter of the volume:
the open at ``t``, the first extreme at ``t + d/4``, the second at ``t + d/2``
and the close at ``t + 3d/4`` (low first when the bar closed up, high first
when it closed down: the usual intrabar assumption). With a bucket of the bar
size a bar is one bucket with the bar's exact OHLCV; with ``d/4`` buckets the
detectors also see the intrabar extremes (a flash crash that recovered before
the close). ``close_only`` makes one trade of the close at ``t + 3d/4``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from models.exceptions import MarketPrismError
from models.instrument import Instrument
from tables.tick import Tick, epoch_us

TRADE_COLUMNS = ("timestamp", "exchange", "symbol", "price", "quantity", "side")
BAR_COLUMNS = ("open", "high", "low", "close", "volume")
_SIDES = {"buy": True, "sell": False}


class HistoryError(MarketPrismError):
    """A row of offline history cannot be turned into ticks (the message says why)."""


def parse_timestamp_us(text: str) -> int:
    """ISO-8601 with a zone, or integer epoch milliseconds -> epoch microseconds."""
    text = text.strip()
    if text.isdigit():
        return int(text) * 1000
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HistoryError(f"timestamp {text!r} is neither ISO-8601 nor epoch ms") from exc
    if value.tzinfo is None:
        raise HistoryError(f"timestamp {text!r} has no time zone (add Z for UTC)")
    return epoch_us(value)


def _positive(row: Mapping[str, str], column: str) -> Decimal:
    text = (row.get(column) or "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise HistoryError(f"{column} {text!r} is not a number") from exc
    if not value.is_finite() or value <= 0:
        raise HistoryError(f"{column} must be positive, got {text!r}")
    return value


def trade_row_tick(row: Mapping[str, str], exchange: str | None = None) -> tuple[str, Tick]:
    """One CSV row -> (``exchange:symbol``, tick); ``exchange`` overrides the column."""
    venue = exchange or (row.get("exchange") or "").strip()
    if not venue:
        raise HistoryError("no exchange: add an exchange column or pass one")
    symbol = (row.get("symbol") or "").strip()
    try:
        Instrument.parse(symbol)
    except ValueError as exc:
        raise HistoryError(str(exc)) from exc
    side = (row.get("side") or "").strip().lower()
    if side not in _SIDES:
        raise HistoryError(f"side must be buy or sell, got {side!r}")
    price, quantity = _positive(row, "price"), _positive(row, "quantity")
    ts = parse_timestamp_us(row.get("timestamp") or "")
    return f"{venue}:{symbol}", Tick(ts, price, quantity, price * quantity, _SIDES[side])


@dataclass(frozen=True, slots=True)
class Bar:
    start_us: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def check(self) -> None:
        prices = (self.open, self.high, self.low, self.close)
        if min(prices) <= 0 or self.volume < 0:
            raise HistoryError(f"bar at {self.start_us} us has a non-positive price")
        if self.low > min(self.open, self.close) or self.high < max(self.open, self.close):
            raise HistoryError(f"bar at {self.start_us} us: low/high do not bound open/close")


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


def bar_ticks(bar: Bar, seconds_us: int, *, close_only: bool = False) -> list[Tick]:
    """The trades a bar of ``seconds_us`` implies (see the module docstring)."""
    bar.check()
    quarter = seconds_us // 4
    if close_only:
        path = [(3 * quarter, bar.close, bar.volume)]
    else:
        extremes = (bar.low, bar.high) if bar.close >= bar.open else (bar.high, bar.low)
        share = bar.volume / 4
        points = (bar.open, *extremes, bar.close)
        path = [(i * quarter, price, share) for i, price in enumerate(points)]
    ticks = []
    for offset, price, volume in path:
        p = _decimal(price)
        # A bar without volume still has prices: the smallest quantity keeps it a trade.
        q = _decimal(volume) if volume > 0 else Decimal("1e-12")
        ticks.append(Tick(bar.start_us + offset, p, q, p * q, bar.close >= bar.open))
    return ticks
