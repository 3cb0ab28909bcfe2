"""Scoring alerts against injected anomalies and listed events."""

from __future__ import annotations

from datetime import date

import pytest

from agents.detection.quality import Injected, listed_crashes, score, score_events
from models import PriceAlert
from models.alert import AlertFinding
from tables.tick import SECOND_US, from_epoch_us

T0_US = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
HOUR_US = 3600 * SECOND_US
KEY = "sim:BTC-USDT"


def alert(
    second: float,
    *,
    status: str = "firing",
    severity: str = "high",
    alert_id: str = "a",
    up: bool = True,
) -> PriceAlert:
    value = 1.0 if up else -1.0
    return PriceAlert(
        exchange="sim",
        symbol="BTC-USDT",
        alert_id=alert_id,
        status=status,
        timestamp=from_epoch_us(T0_US + round(second * SECOND_US)),
        severity=severity,
        confidence=80.0,
        reasons=["test"],
        findings=[AlertFinding(detector="jump", value=value, threshold=0.5, reason="test")],
    )


def jump(second: float, sigmas: float = 6.0) -> Injected:
    return Injected(KEY, T0_US + round(second * SECOND_US), "jump", sigmas, 0.5)


def test_detections_duplicates_false_alerts_and_delay() -> None:
    injected = [jump(1000), jump(3000), jump(5000, 8.0), jump(7000, 3.0)]
    alerts = [
        alert(1000.5, alert_id="a"),  # detected after 0.5 s
        alert(1200, alert_id="b"),  # the same jump again: a duplicate
        alert(3090, alert_id="c"),  # 90 s late: a true positive, not within 60 s
        alert(6000, alert_id="d"),  # 1000 s after the last jump: false
        alert(6500, alert_id="d", status="resolved"),
        alert(100, alert_id="e", severity="low"),  # before any jump: false
        alert(5001, alert_id="e", status="update", severity="critical"),  # escalation: detected
    ]
    report = score(injected, alerts, {KEY: 10 * HOUR_US})
    assert report["target_jumps"] == 3 and report["target_missed"] == 1
    assert report["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert (report["true_positives"], report["duplicates"], report["false_alerts"]) == (2, 1, 2)
    assert report["firing_alerts"] == 5 and report["precision"] == pytest.approx(0.4)
    # 10 symbol-hours less four 600 s attribution spans.
    assert report["calm_symbol_hours"] == pytest.approx(10 - 4 / 6, abs=0.01)
    assert report["false_alerts_per_symbol_day"] == pytest.approx(24 * 2 / (10 - 4 / 6), abs=1e-3)
    assert report["delay_seconds"] == {"n": 3, "median": 1.0, "p95": 90.0, "max": 90.0}
    by_size = report["recall_by_size"]
    assert isinstance(by_size, dict)
    assert by_size["jump 6 sd"] == {"n": 2, "recall": 0.5, "detected_later": 1}
    assert by_size["jump 3 sd"] == {"n": 1, "recall": 0.0, "detected_later": 0}


def test_the_crash_list_is_read_from_the_history_readme() -> None:
    readme = (
        "spans 2020-01-01 to 2025-10-14. It spans well-known crashes (2020-03-12,\n"
        "2022-11-08/09, 2025-10-10) and 15 real exchange-maintenance gaps."
    )
    crashes = listed_crashes(readme)
    assert [(c.label, c.first, c.last) for c in crashes] == [
        ("2020-03-12", date(2020, 3, 12), date(2020, 3, 12)),
        ("2022-11-08/09", date(2022, 11, 8), date(2022, 11, 9)),
        ("2025-10-10", date(2025, 10, 10), date(2025, 10, 10)),
    ]
    two_days = crashes[1]
    on_the_ninth = PriceAlert(
        **{
            **alert(0, up=False).model_dump(),
            "timestamp": from_epoch_us(1_667_952_000_000_000 + 5 * HOUR_US),  # 2022-11-09 05:00
        }
    )
    up_move = PriceAlert(**{**on_the_ninth.model_dump(), "findings": alert(0).findings})
    assert score_events([two_days], [up_move])["2022-11-08/09"]["fired"] is False
    fired = score_events([two_days], [up_move, on_the_ninth])["2022-11-08/09"]
    assert fired["fired"] is True and fired["at"] == "2022-11-09T05:00:00+00:00"
