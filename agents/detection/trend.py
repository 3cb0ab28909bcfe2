"""Deviation of a short moving average from a long one (SMA or EWMA)."""

from __future__ import annotations

from functools import lru_cache
from math import log
from typing import Literal

import numpy as np

from agents.detection.config import ClassThresholds
from agents.detection.finding import Finding, direction_of
from tables.sliding import DetectorView


class MovingAverageDeviation:
    """Over the view's per-bucket closes (carried forward through empty buckets).

    For a random walk with per-second volatility ``s``, the short-minus-long
    spread has a standard deviation of about ``s * sqrt(h)`` with ``h = L / 3``
    for SMAs over a view of ``L`` seconds, and ``h = (tau_slow - tau_fast) / 2``
    for EWMAs of mean lifetimes ``tau``; the band scales with that.
    """

    family = "trend"

    def __init__(
        self,
        mode: Literal["sma", "ewma"],
        thresholds: ClassThresholds,
        min_samples: int,
        *,
        short_seconds: float = 30.0,
        fast_half_life_seconds: float = 10.0,
        slow_half_life_seconds: float = 120.0,
    ) -> None:
        self.mode = mode
        self.name = f"{mode}_deviation"
        self.band = thresholds.ma_deviation
        self.min_samples = min_samples
        self.short_seconds = short_seconds
        self.fast = fast_half_life_seconds
        self.slow = slow_half_life_seconds

    def update(self, view: DetectorView, *, report_at: float = 1.0) -> Finding | None:
        closes = view.closes
        if len(closes) < self.min_samples or view.active_buckets < self.min_samples:
            return None
        if self.mode == "sma":
            n = max(1, round(self.short_seconds / view.bucket_seconds))
            short, long = sum(closes[-n:]) / len(closes[-n:]), sum(closes) / len(closes)
            horizon = len(closes) * view.bucket_seconds / 3.0
            label = f"{self.short_seconds:.0f}s SMA vs {len(closes) * view.bucket_seconds:.0f}s SMA"
        else:
            short = _ewma(closes, self.fast / view.bucket_seconds)
            long = _ewma(closes, self.slow / view.bucket_seconds)
            horizon = (self.slow - self.fast) / log(2) / 2.0
            label = f"EWMA half-life {self.fast:.0f}s vs {self.slow:.0f}s"
        deviation = (short / long - 1.0) * 100.0
        threshold = self.band.threshold_pct(view.volatility, horizon)
        if abs(deviation) < report_at * threshold:
            return None
        reason = f"Moving average: {label} {deviation:+.2f}% (threshold ±{threshold:.2f}%)"
        return Finding(
            self.name, self.family, deviation, threshold, direction_of(deviation), reason
        )


def _ewma(values: tuple[float, ...], half_life_buckets: float) -> float:
    """``average = values[0]``, then ``average += alpha * (value - average)`` for each
    value after it, as one dot product with the weights that recursion gives."""
    alpha = 1.0 - 0.5 ** (1.0 / max(half_life_buckets, 1e-9))
    return float(np.dot(_ewma_weights(len(values), alpha), values))


@lru_cache(maxsize=256)
def _ewma_weights(n: int, alpha: float) -> np.ndarray:
    keep = (1.0 - alpha) ** np.arange(n - 1, -1, -1, dtype=float)
    weights = alpha * keep
    weights[0] = keep[0]
    weights.flags.writeable = False
    return weights
