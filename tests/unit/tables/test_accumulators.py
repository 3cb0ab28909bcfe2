"""Accumulators agree with numpy, merge equals one pass, states round-trip."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import WindowStats
from tables.moments import LogReturnAccumulator, MomentsAccumulator, MomentsState
from tables.ohlcv import OhlcvAccumulator
from tables.tick import Tick, from_epoch_us
from tables.trade_window import TradeWindowAccumulator, TradeWindowState
from tests.unit.tables.factories import T0_US, assert_same_result, random_walk_ticks

REL = 1e-9
ACC = TradeWindowAccumulator()


def close(a: float, b: float) -> bool:
    """1e-9 relative (absolute only where the exact answer is 0)."""
    return a == pytest.approx(b, rel=REL, abs=1e-12 if b == 0 else 0.0)


def one_pass(ticks: list[Tick]) -> TradeWindowState:
    return ACC.add_many(ACC.initialize(), ticks)


def merged(ticks: list[Tick], cuts: list[int]) -> TradeWindowState:
    """Accumulate each part separately (one event at a time), then merge in order."""
    bounds = [0, *sorted(set(cuts)), len(ticks)]
    state = ACC.initialize()
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        part = ACC.initialize()
        for tick in ticks[lo:hi]:
            part = ACC.add(part, tick)
        state = ACC.merge(state, part)
    return state


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_trade_window_agrees_with_numpy(seed: int) -> None:
    ticks = random_walk_ticks(5000, seed=seed)
    result = ACC.result(one_pass(ticks))
    assert result is not None
    prices = np.array([float(t.price) for t in ticks])
    quantities = np.array([float(t.quantity) for t in ticks])
    assert result.count == len(ticks)
    assert close(result.mean, float(np.mean(prices)))
    assert close(result.std_dev, float(np.std(prices, ddof=1)))
    assert close(result.volatility, float(np.std(np.diff(np.log(prices)), ddof=1)))
    assert close(result.vwap, float(np.sum(prices * quantities) / np.sum(quantities)))
    assert result.open == ticks[0].price and result.close == ticks[-1].price
    assert result.high == max(t.price for t in ticks)
    assert result.low == min(t.price for t in ticks)
    assert result.volume == sum((t.quantity for t in ticks), Decimal(0))
    assert result.quote_volume == sum((t.quote_quantity for t in ticks), Decimal(0))
    assert result.buy_volume == sum((t.quantity for t in ticks if t.buy), Decimal(0))
    assert result.buy_volume + result.sell_volume == result.volume


def test_moments_and_returns_alone_agree_with_numpy() -> None:
    values = np.random.default_rng(11).lognormal(10, 0.01, 10_000)
    moments = MomentsAccumulator()
    m = moments.result(moments.add_many(moments.initialize(), values.tolist()))
    assert m.n == len(values)
    assert close(m.mean, float(values.mean()))
    assert close(m.variance, float(values.var(ddof=1)))
    returns = LogReturnAccumulator()
    r = returns.result(returns.add_many(returns.initialize(), values.tolist()))
    assert r.n == len(values) - 1
    assert close(r.std, float(np.std(np.diff(np.log(values)), ddof=1)))
    assert close(r.mean, float(np.mean(np.diff(np.log(values)))))


@pytest.mark.parametrize("seed", range(5))
def test_merge_of_random_partitions_equals_one_pass(seed: int) -> None:
    ticks = random_walk_ticks(2000, seed=100 + seed)
    rng = np.random.default_rng(seed)
    cuts = rng.integers(0, len(ticks), size=int(rng.integers(1, 60))).tolist()
    assert_same_result(ACC.result(merged(ticks, cuts)), ACC.result(one_pass(ticks)))


def test_merge_grouping_does_not_matter() -> None:
    """Associativity: ((a b) c) == (a (b c)), the seam returns included."""
    ticks = random_walk_ticks(300, seed=5)
    a, b, c = (one_pass(ticks[i : i + 100]) for i in (0, 100, 200))
    left = ACC.merge(ACC.merge(a, b), c)
    right = ACC.merge(a, ACC.merge(b, c))
    assert_same_result(ACC.result(left), ACC.result(right))
    assert ACC.merge(ACC.initialize(), a) == a == ACC.merge(a, ACC.initialize())


def test_volatility_counts_the_return_across_the_seam() -> None:
    prices = [100.0, 101.0, 150.0, 149.0]  # the big move is between the two halves
    returns = LogReturnAccumulator()
    left = returns.add_many(returns.initialize(), prices[:2])
    right = returns.add_many(returns.initialize(), prices[2:])
    joined = returns.result(returns.merge(left, right))
    assert joined.n == 3
    assert close(joined.std, float(np.std(np.diff(np.log(prices)), ddof=1)))


price_st = st.decimals(min_value="0.01", max_value="100000", places=2, allow_nan=False)
qty_st = st.decimals(min_value="0.000001", max_value="1000", places=6, allow_nan=False)
tick_st = st.tuples(st.integers(0, 10_000_000), price_st, qty_st, st.booleans())


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(tick_st, min_size=1, max_size=60), cuts=st.lists(st.integers(0, 60)))
def test_hypothesis_merge_equals_one_pass(
    rows: list[tuple[int, Decimal, Decimal, bool]], cuts: list[int]
) -> None:
    # Timestamps in any order (late trades): open/close still follow event time.
    ticks = [Tick(T0_US + ts, p, q, p * q, buy) for ts, p, q, buy in rows]
    cuts = [c for c in cuts if c <= len(ticks)]
    one = ACC.result(one_pass(ticks))
    assert_same_result(ACC.result(merged(ticks, cuts)), one)
    assert one is not None
    first_ts = min(t.ts_us for t in ticks)
    last_ts = max(t.ts_us for t in ticks)
    assert one.open == next(t.price for t in ticks if t.ts_us == first_ts)
    assert one.close == [t.price for t in ticks if t.ts_us == last_ts][-1]


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(tick_st, max_size=30))
def test_hypothesis_serialization_roundtrips(
    rows: list[tuple[int, Decimal, Decimal, bool]],
) -> None:
    state = one_pass([Tick(T0_US + ts, p, q, p * q, buy) for ts, p, q, buy in rows])
    assert ACC.from_bytes(ACC.to_bytes(state)) == state
    ohlcv = OhlcvAccumulator()
    assert ohlcv.from_bytes(ohlcv.to_bytes(state.ohlcv)) == state.ohlcv
    assert MomentsAccumulator().from_bytes(MomentsAccumulator().to_bytes(state.prices)) == (
        state.prices
    )
    returns = LogReturnAccumulator()
    assert returns.from_bytes(returns.to_bytes(state.returns)) == state.returns


def test_state_is_fixed_size() -> None:
    small = one_pass(random_walk_ticks(10, seed=1))
    large = one_pass(random_walk_ticks(10_000, seed=1))
    assert len(MomentsAccumulator().to_bytes(large.prices)) == 24
    assert abs(len(ACC.to_bytes(large)) - len(ACC.to_bytes(small))) < 40  # digits, not items


def test_exact_sums_keep_every_digit() -> None:
    """28 significant digits (the default context) would round these sums."""
    big, tiny = Decimal("123456789012.123456789012345678"), Decimal("0.000000000000000001")
    ticks = [
        Tick(T0_US, Decimal(1), big, big, True),
        Tick(T0_US + 1, Decimal(1), tiny, tiny, False),
    ]
    result = ACC.result(one_pass(ticks))
    assert result is not None
    assert result.volume == Decimal("123456789012.123456789012345679")
    assert result.sell_volume == tiny


def test_result_makes_valid_window_stats() -> None:
    ticks = random_walk_ticks(500, seed=9)
    result = ACC.result(one_pass(ticks))
    assert result is not None
    stats = result.to_window_stats(
        exchange="binance",
        symbol="BTC-USDT",
        start=from_epoch_us(T0_US),
        end=from_epoch_us(T0_US + 60_000_000),
        kind="tumbling",
    )
    assert isinstance(stats, WindowStats)
    assert stats.trade_count == 500 and stats.last_price == ticks[-1].price
    assert WindowStats.model_validate_json(stats.model_dump_json()) == stats


def test_empty_state_has_no_result_and_single_trade_has_zero_spread() -> None:
    assert ACC.result(ACC.initialize()) is None
    single = ACC.result(one_pass(random_walk_ticks(1)))
    assert single is not None and single.std_dev == 0.0 and single.volatility == 0.0
    assert MomentsAccumulator().result(MomentsState()).std == 0.0
