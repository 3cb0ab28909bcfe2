"""Selecting published trades for the venues' REST trade-history answers.

A symbol's trades are a list with contiguous ids and non-decreasing
timestamps, so an id is an index and a time range is two bisections.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from ingest.simulator.events import TradePrint


def id_range(
    trades: Sequence[TradePrint], first: int | None, last: int | None
) -> Sequence[TradePrint]:
    """Trades with ``first <= id <= last`` (either bound optional)."""
    if not trades:
        return trades
    base = trades[0].trade_id
    start = 0 if first is None else min(max(first - base, 0), len(trades))
    stop = len(trades) if last is None else min(max(last - base + 1, 0), len(trades))
    return trades[start:stop]


def time_range(
    trades: Sequence[TradePrint], start: int | None, end: int | None
) -> Sequence[TradePrint]:
    """Trades with ``start <= timestamp <= end`` (epoch ms, either bound optional)."""
    lo = 0 if start is None else bisect_left(trades, start, key=_time)
    hi = len(trades) if end is None else bisect_right(trades, end, key=_time)
    return trades[lo:hi]


def _time(trade: TradePrint) -> int:
    return trade.timestamp
