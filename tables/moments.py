"""Mean / variance (Welford, merged with Chan et al.) and volatility of log returns.

Both states are three to six numbers packed in a fixed-size struct.

Volatility across a seam: the log returns of a window are those between
consecutive prices *in the order they were added*. A part that saw prices
p1..pk has returns r2..rk; the next part, p(k+1)..pm, has r(k+2)..rm; one pass
over p1..pm would also have the seam return ln(p(k+1) / pk). So each part keeps
the log of its first and last price, and ``merge(a, b)`` adds
``b.first_log - a.last_log`` to ``a``'s returns (a one-element Welford step) before
the Chan merge with ``b``'s returns: merging adjacent parts in order equals one
pass over all prices, whatever the split.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from math import log, sqrt
from typing import NamedTuple

_MOMENTS = struct.Struct("<qdd")
_RETURNS = struct.Struct("<qddqdd")


class MomentsState(NamedTuple):
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0  #: sum of squared deviations from the mean


class Moments(NamedTuple):
    n: int
    mean: float
    variance: float  #: sample variance (ddof=1); 0.0 below two values
    std: float


def add_values(state: MomentsState, values: Iterable[float]) -> MomentsState:
    """Welford's update over a batch of values."""
    n, mean, m2 = state
    for x in values:
        n += 1
        delta = x - mean
        mean += delta / n
        m2 += delta * (x - mean)
    return MomentsState(n, mean, m2)


def merge_moments(a: MomentsState, b: MomentsState) -> MomentsState:
    """Chan, Golub and LeVeque's pairwise combination (commutative)."""
    if a.n == 0:
        return b
    if b.n == 0:
        return a
    n = a.n + b.n
    delta = b.mean - a.mean
    return MomentsState(n, a.mean + delta * b.n / n, a.m2 + b.m2 + delta * delta * a.n * b.n / n)


def moments_of(state: MomentsState) -> Moments:
    variance = state.m2 / (state.n - 1) if state.n > 1 else 0.0
    variance = max(variance, 0.0)
    return Moments(state.n, state.mean, variance, sqrt(variance))


class MomentsAccumulator:
    """Count, mean and sample variance of float values."""

    def initialize(self) -> MomentsState:
        return MomentsState()

    def add(self, state: MomentsState, event: float) -> MomentsState:
        return add_values(state, (event,))

    def add_many(self, state: MomentsState, events: Iterable[float]) -> MomentsState:
        return add_values(state, events)

    def merge(self, a: MomentsState, b: MomentsState) -> MomentsState:
        return merge_moments(a, b)

    def result(self, state: MomentsState) -> Moments:
        return moments_of(state)

    def to_bytes(self, state: MomentsState) -> bytes:
        return _MOMENTS.pack(*state)

    def from_bytes(self, data: bytes) -> MomentsState:
        return MomentsState(*_MOMENTS.unpack(data))


class LogReturnState(NamedTuple):
    prices: int = 0  #: prices seen (returns = prices - 1 in one pass)
    first_log: float = 0.0
    last_log: float = 0.0
    n: int = 0  #: returns
    mean: float = 0.0
    m2: float = 0.0

    @property
    def returns(self) -> MomentsState:
        return MomentsState(self.n, self.mean, self.m2)


def add_prices(state: LogReturnState, prices: Sequence[float]) -> LogReturnState:
    """Extend the return series by a batch of (positive) prices, in order."""
    if not prices:
        return state
    logs = [log(p) for p in prices]
    previous = [state.last_log, *logs[:-1]] if state.prices else logs[:-1]
    current = logs if state.prices else logs[1:]
    returns = add_values(state.returns, [b - a for a, b in zip(previous, current, strict=True)])
    first = state.first_log if state.prices else logs[0]
    return LogReturnState(state.prices + len(logs), first, logs[-1], *returns)


def merge_returns(a: LogReturnState, b: LogReturnState) -> LogReturnState:
    """``a`` then ``b`` in event time, including the return across the seam."""
    if a.prices == 0:
        return b
    if b.prices == 0:
        return a
    seam = add_values(a.returns, (b.first_log - a.last_log,))
    returns = merge_moments(seam, b.returns)
    return LogReturnState(a.prices + b.prices, a.first_log, b.last_log, *returns)


class LogReturnAccumulator:
    """Standard deviation of log returns between consecutive prices (not annualized)."""

    def initialize(self) -> LogReturnState:
        return LogReturnState()

    def add(self, state: LogReturnState, event: float) -> LogReturnState:
        return add_prices(state, (event,))

    def add_many(self, state: LogReturnState, events: Iterable[float]) -> LogReturnState:
        return add_prices(state, list(events))

    def merge(self, a: LogReturnState, b: LogReturnState) -> LogReturnState:
        return merge_returns(a, b)

    def result(self, state: LogReturnState) -> Moments:
        return moments_of(state.returns)

    def to_bytes(self, state: LogReturnState) -> bytes:
        return _RETURNS.pack(*state)

    def from_bytes(self, data: bytes) -> LogReturnState:
        return LogReturnState(*_RETURNS.unpack(data))
