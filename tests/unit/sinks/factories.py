"""Trades for sink tests: deterministic, one per Kafka offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models import InstrumentType, Side, Trade

HOUR0 = datetime(2024, 8, 9, 0, 0, tzinfo=UTC)


def trade(
    trade_id: int,
    *,
    at: datetime = HOUR0,
    symbol: str = "BTC-USDT",
    exchange: str = "binance",
    price: str = "61837.63",
    quantity: str = "0.5",
    side: Side = Side.BUY,
) -> Trade:
    return Trade(
        exchange=exchange,
        symbol=symbol,
        native_symbol=symbol.replace("-", ""),
        instrument_type=InstrumentType.SPOT,
        timestamp=at,
        collected_at=at + timedelta(milliseconds=3),
        trade_id=str(trade_id),
        price=Decimal(price),
        quantity=Decimal(quantity),
        side=side,
        sequence=trade_id,
    )


def trades_over(hours: int, per_hour: int, symbols: tuple[str, ...]) -> list[Trade]:
    """``per_hour`` trades per symbol in each of ``hours`` hours from HOUR0."""
    out: list[Trade] = []
    step = timedelta(seconds=3600 / per_hour)
    for hour in range(hours):
        for index in range(per_hour):
            for number, symbol in enumerate(symbols):
                at = HOUR0 + timedelta(hours=hour) + index * step
                trade_id = len(out) + 1
                price = f"{100 + hour + number * 1000}.{index:02d}"
                out.append(trade(trade_id, at=at, symbol=symbol, price=price))
    return out
