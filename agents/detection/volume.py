"""Volume over the last few seconds against the view's typical volume."""

from __future__ import annotations

from agents.detection.config import ClassThresholds
from agents.detection.finding import Finding, direction_of
from tables.sliding import DetectorView


class VolumeSpike:
    """``sum(volume, last short_seconds)`` / the mean volume of such a stretch before it.

    It only corroborates a price finding (the combiner never fires on volume
    alone); its direction is that of the price over the same stretch.
    """

    name = "volume_spike"
    family = "volume"

    def __init__(self, thresholds: ClassThresholds, min_samples: int, short_seconds: float) -> None:
        self.threshold = thresholds.volume_spike_ratio
        self.min_samples = min_samples
        self.short_seconds = short_seconds

    def update(self, view: DetectorView, *, report_at: float = 1.0) -> Finding | None:
        n = max(1, round(self.short_seconds / view.bucket_seconds))
        volumes, closes = view.volumes, view.closes
        before = volumes[:-n]
        if len(before) < self.min_samples or view.active_buckets < self.min_samples:
            return None
        typical = sum(before) / len(before) * n
        if typical <= 0:
            return None
        ratio = sum(volumes[-n:]) / typical
        if ratio < report_at * self.threshold:
            return None
        reason = (
            f"Volume spike: {ratio:.1f}x the typical {n * view.bucket_seconds:.0f}s volume "
            f"(threshold {self.threshold:.1f}x)"
        )
        move = closes[-1] - closes[-1 - n]
        return Finding(self.name, self.family, ratio, self.threshold, direction_of(move), reason)
