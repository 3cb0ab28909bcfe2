"""Percentage change of the price over a horizon, against a regime-scaled threshold.

:class:`PriceChange` looks a fixed horizon back (or over the whole view);
:class:`PriceJump` compares the newest bucket with the one traded before it,
the sharpest test for a discontinuity: a jump is one bucket's move, while a
burst of volatility is many moderate ones, so over one bucket a jump stands
out against turbulence that would hide it over half a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import log, sqrt

from agents.detection.finding import Band, Finding, direction_of
from tables.sliding import DetectorView


class PriceChange:
    """Newest close vs the close ``horizon_seconds`` earlier (``None``: the whole view).

    With a horizon and ``efficiency`` (the short change, built for a crash or a
    pump over tens of seconds):

    * the band scales with the volatility from *before* the horizon, so the move
      being measured does not raise its own threshold;
    * the move must go one way. Its efficiency, ``|log change| / sqrt(sum of the
      squared bucket log returns)``, is ``sqrt(n)`` over ``n`` buckets that all
      move alike and about ``|N(0, 1)|`` for noise. Below ``efficiency`` (at most
      70 % of ``sqrt(n)``) the threshold grows with the cube of the shortfall: a
      move half as one-way as wanted must be eight times as large. A burst of
      turbulence moves the price as far, but both ways. A move made mostly (80 %
      or more) by one bucket is a jump, one-way by nature, and exempt.
    """

    family = "change"

    def __init__(
        self,
        name: str,
        band: Band,
        min_samples: int,
        horizon_seconds: float | None = None,
        *,
        efficiency: float | None = None,
    ) -> None:
        self.name = name
        self.band = band
        self.min_samples = min_samples
        self.horizon_seconds = horizon_seconds
        self.efficiency = efficiency

    def update(self, view: DetectorView, *, report_at: float = 1.0) -> Finding | None:
        closes = view.closes
        if len(closes) < 2 or view.active_buckets < self.min_samples:
            return None
        back = len(closes) - 1
        if self.horizon_seconds is not None:
            back = min(back, max(1, round(self.horizon_seconds / view.bucket_seconds)))
        reference = closes[-1 - back]
        horizon = back * view.bucket_seconds
        pct = (view.price / reference - 1.0) * 100.0
        directional = ""
        if self.efficiency is None:
            volatility = view.volatility
            threshold = self.band.threshold_pct(volatility, horizon)
        else:
            volatility = view.volatility_before(back)
            threshold = self.band.threshold_pct(volatility, horizon)
            wanted = min(self.efficiency, 0.7 * sqrt(back))
            got, jump_share = efficiency(closes[-1 - back :])
            if got < wanted and jump_share < 0.8:
                threshold *= (wanted / max(got, 1e-9)) ** 3
                directional = f", efficiency {got:.1f} < {wanted:.1f}"
        if abs(pct) < report_at * threshold:
            return None
        reason = (
            f"Price change: {pct:+.2f}% over {horizon:.0f}s (threshold ±{threshold:.2f}%, "
            f"{_regime(volatility)}{directional})"
        )
        return Finding(self.name, self.family, pct, threshold, direction_of(pct), reason)


def efficiency(closes: Sequence[float]) -> tuple[float, float]:
    """``(|log(last / first)| / sqrt(sum of squared log returns), share of the move made
    by its largest bucket return the same way)``; ``(0, 0)`` for no move."""
    returns = [log(b / a) for a, b in zip(closes, closes[1:], strict=False)]
    move = sum(returns)
    squares = sum(r * r for r in returns)
    if squares <= 0 or move == 0:
        return 0.0, 0.0
    largest = max(returns) if move > 0 else -min(returns)
    return abs(move) / sqrt(squares), max(0.0, largest / abs(move))


#: A jump's threshold (13 sd of a one-second move, about 1.7 sd of a one-minute
#: one) sits lower in its own noise than the other detectors' thresholds do, so
#: its strength counts half toward severity: a 6 sd one-minute jump is high, not
#: critical.
SEVERITY_WEIGHT = 0.5


class PriceJump:
    """Newest close vs the close of the previous bucket with a trade; the band's
    horizon is the time between them (an empty second carries no price)."""

    family = "change"
    name = "jump"

    def __init__(self, band: Band, min_samples: int) -> None:
        self.band = band
        self.min_samples = min_samples

    def update(self, view: DetectorView, *, report_at: float = 1.0) -> Finding | None:
        closes, volumes = view.closes, view.volumes
        if len(closes) < 2 or view.active_buckets < self.min_samples:
            return None
        back = 1
        while back < len(closes) - 1 and volumes[-1 - back] <= 0:
            back += 1
        horizon = back * view.bucket_seconds
        pct = (view.price / closes[-1 - back] - 1.0) * 100.0
        threshold = self.band.threshold_pct(view.volatility, horizon)
        if abs(pct) < report_at * threshold:
            return None
        reason = (
            f"Jump: {pct:+.2f}% since the previous trade {horizon:.0f}s before "
            f"(threshold ±{threshold:.2f}%, {_regime(view.volatility)})"
        )
        return Finding(
            self.name,
            self.family,
            pct,
            threshold,
            direction_of(pct),
            reason,
            severity_weight=SEVERITY_WEIGHT,
        )


def _regime(volatility: float | None) -> str:
    if volatility is None:
        return "regime not yet known"
    return f"regime {volatility * 100:.4f}%/s"
