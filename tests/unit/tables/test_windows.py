"""Window boundaries, the watermark, grace and late events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tables.buckets import BucketAggregator
from tables.tick import SECOND_US, Tick, seconds_to_us
from tables.trade_window import TradeWindowAccumulator
from tables.windows import Hopping, Tumbling, Watermark
from tests.unit.tables.factories import T0_US

ACC = TradeWindowAccumulator()


def tick(offset_s: float, price: str = "100") -> Tick:
    p = Decimal(price)
    return Tick(T0_US + round(offset_s * SECOND_US), p, Decimal(1), p, True)


def test_tumbling_boundaries_are_half_open() -> None:
    minute = Tumbling(60 * SECOND_US)
    assert minute.bounds(T0_US) == (T0_US, T0_US + 60 * SECOND_US)
    assert minute.start(T0_US + 60 * SECOND_US - 1) == T0_US
    assert minute.start(T0_US + 60 * SECOND_US) == T0_US + 60 * SECOND_US
    assert Tumbling(SECOND_US).start(T0_US + 999_999) == T0_US


def test_hopping_windows_of_a_timestamp() -> None:
    hop = Hopping(300 * SECOND_US, 60 * SECOND_US)
    ts = T0_US + 61 * SECOND_US
    windows = hop.windows(ts)
    assert len(windows) == hop.steps == 5
    assert windows[-1] == (T0_US + 60 * SECOND_US, T0_US + 360 * SECOND_US)
    assert all(start <= ts < end and end - start == hop.size_us for start, end in windows)
    with pytest.raises(ValueError, match="multiple"):
        Hopping(300 * SECOND_US, 70 * SECOND_US)


def test_watermark_is_max_event_minus_grace_and_never_goes_back() -> None:
    mark = Watermark(grace_us=5 * SECOND_US)
    assert mark.value is None and not mark.closed(T0_US)
    mark.observe(T0_US + 10 * SECOND_US)
    mark.observe(T0_US)  # an older event does not move it back
    assert mark.value == T0_US + 5 * SECOND_US
    assert mark.closed(T0_US + 5 * SECOND_US) and not mark.closed(T0_US + 6 * SECOND_US)
    mark.advance_to(T0_US + 20 * SECOND_US)  # idle stream, by the clock
    assert mark.value == T0_US + 20 * SECOND_US
    mark.advance_to(T0_US)
    assert mark.value == T0_US + 20 * SECOND_US
    with pytest.raises(ValueError):
        seconds_to_us(0)


def test_grace_accepts_late_events_then_reports_them() -> None:
    agg = BucketAggregator(ACC, Tumbling(SECOND_US), Watermark(grace_us=5 * SECOND_US))
    agg.add_many("binance:BTC-USDT", [tick(0.5), tick(7.2)])  # watermark 2.2 s
    within = agg.add_many("binance:BTC-USDT", [tick(2.5)])  # bucket [2, 3) still open
    assert within.late == [] and within.touched == [("binance:BTC-USDT", T0_US + 2 * SECOND_US)]
    beyond = agg.add_many("binance:BTC-USDT", [tick(1.9)])  # bucket [1, 2) closed
    assert [late.window_end_us for late in beyond.late] == [T0_US + 2 * SECOND_US]
    assert "late event" in beyond.late[0].reason
    assert beyond.late[0].watermark_us == T0_US + 2_200_000
    closed = agg.close_due()
    assert [(c.start_us - T0_US) // SECOND_US for c in closed] == [0]
    assert agg.close_due() == []  # emitted once
    # The closed bucket stays closed: an event for it now is late, not a second emission.
    assert len(agg.add_many("binance:BTC-USDT", [tick(0.1)]).late) == 1


def test_lateness_follows_arrival_order_within_a_batch() -> None:
    """A batch behaves exactly like its events one at a time."""
    agg = BucketAggregator(ACC, Tumbling(SECOND_US), Watermark(grace_us=SECOND_US))
    result = agg.add_batch([("k:A-USD", tick(0.5)), ("k:A-USD", tick(5)), ("k:A-USD", tick(0.6))])
    assert [late.event for late in result.late] == [tick(0.6)]
    state = agg.state("k:A-USD", T0_US)
    assert state is not None and state.trades == 1


def test_batch_is_grouped_per_key_and_bucket() -> None:
    agg = BucketAggregator(ACC, Tumbling(SECOND_US), Watermark(grace_us=0))
    items = [("a:X-USD", tick(0.1)), ("b:X-USD", tick(0.2)), ("a:X-USD", tick(0.3))]
    result = agg.add_batch(items)
    assert result.touched == [("a:X-USD", T0_US), ("b:X-USD", T0_US)]
    assert agg.open_buckets == 2
    state = agg.state("a:X-USD", T0_US)
    assert state is not None and state.trades == 2


def test_restore_reloads_open_buckets() -> None:
    first = BucketAggregator(ACC, Tumbling(SECOND_US), Watermark(grace_us=5 * SECOND_US))
    first.add_many("k:A-USD", [tick(0.1, "100"), tick(0.2, "101")])
    saved = first.state("k:A-USD", T0_US)
    assert saved is not None
    second = BucketAggregator(ACC, Tumbling(SECOND_US), Watermark(grace_us=5 * SECOND_US))
    second.restore("k:A-USD", T0_US, ACC.from_bytes(ACC.to_bytes(saved)))
    second.add_many("k:A-USD", [tick(0.3, "102"), tick(9)])
    (closed,) = [c for c in second.close_due() if c.start_us == T0_US]
    result = ACC.result(closed.state)
    assert result is not None and result.count == 3 and result.close == Decimal("102")
