"""Ticks for the window and accumulator tests."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from tables.tick import Tick
from tables.trade_window import TradeWindowResult

T0_US = 1_723_161_600_000_000  # 2024-08-09T00:00:00Z


def random_walk_ticks(
    n: int,
    *,
    seed: int = 7,
    start_us: int = T0_US,
    rate_per_s: float = 50.0,
    price: float = 60_000.0,
    sigma: float = 2e-4,
) -> list[Tick]:
    """``n`` trades of a geometric random walk, Poisson arrivals, in event-time order.

    Prices have 2 decimals and quantities 6 (as the exchanges send them), so the
    exact Decimal fields can be checked against sums of the same literals.
    """
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1e6 / rate_per_s, n).astype(np.int64)
    times = start_us + np.cumsum(gaps)
    prices = price * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))
    quantities = rng.uniform(0.0001, 2.0, n)
    buys = rng.random(n) < 0.5
    ticks = []
    for ts, p, q, buy in zip(times, prices, quantities, buys, strict=True):
        dp, dq = Decimal(f"{p:.2f}"), Decimal(f"{q:.6f}")
        ticks.append(Tick(int(ts), dp, dq, dp * dq, bool(buy)))
    return ticks


def assert_same_result(a: TradeWindowResult | None, b: TradeWindowResult | None) -> None:
    """Exact fields equal; float statistics within 1e-9 relative."""
    assert a is not None and b is not None
    exact = ("count", "open", "high", "low", "close", "volume", "quote_volume", "buy_volume")
    for name in (*exact, "sell_volume", "first_us", "last_us"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("vwap", "mean", "std_dev", "volatility"):
        want = getattr(b, name)
        assert getattr(a, name) == pytest.approx(want, rel=1e-9, abs=1e-12 if want == 0 else 0)
