"""Price level against the view: plain z-score and robust (median / MAD) z-score."""

from __future__ import annotations

import numpy as np

from agents.detection.config import ClassThresholds
from agents.detection.finding import Finding, direction_of
from tables.sliding import DetectorView

MAD_TO_STD = 1.4826  #: MAD of a normal distribution x this = its standard deviation


class PriceZScore:
    """Newest close vs the trade-weighted mean and std of the view before it."""

    name = "z_score"
    family = "level"

    def __init__(self, thresholds: ClassThresholds, min_samples: int) -> None:
        self.threshold = thresholds.z_score
        self.min_std_pct = thresholds.min_std_pct
        self.min_samples = min_samples

    def update(self, view: DetectorView, *, report_at: float = 1.0) -> Finding | None:
        base = view.baseline
        if base is None or base.count < self.min_samples or view.active_buckets < self.min_samples:
            return None
        std = max(base.std_dev, base.mean * self.min_std_pct / 100.0)
        z = (view.price - base.mean) / std
        if abs(z) < report_at * self.threshold:
            return None
        reason = (
            f"Z-score: {z:+.2f} (threshold ±{self.threshold:.2f}): price {view.price:.8g} "
            f"vs {view.view_seconds:.0f}s mean {base.mean:.8g}, std {std:.4g}"
        )
        return Finding(self.name, self.family, z, self.threshold, direction_of(z), reason)


def _median(values: np.ndarray) -> float:
    """``np.median`` of a 1-d float array without NaNs (the same float: the middle
    element, or the mean of the two middle ones), reordering ``values`` in place; a
    third of its cost on a view's few hundred closes."""
    half = len(values) // 2
    if len(values) % 2:
        values.partition(half)
        return float(values[half])
    values.partition((half - 1, half))
    return float((values[half - 1] + values[half]) / 2)


class RobustZScore:
    """Newest close vs the median and MAD of the view's per-bucket closes before it."""

    name = "robust_z_score"
    family = "level"

    def __init__(self, thresholds: ClassThresholds, min_samples: int) -> None:
        self.threshold = thresholds.robust_z_score
        self.min_std_pct = thresholds.min_std_pct
        self.min_samples = min_samples

    def update(self, view: DetectorView, *, report_at: float = 1.0) -> Finding | None:
        if len(view.closes) - 1 < self.min_samples or view.active_buckets < self.min_samples:
            return None
        before = np.array(view.closes[:-1])
        median = _median(before)
        mad = _median(np.abs(before - median))
        scale = max(MAD_TO_STD * mad, median * self.min_std_pct / 100.0)
        z = (view.price - median) / scale
        if abs(z) < report_at * self.threshold:
            return None
        reason = (
            f"Robust z-score (median/MAD): {z:+.2f} (threshold ±{self.threshold:.2f}): "
            f"price {view.price:.8g} vs median {median:.8g}"
        )
        return Finding(self.name, self.family, z, self.threshold, direction_of(z), reason)
