"""The knobs a backtest turns, flattened: windows, thresholds, detector shape, lifecycle.

A :class:`Tuning` holds overrides (``None`` keeps the base value: the
configured settings via :meth:`Tuning.from_settings`, else the code's
defaults); :meth:`Tuning.build` makes the window plan and the detection
config. :data:`PRESETS` are tunings validated by ``bench/detection.py``:

* ``seconds`` — the defaults: trades in 1 s buckets, a 5 min view.
* ``hourly`` — hourly OHLCV bars (one bar a bucket): a one-day view, a
  one-week volatility regime, the change over 4 h at 5 sd and over the day at
  3.5 sd of the regime's move, percentage caps out of the way (30 %), one alert
  a day per direction at most (cooldown), resolved after 3 quiet hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from agents.detection.config import DetectionConfig, default_classes
from agents.detection.lifecycle import LifecyclePolicy
from tables.pipeline import WindowPlan

if TYPE_CHECKING:
    from app.settings import DetectorSettings, WindowSettings

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Tuning:
    # windows
    bucket_seconds: float | None = None  #: the smallest tumbling window (the detector's step)
    view_seconds: float | None = None
    grace_seconds: float | None = None
    regime_half_life_seconds: float | None = None
    regime_sample_seconds: float | None = None
    # thresholds (the detector settings)
    z_score: float | None = None
    price_change_pct: float | None = None  #: the majors' cap on the change bands
    ma_deviation_pct: float | None = None  #: the majors' cap on the moving-average band
    volume_spike_ratio: float | None = None
    min_samples: int | None = None
    cooldown_seconds: float | None = None
    # detector shape
    window_change_sigmas: float | None = None
    short_change_sigmas: float | None = None
    ma_sigmas: float | None = None
    jump_sigmas: float | None = None
    short_seconds: float | None = None
    short_change_efficiency: float | None = None
    volume_seconds: float | None = None
    sma_short_seconds: float | None = None
    ewma_fast_half_life_seconds: float | None = None
    ewma_slow_half_life_seconds: float | None = None
    # lifecycle
    resolve_after_seconds: float | None = None
    update_every_seconds: float | None = None
    gap_quiet_seconds: float | None = None
    daily_budget: int | None = None

    def override(self, other: Tuning) -> Tuning:
        """This tuning with every value ``other`` sets."""
        changes = {
            f.name: getattr(other, f.name)
            for f in fields(other)
            if getattr(other, f.name) is not None
        }
        return replace(self, **changes)

    def as_dict(self) -> dict[str, float | int]:
        """The values set (for a report)."""
        values = ((f.name, getattr(self, f.name)) for f in fields(self))
        return {name: value for name, value in values if value is not None}

    @classmethod
    def from_settings(cls, windows: WindowSettings, detector: DetectorSettings) -> Tuning:
        return cls(
            bucket_seconds=min(windows.tumbling_seconds),
            view_seconds=windows.detector_view_seconds,
            grace_seconds=windows.grace_seconds,
            z_score=detector.z_score_threshold,
            price_change_pct=detector.price_change_pct_threshold,
            ma_deviation_pct=detector.ma_deviation_pct_threshold,
            volume_spike_ratio=detector.volume_spike_ratio,
            min_samples=detector.min_samples,
            cooldown_seconds=detector.cooldown_seconds,
        )

    def window_plan(self, base: WindowPlan | None = None) -> WindowPlan:
        """``base`` (default: the code's) with this tuning's windows.

        A bucket that the base's larger windows are no multiple of keeps only
        those that are; the hopping step becomes the next multiple of the
        bucket, with as many steps to a window as before.
        """
        plan = base or WindowPlan()
        bucket = self.bucket_seconds or min(plan.tumbling_seconds)
        tumbling = (bucket, *(s for s in plan.tumbling_seconds if s > bucket and _fits(s, bucket)))
        step = plan.hopping_step_seconds
        steps = max(1, round(plan.hopping_seconds / step))
        if not _fits(step, bucket):
            step = bucket * math.ceil(step / bucket)
        return replace(
            plan,
            tumbling_seconds=tumbling,
            hopping_seconds=step * steps,
            hopping_step_seconds=step,
            view_seconds=_pick(self.view_seconds, plan.view_seconds),
            grace_seconds=_pick(self.grace_seconds, plan.grace_seconds),
            regime_half_life_seconds=_pick(
                self.regime_half_life_seconds, plan.regime_half_life_seconds
            ),
            regime_sample_seconds=_pick(self.regime_sample_seconds, plan.regime_sample_seconds),
        )

    def detection_config(self) -> DetectionConfig:
        base, policy = DetectionConfig(), LifecyclePolicy()
        classes = default_classes(
            **{
                name: value
                for name, value in (
                    ("z_score", self.z_score),
                    ("change_pct", self.price_change_pct),
                    ("ma_pct", self.ma_deviation_pct),
                    ("volume", self.volume_spike_ratio),
                    ("window_sigmas", self.window_change_sigmas),
                    ("short_sigmas", self.short_change_sigmas),
                    ("ma_sigmas", self.ma_sigmas),
                    ("jump_sigmas", self.jump_sigmas),
                )
                if value is not None
            }
        )
        lifecycle = replace(
            policy,
            cooldown_seconds=_pick(self.cooldown_seconds, policy.cooldown_seconds),
            resolve_after_seconds=_pick(self.resolve_after_seconds, policy.resolve_after_seconds),
            update_every_seconds=_pick(self.update_every_seconds, policy.update_every_seconds),
            gap_quiet_seconds=_pick(self.gap_quiet_seconds, policy.gap_quiet_seconds),
            daily_budget=self.daily_budget
            if self.daily_budget is not None
            else policy.daily_budget,
        )
        return replace(
            base,
            classes=classes,
            min_samples=self.min_samples if self.min_samples is not None else base.min_samples,
            short_seconds=_pick(self.short_seconds, base.short_seconds),
            short_change_efficiency=_pick(
                self.short_change_efficiency, base.short_change_efficiency
            ),
            volume_seconds=_pick(self.volume_seconds, base.volume_seconds),
            sma_short_seconds=_pick(self.sma_short_seconds, base.sma_short_seconds),
            ewma_fast_half_life_seconds=_pick(
                self.ewma_fast_half_life_seconds, base.ewma_fast_half_life_seconds
            ),
            ewma_slow_half_life_seconds=_pick(
                self.ewma_slow_half_life_seconds, base.ewma_slow_half_life_seconds
            ),
            lifecycle=lifecycle,
        )

    def build(self, base: WindowPlan | None = None) -> tuple[WindowPlan, DetectionConfig]:
        return self.window_plan(base), self.detection_config()


def _pick(value: float | None, default: float) -> float:
    return default if value is None else value


def _fits(seconds: float, bucket: float) -> bool:
    ratio = seconds / bucket
    return abs(ratio - round(ratio)) < 1e-9


PRESETS: dict[str, Tuning] = {
    "seconds": Tuning(),
    "hourly": Tuning(
        bucket_seconds=HOUR,
        view_seconds=24 * HOUR,
        grace_seconds=0.0,
        regime_half_life_seconds=7 * 24 * HOUR,
        price_change_pct=30.0,
        ma_deviation_pct=30.0,
        min_samples=20,
        cooldown_seconds=24 * HOUR,
        window_change_sigmas=3.5,
        short_change_sigmas=5.0,
        ma_sigmas=4.0,
        short_seconds=4 * HOUR,
        volume_seconds=4 * HOUR,
        sma_short_seconds=6 * HOUR,
        ewma_fast_half_life_seconds=3 * HOUR,
        ewma_slow_half_life_seconds=24 * HOUR,
        resolve_after_seconds=3 * HOUR,
        update_every_seconds=0.0,
        gap_quiet_seconds=HOUR,
    ),
}
