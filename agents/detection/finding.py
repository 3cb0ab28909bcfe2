"""What a detector reports, and the one interface every detector has."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from math import sqrt
from typing import Protocol, TypeVar

from models.alert import AlertFinding

V_contra = TypeVar("V_contra", contravariant=True)


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


def direction_of(value: float) -> Direction | None:
    if value > 0:
        return Direction.UP
    if value < 0:
        return Direction.DOWN
    return None


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector's measurement against its (already regime-scaled) threshold."""

    detector: str
    family: str  #: detectors that measure the same thing: level, change, trend, volume, ...
    value: float  #: signed where a sign means something
    threshold: float  #: positive; the detector fires when ``abs(value) >= threshold``
    direction: Direction | None  #: of the price move
    reason: str
    #: How much of ``strength`` counts toward severity: below 1 for a detector whose
    #: threshold sits lower in its own noise than the others' do.
    severity_weight: float = 1.0

    @property
    def strength(self) -> float:
        """``abs(value) / threshold``: 1.0 is exactly at the threshold."""
        return abs(self.value) / self.threshold

    @property
    def severity_strength(self) -> float:
        return self.strength * self.severity_weight

    @property
    def fired(self) -> bool:
        return self.strength >= 1.0

    def to_model(self) -> AlertFinding:
        return AlertFinding(
            detector=self.detector, value=self.value, threshold=self.threshold, reason=self.reason
        )


class Detector(Protocol[V_contra]):
    """``update(view)`` returns a finding when ``strength >= report_at``.

    The engine asks with ``report_at`` below 1 (the hysteresis floor) so that
    the lifecycle can tell "still abnormal" from "back to normal"; only
    findings with ``strength >= 1`` raise an alert.
    """

    @property
    def name(self) -> str: ...

    @property
    def family(self) -> str: ...

    def update(self, view: V_contra, *, report_at: float = 1.0) -> Finding | None: ...


@dataclass(frozen=True, slots=True)
class Band:
    """A percentage threshold scaled by the symbol's own volatility regime:
    ``multiple`` standard deviations of the move expected over the horizon,
    kept within ``[floor_pct, cap_pct]``; ``cap_pct`` while the regime is unknown."""

    multiple: float
    floor_pct: float
    cap_pct: float

    def __post_init__(self) -> None:
        if not 0 < self.floor_pct <= self.cap_pct or self.multiple <= 0:
            raise ValueError("a band needs 0 < floor_pct <= cap_pct and a positive multiple")

    def threshold_pct(self, volatility: float | None, horizon_seconds: float) -> float:
        """``volatility`` is per second (std of log returns)."""
        if volatility is None:
            return self.cap_pct
        scaled = self.multiple * volatility * sqrt(max(horizon_seconds, 1.0)) * 100.0
        return min(self.cap_pct, max(self.floor_pct, scaled))
