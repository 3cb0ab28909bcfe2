"""Each symbol's own volatility regime: a long, robust estimate of per-second volatility.

An exponentially weighted mean of squared log returns between consecutive
non-empty buckets, in *event time* (a return over ``dt`` seconds counts as
``dt`` seconds of weight and as a per-second variance ``r**2 / dt``), bias
corrected by the total weight. Once warm, each sample is clipped at
``clip_sigmas`` standard deviations, so the one jump an alert is about does
not inflate the regime (and the thresholds) for the next hour.
"""

from __future__ import annotations

import struct
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

    def initialize(self) -> RegimeState:
        return RegimeState()

    def update(self, state: RegimeState, ts_us: int, price: float) -> RegimeState:
        """Add the price at event time ``ts_us`` (later than the previous one)."""
        current = log(price)
        if state.last_us < 0:
            return RegimeState(state.variance_sum, state.weight, state.updates, current, ts_us)
        dt = max((ts_us - state.last_us) / SECOND_US, 1e-6)
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
