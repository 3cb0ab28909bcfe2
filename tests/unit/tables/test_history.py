"""Trades CSV rows and OHLCV bars as ticks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tables.history import Bar, HistoryError, bar_ticks, parse_timestamp_us, trade_row_tick
from tables.pipeline import WindowPipeline, WindowPlan
from tables.tick import SECOND_US

HOUR_US = 3600 * SECOND_US
T0_US = 1_723_161_600_000_000  # 2024-08-09T00:00:00Z


def row(**changes: str) -> dict[str, str]:
    base = {
        "timestamp": "2024-08-09T00:00:00.123Z",
        "exchange": "binance",
        "symbol": "BTC-USDT",
        "price": "61837.63",
        "quantity": "0.02",
        "side": "buy",
    }
    return base | changes


def test_a_trade_row_becomes_a_keyed_tick() -> None:
    key, tick = trade_row_tick(row())
    assert key == "binance:BTC-USDT"
    assert tick.ts_us == T0_US + 123_000
    assert (tick.price, tick.quantity, tick.quote_quantity) == (
        Decimal("61837.63"),
        Decimal("0.02"),
        Decimal("1236.7526"),
    )
    assert tick.buy
    key, tick = trade_row_tick(row(side="SELL", timestamp="1723161600124"), exchange="okx")
    assert key == "okx:BTC-USDT" and tick.ts_us == T0_US + 124_000 and not tick.buy


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timestamp": "2024-08-09T00:00:00"}, "no time zone"),
        ({"timestamp": "yesterday"}, "neither ISO-8601 nor epoch ms"),
        ({"symbol": "BTCUSDT"}, "not a canonical symbol"),
        ({"price": "0"}, "price must be positive"),
        ({"quantity": "abc"}, "quantity 'abc' is not a number"),
        ({"side": "long"}, "side must be buy or sell"),
        ({"exchange": ""}, "no exchange"),
    ],
)
def test_a_bad_row_says_what_is_wrong(changes: dict[str, str], message: str) -> None:
    with pytest.raises(HistoryError, match=message):
        trade_row_tick(row(**changes))


def test_timestamps_with_an_offset_are_utc() -> None:
    assert parse_timestamp_us("2024-08-09T02:00:00+02:00") == T0_US


def test_a_bar_is_its_ohlc_path_and_one_bucket_reproduces_it() -> None:
    up = Bar(T0_US, open=100.0, high=110.0, low=95.0, close=105.0, volume=8.0)
    ticks = bar_ticks(up, HOUR_US)
    assert [float(t.price) for t in ticks] == [100.0, 95.0, 110.0, 105.0]  # low first
    assert [t.ts_us - T0_US for t in ticks] == [0, HOUR_US // 4, HOUR_US // 2, 3 * HOUR_US // 4]
    assert sum(t.quantity for t in ticks) == Decimal(8)
    down = Bar(T0_US, open=100.0, high=101.0, low=90.0, close=92.0, volume=4.0)
    assert [float(t.price) for t in bar_ticks(down, HOUR_US)] == [100.0, 101.0, 90.0, 92.0]
    (close,) = bar_ticks(down, HOUR_US, close_only=True)
    assert float(close.price) == 92.0 and close.quantity == Decimal(4)

    plan = WindowPlan(
        tumbling_seconds=(3600.0,),
        hopping_seconds=7200.0,
        hopping_step_seconds=3600.0,
        view_seconds=7200.0,
        grace_seconds=0.0,
    )
    pipeline = WindowPipeline(plan)
    pipeline.add_many("history:BTC-USDT", ticks)
    following = Bar(T0_US + HOUR_US, open=105.0, high=106.0, low=104.0, close=105.0, volume=1.0)
    pipeline.add_many("history:BTC-USDT", bar_ticks(following, HOUR_US)[:1])  # closes the hour
    (bucket,) = pipeline.advance().tumbling
    stats = pipeline.window_stats(bucket)
    assert stats is not None
    assert (stats.open, stats.high, stats.low, stats.close, stats.volume) == (
        Decimal("100.0"),
        Decimal("110.0"),
        Decimal("95.0"),
        Decimal("105.0"),
        Decimal("8.0"),
    )


def test_an_impossible_bar_is_refused() -> None:
    with pytest.raises(HistoryError, match="low/high"):
        bar_ticks(Bar(T0_US, 100.0, 99.0, 95.0, 100.0, 1.0), HOUR_US)
    with pytest.raises(HistoryError, match="non-positive"):
        bar_ticks(Bar(T0_US, 0.0, 1.0, 0.0, 1.0, 1.0), HOUR_US)
