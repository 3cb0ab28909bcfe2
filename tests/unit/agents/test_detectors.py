"""Detectors on synthetic markets: calm gives nothing, a jump fires the right ones."""

from __future__ import annotations

import numpy as np
import pytest

from agents.detection.config import DetectionConfig
from agents.detection.engine import DetectionEngine
from agents.detection.finding import Direction, Finding
from agents.detection.level import _median
from tables.tick import SECOND_US
from tests.unit.agents.market import T0_US, detect, market

BTC = "binance:BTC-USDT"


def findings_at(key: str, jumps: dict[float, float], at_second: float) -> list[Finding]:
    """Findings of the first view that closes after ``at_second``."""
    engine = DetectionEngine()
    run = detect(
        market(key, seconds=at_second + 10, price=60_000.0, sigma=1e-4, seed=4, jumps=jumps),
        engine,
        keep_views=True,
    )
    view = next(v for v in run.views if v.end_us - T0_US >= at_second * SECOND_US)
    return engine.findings(view)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_calm_random_walk_raises_nothing(seed: int) -> None:
    """One hour of a calm market per seed (per-second volatility 0.01 %, as BTC)."""
    run = detect(market(BTC, seconds=3600, price=60_000.0, sigma=1e-4, seed=seed))
    assert run.alerts == []


@pytest.mark.parametrize(("jump", "direction"), [(0.05, Direction.UP), (-0.05, Direction.DOWN)])
def test_five_percent_jump_fires_z_score_and_price_change(
    jump: float, direction: Direction
) -> None:
    found = {f.detector: f for f in findings_at(BTC, {1200.0: jump}, 1201.0) if f.fired}
    assert {"z_score", "robust_z_score", "pct_change", "pct_change_30s"} <= found.keys()
    for name in ("z_score", "pct_change", "pct_change_30s"):
        assert found[name].direction is direction
        assert found[name].value * jump > 0 and found[name].strength > 1
    assert found["pct_change"].value == pytest.approx(100 * jump, abs=0.3)
    assert "Price change" in found["pct_change"].reason and "Z-score" in found["z_score"].reason


def test_moving_averages_and_volume_fire_on_their_own_moves() -> None:
    # Thirty seconds after a 3 % jump the 30 s SMA has moved, the 300 s one barely.
    found = {f.detector: f for f in findings_at(BTC, {1200.0: 0.03}, 1230.0) if f.fired}
    assert {"sma_deviation", "ewma_deviation"} <= found.keys()
    assert found["sma_deviation"].direction is Direction.UP


def test_detectors_wait_for_min_samples() -> None:
    engine = DetectionEngine(DetectionConfig(min_samples=30))
    run = detect(market(BTC, seconds=20, price=60_000.0, sigma=1e-4), engine, keep_views=True)
    assert run.views and all(engine.findings(v) == [] for v in run.views)


def test_volume_spike_alone_never_alerts() -> None:
    calm = market(BTC, seconds=900, price=60_000.0, sigma=1e-4, seed=5)
    burst = market(BTC, seconds=5, price=60_000.0, sigma=1e-4, seed=6, rate=2000.0)
    start = calm[-1][1].ts_us - burst[0][1].ts_us - 20_000_000
    shifted = [(k, t._replace(ts_us=t.ts_us + start, price=calm[-1][1].price)) for k, t in burst]
    engine = DetectionEngine()
    arrivals = sorted(calm + shifted, key=lambda kt: kt[1].ts_us)
    run = detect(arrivals, engine, keep_views=True)
    spikes = [f for v in run.views for f in engine.findings(v) if f.detector == "volume_spike"]
    assert any(f.fired for f in spikes)
    assert run.alerts == []


def test_regime_scaling_differs_for_a_stablecoin_and_a_volatile_symbol() -> None:
    """The same 0.5 % move: abnormal for USDC-USDT, noise for a volatile small cap."""
    stable = "binance:USDC-USDT"
    alt = "binance:PEPE-USDT"
    arrivals = market(
        stable, seconds=1500, price=1.0, sigma=2e-6, seed=7, decimals=5, jumps={1200.0: 0.005}
    ) + market(alt, seconds=1500, price=2.0, sigma=1e-3, seed=8, decimals=5, jumps={1200.0: 0.005})
    engine = DetectionEngine()
    run = detect(sorted(arrivals, key=lambda kt: kt[1].ts_us), engine, keep_views=True)
    assert engine.config.class_of("USDC-USDT") == "stable"
    assert engine.config.class_of("PEPE-USDT") == "alt"
    assert engine.config.class_of("BTC-USD-PERP") == "major"

    def threshold(key: str) -> float:
        view = [v for v in run.views if v.key == key][-1]
        (pct,) = [f for f in engine.findings(view) if f.detector == "pct_change"]
        return pct.threshold

    assert threshold(stable) == pytest.approx(0.3)  # the class floor: the regime is ~0
    # 6 sigma of its own 5-minute moves (about 1.7 %), capped at the class's 10 %.
    assert 9.0 < threshold(alt) <= 10.0
    assert [a.symbol for a in run.firing()] == ["USDC-USDT"]


@pytest.mark.parametrize("size", [1, 2, 3, 30, 31, 299, 300])
def test_the_robust_z_score_median_is_numpys(size: int) -> None:
    rng = np.random.default_rng(size)
    for decimals in range(4):  # rounded: ties in the middle too
        values = rng.normal(100.0, 1.0, size).round(decimals)
        assert _median(values.copy()) == float(np.median(values))
