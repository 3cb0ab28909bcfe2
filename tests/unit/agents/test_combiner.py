"""Findings -> one assessment."""

from __future__ import annotations

import pytest

from agents.detection.combiner import AlertCombiner, severity_for
from agents.detection.finding import Band, Direction, Finding
from models import Severity


def finding(name: str, family: str, strength: float, up: bool = True) -> Finding:
    value = strength * 2.0 * (1 if up else -1)
    direction = Direction.UP if up else Direction.DOWN
    return Finding(name, family, value, 2.0, direction, f"{name} {value:+.2f}")


COMBINER = AlertCombiner()


def test_nothing_reported_is_no_assessment() -> None:
    assert COMBINER.combine([]) is None


def test_z_score_alone_only_corroborates() -> None:
    alone = COMBINER.combine([finding("z_score", "level", 3.0)])
    assert alone is not None and not alone.firing and alone.sustained
    assert alone.z_score == 6.0
    both = COMBINER.combine([finding("z_score", "level", 3.0), finding("sma", "trend", 1.2)])
    assert both is not None and both.firing


def test_a_standalone_family_fires_alone_but_volume_never_does() -> None:
    change = COMBINER.combine([finding("pct_change", "change", 1.1)])
    assert change is not None and change.firing and change.price_change_pct == 2.2
    volume = COMBINER.combine([finding("volume_spike", "volume", 10.0)])
    assert volume is not None and not volume.firing and not volume.sustained


def test_hysteresis_floor_and_sub_threshold_findings() -> None:
    below = COMBINER.combine([finding("pct_change", "change", 0.6)])
    assert below is not None and not below.firing and below.sustained
    assert below.reasons == () and below.findings == ()
    gone = COMBINER.combine([finding("pct_change", "change", 0.4)])
    assert gone is not None and not gone.sustained


def test_severity_grows_with_strength_and_agreement() -> None:
    assert [severity_for(s, 1) for s in (1.0, 1.6, 3.0, 5.0)] == [
        Severity.LOW,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.CRITICAL,
    ]
    assert severity_for(1.6, 3) is Severity.HIGH
    assert severity_for(9.0, 5) is Severity.CRITICAL


def test_confidence_counts_families_once_and_penalizes_disagreement() -> None:
    one = COMBINER.combine([finding("pct_change", "change", 2.0)])
    same_family = COMBINER.combine(
        [finding("pct_change", "change", 2.0), finding("pct_change_10s", "change", 2.0)]
    )
    two = COMBINER.combine([finding("pct_change", "change", 2.0), finding("sma", "trend", 2.0)])
    split = COMBINER.combine(
        [finding("pct_change", "change", 2.0), finding("sma", "trend", 2.0, up=False)]
    )
    assert one is not None and same_family is not None and two is not None and split is not None
    assert one.confidence == pytest.approx(87.5)
    assert same_family.confidence == one.confidence < two.confidence
    assert split.confidence == pytest.approx(two.confidence / 2, abs=0.1)
    assert 0 <= split.confidence <= 100 and two.direction is Direction.UP
    assert two.reasons == ("pct_change +4.00", "sma +4.00")


def test_band_scales_with_regime_within_floor_and_cap() -> None:
    band = Band(6.0, 0.2, 2.0)
    assert band.threshold_pct(None, 300) == 2.0  # regime unknown: conservative
    assert band.threshold_pct(1e-6, 300) == 0.2  # quiet: the floor
    assert band.threshold_pct(1e-4, 300) == pytest.approx(6 * 1e-4 * 300**0.5 * 100)
    assert band.threshold_pct(1e-2, 300) == 2.0
    with pytest.raises(ValueError):
        Band(6.0, 2.0, 1.0)
