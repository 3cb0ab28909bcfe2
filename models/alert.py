"""Price alerts published on the alert topic (the seed's anomaly alert)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from models.base import Record, SymbolRecord
from models.numbers import UtcDatetime


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    FIRING = "firing"  # first alert of a move
    UPDATE = "update"  # the move goes on (severity or values changed)
    RESOLVED = "resolved"  # back to normal


class AlertFinding(Record):
    """What one detector saw: the value, the threshold it crossed, and why."""

    detector: str = Field(min_length=1)
    value: float
    threshold: float
    reason: str = Field(min_length=1)


class PriceAlert(SymbolRecord):
    """An abnormal price move on one symbol.

    Subscribers can rely on the seed's fields: ``symbol``, ``timestamp``,
    ``severity``, ``z_score``, ``price_change_pct``, ``confidence`` (0-100)
    and human-readable ``reasons``; the rest says which detectors fired,
    with their values and thresholds, and where the alert is in its life.
    """

    type: Literal["price_alert"] = "price_alert"
    alert_id: str = Field(min_length=1, description="stable across firing/update/resolved")
    status: AlertStatus = AlertStatus.FIRING
    timestamp: UtcDatetime = Field(description="exchange event time that triggered it")
    severity: Severity
    z_score: float | None = None
    price_change_pct: float | None = None
    confidence: float = Field(ge=0, le=100)
    reasons: list[str] = Field(min_length=1)
    price: float | None = Field(default=None, gt=0)
    window_seconds: float | None = Field(default=None, gt=0)
    findings: list[AlertFinding] = Field(default_factory=list)
    flags: list[str] = Field(
        default_factory=list, description="e.g. 'after_gap': data was incomplete just before"
    )
