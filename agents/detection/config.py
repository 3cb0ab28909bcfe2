"""Detection thresholds: per symbol class, each scaled by the symbol's own regime.

A symbol's class comes from its canonical symbol: ``stable`` for a stablecoin
against a USD-like quote (USDC-USDT), ``major`` for BTC and ETH, ``alt`` for
the rest. Percentage thresholds are :class:`~agents.detection.finding.Band`\\ s:
``multiple`` standard deviations of the move the symbol's own per-second
volatility predicts over the detector's horizon, kept within the class's
floor and cap. So a quiet stablecoin pair is judged by its floor (0.2-0.3 %),
BTC by a few tenths of a percent, and a volatile small cap by several percent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from agents.detection.finding import Band
from agents.detection.lifecycle import LifecyclePolicy
from models.instrument import Instrument

if TYPE_CHECKING:
    from app.settings import DetectorSettings

#: Quote currencies treated as US dollars (cross-venue comparison, stablecoin pairs).
USD_LIKE = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USDP", "PYUSD"})
STABLE, MAJOR, ALT = "stable", "major", "alt"


@dataclass(frozen=True, slots=True)
class ClassThresholds:
    z_score: float = 4.0
    robust_z_score: float = 5.0
    min_std_pct: float = 0.002  #: floor on the price std (as % of price) in z-scores
    window_change: Band = Band(6.0, 0.2, 2.0)  #: change over the whole view
    short_change: Band = Band(6.0, 0.1, 1.5)  #: change over ``short_seconds``
    jump: Band = Band(13.0, 0.05, 1.5)  #: change since the previous bucket with a trade
    ma_deviation: Band = Band(6.0, 0.1, 1.0)
    divergence: Band = Band(8.0, 0.3, 1.0)  #: one venue vs the others
    volume_spike_ratio: float = 5.0


def default_classes(
    *,
    z_score: float = 4.0,
    change_pct: float = 2.0,
    ma_pct: float = 1.0,
    volume: float = 5.0,
    window_sigmas: float = 6.0,
    short_sigmas: float = 6.0,
    ma_sigmas: float = 6.0,
    jump_sigmas: float = 13.0,
) -> Mapping[str, ClassThresholds]:
    """``change_pct`` and ``ma_pct`` are the majors' caps; the other classes scale them.
    The ``*_sigmas`` are the bands' multiples (the same for every class)."""
    w, s, m, j = window_sigmas, short_sigmas, ma_sigmas, jump_sigmas
    major = ClassThresholds(
        z_score=z_score,
        robust_z_score=z_score * 1.25,
        window_change=Band(w, min(0.2, change_pct), change_pct),
        short_change=Band(s, min(0.1, change_pct), 0.75 * change_pct),
        jump=Band(j, min(0.05, change_pct), 0.75 * change_pct),
        ma_deviation=Band(m, min(0.1, ma_pct), ma_pct),
        volume_spike_ratio=volume,
    )
    stable = replace(
        major,
        z_score=z_score * 1.5,
        robust_z_score=z_score * 1.5,
        min_std_pct=0.02,
        window_change=Band(w, 0.3, max(0.3, change_pct / 2)),
        short_change=Band(s, 0.2, max(0.2, change_pct / 2)),
        jump=Band(j, 0.1, max(0.2, change_pct / 2)),
        ma_deviation=Band(m, 0.2, max(0.2, ma_pct / 2)),
        volume_spike_ratio=volume * 1.6,
    )
    alt = replace(
        major,
        min_std_pct=0.005,
        window_change=Band(w, 0.5, max(0.5, 5.0 * change_pct)),
        short_change=Band(s, 0.3, max(0.3, 4.0 * change_pct)),
        jump=Band(j, 0.15, max(0.3, 4.0 * change_pct)),
        ma_deviation=Band(m, 0.3, max(0.3, 5.0 * ma_pct)),
        divergence=Band(8.0, 1.0, 3.0),
    )
    return MappingProxyType({STABLE: stable, MAJOR: major, ALT: alt})


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    classes: Mapping[str, ClassThresholds] = field(default_factory=default_classes)
    majors: frozenset[str] = frozenset({"BTC", "ETH"})
    default_class: str = ALT
    min_samples: int = 30  #: non-empty buckets (and trades) in the view before judging
    short_seconds: float = 30.0
    short_change_efficiency: float = 3.5  #: how one-way a short change must be (PriceChange)
    volume_seconds: float = 10.0
    sma_short_seconds: float = 30.0
    ewma_fast_half_life_seconds: float = 10.0
    ewma_slow_half_life_seconds: float = 120.0
    resolve_ratio: float = 0.5
    min_families: int = 2
    standalone_families: frozenset[str] = frozenset({"change", "cross_venue"})
    cross_venue_max_age_seconds: float = 5.0
    lifecycle: LifecyclePolicy = LifecyclePolicy()

    def __post_init__(self) -> None:
        if self.default_class not in self.classes:
            raise ValueError(f"default_class {self.default_class!r} has no thresholds")

    def class_of(self, symbol: str) -> str:
        instrument = Instrument.parse(symbol)
        if instrument.base in USD_LIKE and instrument.quote in USD_LIKE and STABLE in self.classes:
            return STABLE
        if instrument.base in self.majors and MAJOR in self.classes:
            return MAJOR
        return self.default_class

    def thresholds(self, symbol: str) -> ClassThresholds:
        return self.classes[self.class_of(symbol)]

    @classmethod
    def from_settings(cls, settings: DetectorSettings) -> DetectionConfig:
        return cls(
            classes=default_classes(
                z_score=settings.z_score_threshold,
                change_pct=settings.price_change_pct_threshold,
                ma_pct=settings.ma_deviation_pct_threshold,
                volume=settings.volume_spike_ratio,
            ),
            min_samples=settings.min_samples,
            lifecycle=LifecyclePolicy(cooldown_seconds=settings.cooldown_seconds),
        )
