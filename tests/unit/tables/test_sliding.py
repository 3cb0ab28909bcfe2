"""The sliding detector view derived from 1 s buckets, and the regime estimate."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from math import log

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tables.buckets import ClosedWindow
from tables.moments import MomentsState, merge_moments
from tables.regime import RegimeEstimator, RegimeState
from tables.sliding import Baseline, SlidingAggregate, SlidingViews, dense_series
from tables.tick import SECOND_US, Tick
from tables.trade_window import TradeWindowAccumulator, TradeWindowResult, TradeWindowState
from tests.unit.tables.factories import T0_US

ACC = TradeWindowAccumulator()
KEY = "binance:BTC-USDT"


class Concat:
    """A merge that is associative but not commutative: order mistakes show."""

    def initialize(self) -> str:
        return ""

    def merge(self, a: str, b: str) -> str:
        return a + b


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(st.one_of(st.just("push"), st.integers(0, 5)), max_size=80))
def test_two_stack_aggregate_equals_a_naive_merge(ops: list[str | int]) -> None:
    agg: SlidingAggregate[str] = SlidingAggregate(Concat())
    naive: list[tuple[int, str]] = []
    clock = 0
    for op in ops:
        if op == "push":
            clock += 1
            agg.push(clock, chr(65 + clock % 26))
            naive.append((clock, chr(65 + clock % 26)))
        else:
            horizon = clock - int(op)
            assert agg.evict_before(horizon) == sum(1 for s, _ in naive if s < horizon)
            naive = [(s, v) for s, v in naive if s >= horizon]
        assert agg.query() == "".join(v for _, v in naive)
        assert agg.items() == naive and len(agg) == len(naive)


def bucket(second: int, prices: list[str], qty: str = "1") -> ClosedWindow[TradeWindowState]:
    start = T0_US + second * SECOND_US
    ticks = [
        Tick(start + i, Decimal(p), Decimal(qty), Decimal(p), True) for i, p in enumerate(prices)
    ]
    return ClosedWindow(KEY, start, start + SECOND_US, ACC.add_many(ACC.initialize(), ticks))


def test_view_baseline_is_the_merge_of_the_previous_buckets_in_the_view() -> None:
    views = SlidingViews(SECOND_US, 10 * SECOND_US)
    rng = np.random.default_rng(3)
    pushed: list[ClosedWindow[TradeWindowState]] = []
    for second in sorted(rng.choice(40, 25, replace=False).tolist()):
        b = bucket(second, [f"{100 + rng.normal():.2f}" for _ in range(3)])
        view = views.push(b)
        assert view is not None
        inside = [p for p in pushed if p.start_us >= b.end_us - 10 * SECOND_US]
        want = ACC.initialize()
        for p in inside:
            want = ACC.merge(want, p.state)
        if inside:
            assert_same_baseline(view.baseline, ACC.result(want))
        else:
            assert view.baseline is None
        assert view.active_buckets == len(inside) + 1
        assert view.latest == ACC.result(b.state) and view.price == float(view.latest.close)
        assert len(view.closes) <= 10 and view.end_us == b.end_us
        pushed.append(b)


def assert_same_baseline(got: Baseline | None, want: TradeWindowResult | None) -> None:
    """The baseline says what the merged window state says of its trade prices."""
    assert got is not None and want is not None
    assert got.count == want.count
    assert got.mean == pytest.approx(want.mean, rel=1e-12)
    assert got.std_dev == pytest.approx(want.std_dev, rel=1e-9, abs=1e-12)


def test_the_view_holds_price_moments_not_whole_window_states() -> None:
    views = SlidingViews(SECOND_US, 60 * SECOND_US)
    for second in range(5):
        views.push(bucket(second, ["100", "101", "102"]))
    held = views.buckets(KEY)
    assert [start for start, _ in held] == [T0_US + s * SECOND_US for s in range(5)]
    assert all(isinstance(state, MomentsState) and state.n == 3 for _, state in held)
    view = views.push(bucket(5, ["103"]))
    assert view is not None and view.baseline == Baseline.of(merge_all(s for _, s in held))


def merge_all(states: Iterable[MomentsState]) -> MomentsState:
    merged = MomentsState()
    for state in states:
        merged = merge_moments(merged, state)
    return merged


def test_dense_series_carries_the_close_over_empty_seconds() -> None:
    series = [(0, 1.0, 2.0), (3 * SECOND_US, 4.0, 1.0), (4 * SECOND_US, 5.0, 3.0)]
    closes, volumes = dense_series(series, SECOND_US)
    assert closes == (1.0, 1.0, 1.0, 4.0, 5.0)
    assert volumes == (2.0, 0.0, 0.0, 1.0, 3.0)


def test_view_is_pruned_by_event_time() -> None:
    views = SlidingViews(SECOND_US, 300 * SECOND_US)
    for second in range(10):
        views.push(bucket(second, ["100"]))
    assert len(views.buckets(KEY)) == 10
    # Event time (the watermark), not the wall clock, decides what leaves the view.
    assert views.prune(T0_US + 300 * SECOND_US) == []
    assert views.prune(T0_US + 310 * SECOND_US) == [KEY]
    assert views.buckets(KEY) == []
    regime = views.regime_of(KEY)
    assert regime is not None and regime.updates == 9  # the regime outlives the ring
    view = views.push(bucket(400, ["101"]))
    assert view is not None and view.baseline is None and view.closes == (101.0,)
    with pytest.raises(ValueError, match="order"):
        views.push(bucket(399, ["101"]))


def test_restore_rebuilds_the_same_view() -> None:
    first = SlidingViews(SECOND_US, 60 * SECOND_US)
    pushed = [bucket(second, [str(100 + second), str(101 + second)]) for second in range(0, 50, 2)]
    for closed in pushed:
        first.push(closed)
    regime = first.regime_of(KEY)
    assert regime is not None
    restored = SlidingViews(SECOND_US, 60 * SECOND_US)
    in_view = [b for b in pushed if b.start_us >= T0_US + (51 - 60) * SECOND_US]
    stored = [(b.start_us, ACC.from_bytes(ACC.to_bytes(b.state))) for b in in_view]
    restored.restore(KEY, stored, RegimeState.from_bytes(regime.to_bytes()))
    a, b = first.push(bucket(51, ["200"])), restored.push(bucket(51, ["200"]))
    assert a is not None and b is not None and a.baseline is not None and b.baseline is not None
    # merged in another grouping: float noise only
    assert a.baseline.count == b.baseline.count
    assert a.baseline.mean == pytest.approx(b.baseline.mean, rel=1e-12)
    assert a.baseline.std_dev == pytest.approx(b.baseline.std_dev, rel=1e-9)
    assert (a.closes, a.volumes, a.latest, a.regime_volatility) == (
        b.closes,
        b.volumes,
        b.latest,
        b.regime_volatility,
    )


def test_regime_is_per_second_volatility_and_ignores_one_jump() -> None:
    estimator = RegimeEstimator(half_life_seconds=600.0, warmup=30)
    rng = np.random.default_rng(1)
    state, price = estimator.initialize(), 100.0
    for second in range(0, 2000, 2):  # a trade every 2 s: per-second vol is still 1e-4
        assert (estimator.volatility(state) is None) == (state.updates < 30)
        state = estimator.update(state, T0_US + second * SECOND_US, price)
        price *= float(np.exp(rng.normal(0, 1e-4 * np.sqrt(2))))
    vol = estimator.volatility(state)
    assert vol is not None and vol == pytest.approx(1e-4, rel=0.15)
    jumped = estimator.update(state, T0_US + 2000 * SECOND_US, price * 1.05)
    after = estimator.volatility(jumped)
    assert after is not None and after < 1.1 * vol  # clipped at 5 sigma
    assert jumped.last_log == pytest.approx(log(price * 1.05))
