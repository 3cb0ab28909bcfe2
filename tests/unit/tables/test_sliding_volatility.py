"""The view's dense series kept incrementally, and its recent volatility."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tables.regime import RecentVolatility, RegimeEstimator
from tables.sliding import SlidingViews, dense_series
from tables.tick import SECOND_US
from tests.unit.tables.test_sliding import bucket


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(st.integers(1, 40), min_size=1, max_size=60), view=st.integers(2, 30))
def test_dense_closes_equal_the_sparse_series_filled_in(steps: list[int], view: int) -> None:
    views = SlidingViews(SECOND_US, view * SECOND_US)
    pushed: list[tuple[int, float, float]] = []
    second = 0
    for i, step in enumerate(steps):
        second += step
        b = bucket(second, [f"{100 + i % 7}.5"], qty=str(1 + i % 3))
        result = views.push(b)
        assert result is not None
        pushed.append((b.start_us, 100.5 + i % 7, float(1 + i % 3)))
        inside = [p for p in pushed if p[0] >= b.end_us - view * SECOND_US]
        assert (result.closes, result.volumes) == dense_series(inside, SECOND_US)
        assert result.active_buckets == len(inside)


def test_recent_volatility_follows_a_burst_and_ignores_one_jump() -> None:
    rng = np.random.default_rng(4)
    calm = 100 * np.exp(np.cumsum(rng.normal(0, 1e-4, 300)))
    recent = RecentVolatility()  # 5 s returns over the last 120 s, the largest dropped
    estimate = recent.of(tuple(calm), SECOND_US)
    assert estimate == pytest.approx(1e-4, rel=0.3)
    burst = calm[-1] * np.exp(np.cumsum(rng.normal(0, 5e-4, 60)))
    wild = recent.of((*calm, *burst), SECOND_US)
    assert wild is not None and wild > 2e-4  # half the window in a 5x burst
    jumped = (*calm[:-30], *(calm[-30:] * 1.02))
    after = recent.of(jumped, SECOND_US)
    assert after is not None and after < 1.5e-4  # a 2 % jump: one 5 s return, dropped
    assert recent.of(tuple(calm[:100]), SECOND_US) is None  # window not full


def test_a_view_scales_with_the_recent_past_only_once_the_regime_is_known() -> None:
    views = SlidingViews(
        SECOND_US, 300 * SECOND_US, RegimeEstimator(warmup=30, sample_seconds=30.0)
    )
    rng = np.random.default_rng(5)
    price = 100.0
    view = None
    for second in range(1200):
        price *= float(np.exp(rng.normal(0, 1e-4 if second < 1140 else 1e-3)))
        view = views.push(bucket(second, [f"{price:.6f}"]))
        assert view is not None
        if second < 30 * 30:  # 30 samples 30 s apart
            assert view.regime_volatility is None and view.volatility is None
    assert view is not None and view.regime_volatility is not None
    assert view.recent_volatility is not None and view.volatility == view.recent_volatility
    assert view.volatility > 3 * view.regime_volatility  # the last minute's burst
    # Before the last 60 buckets the burst had not begun.
    before = view.volatility_before(60)
    assert before is not None and before < 2 * view.regime_volatility
