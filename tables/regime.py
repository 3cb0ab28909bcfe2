"""Each symbol's own volatility regime: a long, robust estimate of per-second volatility;
and :class:`RecentVolatility`, the short one thresholds also heed.

An exponentially weighted mean of squared log returns between consecutive
non-empty buckets, in *event time* (a return over ``dt`` seconds counts as
``dt`` seconds of weight and as a per-second variance ``r**2 / dt``), bias
corrected by the total weight. Once warm, each sample is clipped at
``clip_sigmas`` standard deviations, so the one jump an alert is about does
not inflate the regime (and the thresholds) for the next hour.

Returns are sampled at most every ``sample_seconds``: a trade price bounces
between bid and ask, and that noise does not grow with the horizon, so
one-second returns of a symbol with a wide spread overstate its volatility
(and every threshold scaled by ``sqrt(horizon)``) several times over. Over
30 s the bounce is a small part of the variance.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from math import log, sqrt
from typing import NamedTuple

from tables.tick import SECOND_US

_STATE = struct.Struct("<ddqdq")


class RegimeState(NamedTuple):
    variance_sum: float = 0.0
    weight: float = 0.0
    updates: int = 0
    last_log: float = 0.0
    last_us: int = -1  #: event time of the last price, -1 before the first

    def to_bytes(self) -> bytes:
        return _STATE.pack(*self)

    @classmethod
    def from_bytes(cls, data: bytes) -> RegimeState:
        return cls(*_STATE.unpack(data))


@dataclass(frozen=True, slots=True)
class RegimeEstimator:
    half_life_seconds: float = 1800.0
    clip_sigmas: float = 5.0
    warmup: int = 30  #: returns needed before :meth:`volatility` answers
    sample_seconds: float = 1.0  #: least event time between two sampled prices

    def initialize(self) -> RegimeState:
        return RegimeState()

    def update(self, state: RegimeState, ts_us: int, price: float) -> RegimeState:
        """Add the price at event time ``ts_us`` (later than the previous one)."""
        current = log(price)
        if state.last_us < 0:
            return RegimeState(state.variance_sum, state.weight, state.updates, current, ts_us)
        dt = max((ts_us - state.last_us) / SECOND_US, 1e-6)
        if dt < self.sample_seconds:
            return state
        sample = (current - state.last_log) ** 2 / dt
        if state.updates >= self.warmup and state.weight > 0:
            sample = min(sample, self.clip_sigmas**2 * state.variance_sum / state.weight)
        keep = 0.5 ** (dt / self.half_life_seconds)
        return RegimeState(
            keep * state.variance_sum + (1 - keep) * sample,
            keep * state.weight + (1 - keep),
            state.updates + 1,
            current,
            ts_us,
        )

    def volatility(self, state: RegimeState) -> float | None:
        """Per-second standard deviation of log returns; ``None`` while warming up."""
        if state.updates < self.warmup or state.weight <= 0:
            return None
        return sqrt(state.variance_sum / state.weight)


@dataclass(frozen=True, slots=True)
class RecentVolatility:
    """Per-second volatility of the last ``window_us`` of a view's dense closes: the
    root mean square of returns over ``sample_us`` steps ending at the last close,
    without the ``trim`` largest (one jump in the window does not count).

    Fast where the regime is slow: a burst of turbulence shows here within a
    minute, so thresholds rise with it instead of alerting on it. Bid-ask bounce
    is small against a 5 s return.
    """

    sample_us: int = 5 * SECOND_US
    window_us: int = 120 * SECOND_US
    trim: int = 1

    def of(self, closes: Sequence[float], bucket_us: int) -> float | None:
        """``None`` until the window is full (or when it holds no more than ``trim``)."""
        step = max(1, self.sample_us // bucket_us)
        count = max(1, self.window_us // (step * bucket_us))
        points = closes[::-1][: count * step + 1 : step]
        if len(points) <= count or count <= self.trim:
            return None
        squares = sorted(log(a / b) ** 2 for a, b in zip(points, points[1:], strict=False))
        kept = squares[: len(squares) - self.trim]
        return sqrt(sum(kept) / len(kept) / (step * bucket_us / SECOND_US))
