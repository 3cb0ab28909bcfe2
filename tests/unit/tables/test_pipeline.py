"""Tumbling and hopping windows from merged buckets equal a direct computation."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import numpy as np
import pytest

from models import WindowStats
from tables.clock import ManualClock
from tables.pipeline import Emissions, WindowPipeline, WindowPlan
from tables.tick import SECOND_US, Tick
from tables.trade_window import TradeWindowAccumulator, TradeWindowResult, TradeWindowState
from tables.windows import Hopping, Tumbling
from tests.unit.tables.factories import T0_US, random_walk_ticks

ACC = TradeWindowAccumulator()
KEYS = ("binance:BTC-USDT", "okx:BTC-USDT")


def shuffled_within(ticks: list[Tick], max_delay_us: int, seed: int) -> list[Tick]:
    """Arrival order = event time plus a random delay below the grace period."""
    rng = np.random.default_rng(seed)
    delays = rng.integers(0, max_delay_us, len(ticks))
    order = np.argsort(
        [t.ts_us + int(d) for t, d in zip(ticks, delays, strict=True)], kind="stable"
    )
    return [ticks[i] for i in order]


def run(pipeline: WindowPipeline, arrivals: list[tuple[str, Tick]], batch: int) -> Emissions:
    out = Emissions()
    for i in range(0, len(arrivals), batch):
        assert pipeline.add_batch(arrivals[i : i + batch]).late == []
        step = pipeline.advance()
        out.tumbling += step.tumbling
        out.hopping += step.hopping
        out.views += step.views
    return out


def direct(
    ticks_by_key: dict[str, list[Tick]], assign: Tumbling | Hopping
) -> dict[tuple[str, int, int], TradeWindowState]:
    """Every tick added straight to every window that holds it (arrival order)."""
    states: dict[tuple[str, int, int], TradeWindowState] = defaultdict(ACC.initialize)
    for key, ticks in ticks_by_key.items():
        for t in ticks:
            windows = (
                assign.windows(t.ts_us) if isinstance(assign, Hopping) else [assign.bounds(t.ts_us)]
            )
            for start, end in windows:
                states[(key, start, end)] = ACC.add(states[(key, start, end)], t)
    return states


def results(
    states: dict[tuple[str, int, int], TradeWindowState],
) -> dict[tuple[str, int, int], TradeWindowResult | None]:
    return {k: ACC.result(v) for k, v in states.items()}


def same(a: TradeWindowResult | None, b: TradeWindowResult | None) -> bool:
    assert a is not None and b is not None
    exact = (a.count, a.open, a.high, a.low, a.close, a.volume, a.buy_volume)
    floats = np.array([a.vwap, a.mean, a.std_dev, a.volatility])
    expected = np.array([b.vwap, b.mean, b.std_dev, b.volatility])
    ok = bool(np.allclose(floats, expected, rtol=1e-9, atol=1e-15))
    return ok and exact == (b.count, b.open, b.high, b.low, b.close, b.volume, b.buy_volume)


def same_by_event_time(a: TradeWindowResult | None, b: TradeWindowResult | None) -> bool:
    """Fields that do not depend on arrival order (the return series does)."""
    assert a is not None and b is not None
    exact = (a.count, a.open, a.high, a.low, a.close, a.volume, a.quote_volume, a.buy_volume)
    floats = np.array([a.vwap, a.mean, a.std_dev])
    expected = np.array([b.vwap, b.mean, b.std_dev])
    ok = bool(np.allclose(floats, expected, rtol=1e-9, atol=0))
    return ok and exact == (
        b.count,
        b.open,
        b.high,
        b.low,
        b.close,
        b.volume,
        b.quote_volume,
        b.buy_volume,
    )


@pytest.mark.parametrize("batch", [1, 37, 500])
def test_rollups_equal_direct_windows_with_out_of_order_arrivals(batch: int) -> None:
    # Two keys, about 25 minutes, arrivals up to 3 s out of order (grace is 5 s).
    per_key = {key: random_walk_ticks(3000, seed=i, rate_per_s=2.0) for i, key in enumerate(KEYS)}
    arrivals = [(key, t) for key in KEYS for t in shuffled_within(per_key[key], 3 * SECOND_US, 1)]
    arrivals.sort(key=lambda kt: kt[1].ts_us)  # interleave the keys
    pipeline = WindowPipeline()
    out = run(pipeline, arrivals, batch)
    pipeline.watermark.advance_to(max(t.ts_us for _, t in arrivals) + 600 * SECOND_US)
    final = pipeline.advance()
    for closed, assign in (
        (
            [c for c in out.tumbling + final.tumbling if c.end_us - c.start_us == SECOND_US],
            Tumbling(SECOND_US),
        ),
        (
            [c for c in out.tumbling + final.tumbling if c.end_us - c.start_us == 60 * SECOND_US],
            Tumbling(60 * SECOND_US),
        ),
        (out.hopping + final.hopping, Hopping(300 * SECOND_US, 60 * SECOND_US)),
    ):
        got = {(c.key, c.start_us, c.end_us): ACC.result(c.state) for c in closed}
        want = results(direct(per_key, assign))  # per_key is in event-time order
        assert got.keys() == want.keys()
        assert all(same_by_event_time(got[k], want[k]) for k in want)


def test_in_order_stream_matches_direct_exactly() -> None:
    ticks = random_walk_ticks(4000, seed=3, rate_per_s=3.0)
    pipeline = WindowPipeline()
    out = run(pipeline, [(KEYS[0], t) for t in ticks], 64)
    pipeline.watermark.advance_to(ticks[-1].ts_us + 3600 * SECOND_US)
    final = pipeline.advance()
    hop = {(c.key, c.start_us, c.end_us): ACC.result(c.state) for c in out.hopping + final.hopping}
    want = results(direct({KEYS[0]: ticks}, Hopping(300 * SECOND_US, 60 * SECOND_US)))
    assert hop.keys() == want.keys()
    assert all(same(hop[k], want[k]) for k in want)
    seconds = {
        (c.key, c.start_us, c.end_us): ACC.result(c.state)
        for c in out.tumbling + final.tumbling
        if c.end_us - c.start_us == SECOND_US
    }
    assert seconds.keys() == results(direct({KEYS[0]: ticks}, Tumbling(SECOND_US))).keys()


def test_hopping_skips_empty_stretches_and_emits_each_window_once() -> None:
    price = Decimal(100)
    ticks = [Tick(T0_US + s * SECOND_US, price, Decimal(1), price, True) for s in (10, 3600)]
    pipeline = WindowPipeline()
    run(pipeline, [(KEYS[0], t) for t in ticks[:1]], 1)
    out = run(pipeline, [(KEYS[0], t) for t in ticks[1:]], 1)  # one hour later
    ends = sorted((c.end_us - T0_US) // SECOND_US for c in out.hopping)
    assert ends == [60, 120, 180, 240, 300]  # only the windows that held the first trade
    pipeline.watermark.advance_to(T0_US + 7200 * SECOND_US)
    later = sorted((c.start_us - T0_US) // SECOND_US for c in pipeline.advance().hopping)
    assert later == [3360, 3420, 3480, 3540, 3600]


def test_stats_records_and_a_hopping_step_that_is_no_tumbling_size() -> None:
    plan = WindowPlan(
        tumbling_seconds=(1.0, 60.0), hopping_seconds=120.0, hopping_step_seconds=30.0
    )
    pipeline = WindowPipeline(plan)
    ticks = random_walk_ticks(400, seed=4, rate_per_s=1.0)
    out = run(pipeline, [(KEYS[0], t) for t in ticks], 50)
    assert out.hopping and all(c.end_us - c.start_us == 120 * SECOND_US for c in out.hopping)
    assert all((c.end_us - T0_US) % (30 * SECOND_US) == 0 for c in out.hopping)
    stats = pipeline.window_stats(out.hopping[0], hopping=True)
    assert isinstance(stats, WindowStats) and stats.window_kind == "hopping"
    assert stats.step_seconds == 30.0 and stats.window_seconds == 120.0
    minute = next(c for c in out.tumbling if c.end_us - c.start_us == 60 * SECOND_US)
    record = pipeline.window_stats(minute)
    assert record is not None and record.window_kind == "tumbling" and record.step_seconds == 60.0
    with pytest.raises(ValueError, match="multiple"):
        WindowPipeline(WindowPlan(tumbling_seconds=(1.0, 2.5), hopping_seconds=300.0))


def test_idle_stream_closes_by_the_injected_clock_not_the_wall_clock() -> None:
    clock = ManualClock(T0_US)
    pipeline = WindowPipeline(clock=clock)
    pipeline.add_many(KEYS[0], random_walk_ticks(5, seed=1, rate_per_s=10.0))
    assert pipeline.advance().tumbling == []  # within grace: nothing closed
    clock.advance(3)  # the clock says little time has passed: still open
    assert pipeline.advance_idle().tumbling == []
    clock.advance(10)
    closed = pipeline.advance_idle()
    assert len(closed.tumbling) >= 1 and closed.views
    clock.advance(120)
    assert any(c.end_us - c.start_us == 60 * SECOND_US for c in pipeline.advance_idle().tumbling)
    with pytest.raises(RuntimeError):
        WindowPipeline().advance_idle()
