"""The accumulators' input: one trade reduced to what windows need.

A :class:`Tick` is a plain tuple (cheap to build, no validation) so that the
backtest and the benchmarks can feed millions of them without pydantic, and the
worker builds one per :class:`~models.Trade` with :meth:`Tick.from_trade`.
Event time is an integer of epoch microseconds: bucket boundaries are then exact
integer arithmetic, never a float division that rounds across a boundary.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from models.trade import Side, Trade

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
SECOND_US = 1_000_000


def epoch_us(value: datetime) -> int:
    """Aware datetime -> epoch microseconds (exact)."""
    return (value - EPOCH) // _ONE_US


def from_epoch_us(us: int) -> datetime:
    """Epoch microseconds -> aware UTC datetime (exact)."""
    return EPOCH + timedelta(microseconds=us)


def seconds_to_us(seconds: float) -> int:
    """A positive duration in seconds -> whole microseconds."""
    us = round(seconds * SECOND_US)
    if us <= 0:
        raise ValueError(f"duration must be positive, got {seconds!r} s")
    return us


class Tick(NamedTuple):
    """One trade as the window accumulators see it."""

    ts_us: int  #: exchange event time, epoch microseconds
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    buy: bool  #: the taker bought

    @classmethod
    def from_trade(cls, trade: Trade) -> Tick:
        return cls(
            epoch_us(trade.timestamp),
            trade.price,
            trade.quantity,
            trade.quote_quantity,
            trade.side is Side.BUY,
        )
