"""Findings -> one assessment: fire or not, severity, confidence 0-100, reasons.

Detectors that measure the same thing form a *family* (``level``: the two
z-scores; ``change``: the one-bucket jump and the price change over the short horizon
and over the view;
``trend``: SMA and EWMA deviation; ``volume``; ``cross_venue``). They are
correlated, so confidence combines the best finding of each family, not every
finding:

* a finding of strength ``s`` (value / threshold) is worth ``1 - 0.5 / s**2``
  (0.5 at the threshold, 0.875 at twice it); a volume finding half that (it
  only corroborates);
* confidence = ``1 - prod(1 - c_family)``, times the share of strength that
  agrees with the majority direction, in percent.

Firing needs a price finding at strength >= 1 and either a *standalone*
family (a regime-scaled change, a cross-venue divergence) or ``min_families``
price families firing together: a random walk's price z-score against its own
5-minute window passes 4 several times a day, so on its own it only
corroborates, and so does a volume spike (random order sizes make one by
chance; it adds confidence and severity, never the second family). Severity
comes from the strongest price finding's severity strength (its strength
times its ``severity_weight``: < 1.5 low, < 2.5 medium, < 4 high, else
critical), one level higher when three or more families fire.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agents.detection.finding import Direction, Finding
from models.alert import Severity

SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
_BY_RANK = sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__)
_STRENGTH_STEPS = (1.5, 2.5, 4.0)
VOLUME = "volume"
Z_SCORE, PRICE_CHANGE = "z_score", "pct_change"


@dataclass(frozen=True, slots=True)
class Assessment:
    firing: bool  #: enough evidence to raise an alert
    sustained: bool  #: a price finding is at least at the hysteresis floor
    severity: Severity
    confidence: float  #: 0-100
    direction: Direction | None
    reasons: tuple[str, ...]
    findings: tuple[Finding, ...]  #: those at strength >= 1, strongest first
    z_score: float | None  #: as measured, fired or not
    price_change_pct: float | None


def severity_for(strength: float, families: int) -> Severity:
    rank = sum(strength >= step for step in _STRENGTH_STEPS)
    if families >= 3:
        rank += 1
    return _BY_RANK[min(rank, len(_BY_RANK) - 1)]


class AlertCombiner:
    def __init__(
        self,
        *,
        resolve_ratio: float = 0.5,
        min_families: int = 2,
        standalone_families: frozenset[str] = frozenset({"change", "cross_venue"}),
    ) -> None:
        if not 0 < resolve_ratio <= 1:
            raise ValueError("resolve_ratio must be in (0, 1]")
        self.resolve_ratio = resolve_ratio
        self.min_families = min_families
        self.standalone_families = standalone_families

    def combine(self, findings: Iterable[Finding]) -> Assessment | None:
        """``None`` when no detector reported anything (not even below threshold)."""
        reported = list(findings)
        if not reported:
            return None
        price = [f for f in reported if f.family != VOLUME]
        fired = sorted((f for f in reported if f.fired), key=lambda f: -f.strength)
        fired_price = [f for f in fired if f.family != VOLUME]
        families = {f.family for f in fired}
        price_families = {f.family for f in fired_price}
        firing = bool(fired_price) and (
            bool(price_families & self.standalone_families)
            or len(price_families) >= self.min_families
        )
        direction, agreement = _direction(fired_price)
        best: dict[str, Finding] = {}
        for finding in fired:  # strongest first: the first of a family is its best
            best.setdefault(finding.family, finding)
        doubt = 1.0
        for family, finding in best.items():
            worth = 1.0 - 0.5 / finding.strength**2
            doubt *= 1.0 - (worth / 2 if family == VOLUME else worth)
        strength = max((f.severity_strength for f in fired_price), default=0.0)
        return Assessment(
            firing=firing,
            sustained=any(f.strength >= self.resolve_ratio for f in price),
            severity=severity_for(strength, len(families)),
            confidence=round(100.0 * (1.0 - doubt) * agreement, 1),
            direction=direction,
            reasons=tuple(f.reason for f in fired),
            findings=tuple(fired),
            z_score=_value(reported, Z_SCORE),
            price_change_pct=_value(reported, PRICE_CHANGE),
        )


def _direction(findings: list[Finding]) -> tuple[Direction | None, float]:
    """Majority direction by strength, and the share of strength that agrees."""
    up = sum(f.strength for f in findings if f.direction is Direction.UP)
    down = sum(f.strength for f in findings if f.direction is Direction.DOWN)
    if up == down == 0:
        return None, 1.0
    if up >= down:
        return Direction.UP, up / (up + down)
    return Direction.DOWN, down / (up + down)


def _value(findings: list[Finding], detector: str) -> float | None:
    return next((f.value for f in findings if f.detector == detector), None)
