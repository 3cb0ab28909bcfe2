"""Exactly-once trades by sequence number: duplicates, holes, reconnect ranges, lost trades."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ingest.trade_continuity import TradeContinuity
from models import InstrumentType, Side, Trade

AT = datetime(2024, 8, 9, tzinfo=UTC)


def trade(sequence: int, symbol: str = "BTC-USDT") -> Trade:
    return Trade(
        exchange="binance",
        symbol=symbol,
        native_symbol=symbol.replace("-", ""),
        instrument_type=InstrumentType.SPOT,
        timestamp=AT,
        collected_at=AT,
        trade_id=str(sequence),
        price=Decimal("60000.5"),
        quantity=Decimal("0.1"),
        side=Side.BUY,
        sequence=sequence,
    )


def test_duplicates_are_dropped_and_order_is_kept() -> None:
    ids = TradeContinuity("binance", contiguous=True)
    accepted = [n for n in (1, 2, 2, 3, 1, 4) if ids.accept(trade(n))]
    assert accepted == [1, 2, 3, 4]
    assert ids.stats.duplicates == 2
    assert ids.take_new_ranges() == []


def test_a_jump_opens_a_range_that_late_trades_fill_once() -> None:
    ids = TradeContinuity("binance", contiguous=True)
    assert ids.accept(trade(10))
    assert ids.accept(trade(14))  # 11, 12, 13 missing
    ((symbol, window),) = ids.take_new_ranges()
    assert (symbol, window.low, window.high) == ("BTC-USDT", 10, 14)
    assert ids.accept(trade(12), backfilled=True)
    assert not ids.accept(trade(12), backfilled=True)
    assert ids.accept(trade(11), backfilled=True)
    gap = ids.close("BTC-USDT", window, AT)
    assert gap is not None
    assert (gap.cause, gap.channel, gap.missing) == ("trades_lost", "trades", 1)
    assert (gap.from_sequence, gap.to_sequence) == (10, 14)
    assert not ids.accept(trade(13)), "a closed range takes nothing more"
    assert ids.stats.lost == 1


def test_a_fully_filled_range_closes_itself_and_reports_nothing() -> None:
    ids = TradeContinuity("binance", contiguous=True)
    for n in (1, 4, 2, 3):
        assert ids.accept(trade(n))
    ((_, window),) = ids.take_new_ranges()
    assert ids.open_ranges("BTC-USDT") == []
    assert ids.close("BTC-USDT", window, AT) is None


def test_non_contiguous_ids_open_a_range_only_across_a_reconnect() -> None:
    ids = TradeContinuity("okx", contiguous=False)
    assert ids.accept(trade(100))
    assert ids.accept(trade(105))  # OKX ids may skip: no range without a reconnect
    assert ids.take_new_ranges() == []
    ids.reconnected("BTC-USDT")
    assert ids.accept(trade(120))
    ((_, window),) = ids.take_new_ranges()
    assert (window.low, window.high) == (105, 120)
    assert ids.accept(trade(110), backfilled=True)
    assert not ids.accept(trade(110))
    assert ids.close("BTC-USDT", window, AT) is None, "the history decided: nothing lost"


def test_a_failed_backfill_is_a_gap_event() -> None:
    ids = TradeContinuity("okx", contiguous=False)
    ids.accept(trade(1))
    ids.reconnected("BTC-USDT")
    ids.accept(trade(9))
    ((_, window),) = ids.take_new_ranges()
    gap = ids.close("BTC-USDT", window, AT, failed=True)
    assert gap is not None
    assert (gap.cause, gap.missing) == ("backfill_failed", None)


def test_symbols_are_independent() -> None:
    ids = TradeContinuity("binance", contiguous=True)
    assert ids.accept(trade(5, "BTC-USDT"))
    assert ids.accept(trade(5, "ETH-USDT"))
    assert ids.accept(trade(6, "ETH-USDT"))
    assert ids.take_new_ranges() == []
    assert (ids.last("BTC-USDT"), ids.last("ETH-USDT")) == (5, 6)
