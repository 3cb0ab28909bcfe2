"""Percentage change of the price over a horizon, against a regime-scaled threshold."""

from __future__ import annotations

from agents.detection.finding import Band, Finding, direction_of
from tables.sliding import DetectorView


class PriceChange:
    """Newest close vs the close ``horizon_seconds`` earlier (``None``: the whole view)."""

    family = "change"

    def __init__(
        self, name: str, band: Band, min_samples: int, horizon_seconds: float | None = None
    ) -> None:
        self.name = name
        self.band = band
        self.min_samples = min_samples
        self.horizon_seconds = horizon_seconds

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
        threshold = self.band.threshold_pct(view.regime_volatility, horizon)
        if abs(pct) < report_at * threshold:
            return None
        reason = (
            f"Price change: {pct:+.2f}% over {horizon:.0f}s (threshold ±{threshold:.2f}%, "
            f"{_regime(view.regime_volatility)})"
        )
        return Finding(self.name, self.family, pct, threshold, direction_of(pct), reason)


def _regime(volatility: float | None) -> str:
    if volatility is None:
        return "regime not yet known"
    return f"regime {volatility * 100:.4f}%/s"
