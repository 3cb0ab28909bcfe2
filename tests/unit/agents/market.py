"""Synthetic markets and a broker-free run of windows + detection over them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from agents.detection.engine import DetectionEngine
from agents.detection.lifecycle import AlertState
from models import GapEvent, PriceAlert
from tables.pipeline import WindowPipeline
from tables.sliding import DetectorView
from tables.tick import SECOND_US, Tick, epoch_us

T0_US = 1_723_161_600_000_000  # 2024-08-09T00:00:00Z


def market(
    key: str,
    *,
    seconds: float,
    price: float,
    sigma: float,
    rate: float = 20.0,
    seed: int = 0,
    jumps: Mapping[float, float] | None = None,
    decimals: int = 2,
) -> list[tuple[str, Tick]]:
    """A geometric random walk with per-second volatility ``sigma``, Poisson trades at
    ``rate`` per second, and ``jumps`` {second: relative jump} applied at those times."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(1.0 / rate, int(seconds * rate * 1.2) + 10))
    times = times[times < seconds]
    n = len(times)
    dt = np.diff(times, prepend=0.0)
    steps = rng.normal(0.0, sigma * np.sqrt(dt))
    for at, size in (jumps or {}).items():
        steps[min(int(np.searchsorted(times, at)), n - 1)] += np.log1p(size)
    prices = price * np.exp(np.cumsum(steps))
    quantities = rng.lognormal(-2.0, 1.0, n)
    out = []
    for t, p, q, buy in zip(times, prices, quantities, rng.random(n) < 0.5, strict=True):
        dp, dq = Decimal(f"{p:.{decimals}f}"), Decimal(f"{q:.6f}")
        out.append((key, Tick(T0_US + int(t * SECOND_US), dp, dq, dp * dq, bool(buy))))
    return out


def interleave(*streams: list[tuple[str, Tick]]) -> list[tuple[str, Tick]]:
    return sorted((item for stream in streams for item in stream), key=lambda kt: kt[1].ts_us)


@dataclass
class Run:
    alerts: list[PriceAlert] = field(default_factory=list)
    views: list[DetectorView] = field(default_factory=list)
    states: dict[str, AlertState] = field(default_factory=dict)

    def firing(self, key: str | None = None) -> list[PriceAlert]:
        return [a for a in self.alerts if a.status == "firing" and (key is None or a.key == key)]


def detect(
    arrivals: list[tuple[str, Tick]],
    engine: DetectionEngine | None = None,
    *,
    gaps: Iterable[GapEvent] = (),
    batch: int = 250,
    keep_views: bool = False,
) -> Run:
    """Feed ticks in batches; apply each gap once the watermark reaches its time."""
    engine = engine or DetectionEngine()
    pipeline = WindowPipeline()
    pending = sorted(gaps, key=lambda g: g.timestamp)
    run = Run()
    for i in range(0, len(arrivals), batch):
        pipeline.add_batch(arrivals[i : i + batch])
        views = pipeline.advance().views
        for view in views:
            while pending and epoch_us(pending[0].timestamp) <= view.end_us:
                gap = pending.pop(0)
                run.states[gap.key] = engine.on_gap(run.states.get(gap.key, AlertState()), gap)
            run.alerts.extend(engine.evaluate_all(run.states, [view]))
        if keep_views:
            run.views.extend(views)
    return run
