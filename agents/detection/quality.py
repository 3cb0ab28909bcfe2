"""Detection quality: alerts scored against anomalies injected at known times.

* An injected anomaly is **detected** when a firing alert of its symbol, or an
  update raising the severity of an alert already active, comes within
  ``detect_within`` seconds of its start (event time). The first firing alert
  within ``attribute`` seconds of the start is its true positive, any further
  one in that span a duplicate.
* Every other firing alert is **false**. Its rate is per symbol-hour of calm
  time: the data's span per symbol minus the attribution spans.
* **Precision** = true positives / every firing alert (duplicates count against).
* **Delay** = first attributed alert - anomaly start, over the target anomalies
  (``kind`` jump of at least ``target_sigmas``) that were detected at all.

Anomaly sizes are in standard deviations of one-minute log returns (the
generator measures that on the anomaly-free path, see ``bench/detection.py``).

Known events of real history (:func:`listed_crashes`, from the history
README) are scored by day: did an alert of a move the right way come on the
listed UTC day(s)?
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from agents.detection.combiner import SEVERITY_RANK, VOLUME
from models.alert import AlertStatus, PriceAlert
from tables.tick import SECOND_US, epoch_us

HOUR_US = 3600 * SECOND_US


@dataclass(frozen=True, slots=True)
class Injected:
    """One scripted anomaly: where, when, what kind and how big."""

    key: str  #: ``exchange:symbol``
    at_us: int  #: start (event time)
    kind: str  #: jump, crash, pump
    sigmas: float  #: size in standard deviations of one-minute returns (signed)
    pct: float  #: the same size in percent


def alert_direction(alert: PriceAlert) -> int:
    """+1 up, -1 down, 0 unknown: the sign of the strongest price finding."""
    for finding in alert.findings:
        if not finding.detector.startswith(VOLUME) and finding.value:
            return 1 if finding.value > 0 else -1
    change = alert.price_change_pct or 0.0
    return (change > 0) - (change < 0)


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _stats(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "median": None, "p95": None, "max": None}
    return {
        "n": len(values),
        "median": round(statistics.median(values), 2),
        "p95": round(_quantile(values, 0.95), 2),
        "max": round(max(values), 2),
    }


def _size_label(anomaly: Injected) -> str:
    return f"{anomaly.kind} {abs(anomaly.sigmas):g} sd"


def score(
    injected: Iterable[Injected],
    alerts: Iterable[PriceAlert],
    span_us: Mapping[str, int],
    *,
    detect_within: float = 60.0,
    attribute: float = 600.0,
    target_sigmas: float = 6.0,
) -> dict[str, object]:
    """The report; ``span_us`` is each symbol's observed time (its calm time and the
    injections' attribution spans together)."""
    window_us, attribute_us = round(detect_within * SECOND_US), round(attribute * SECOND_US)
    by_key: dict[str, list[Injected]] = defaultdict(list)
    for anomaly in injected:
        by_key[anomaly.key].append(anomaly)
    for anomalies in by_key.values():
        anomalies.sort(key=lambda a: a.at_us)
    starts = {key: [a.at_us for a in anomalies] for key, anomalies in by_key.items()}
    first: dict[Injected, int] = {}  #: delay of the first alert (or escalation) after it
    firing = [a for a in alerts if a.status is not AlertStatus.RESOLVED]
    duplicates = false = true_positive = 0
    severity: dict[str, int] = {}
    for alert in sorted(firing, key=lambda a: a.timestamp):
        rank = SEVERITY_RANK[alert.severity]
        escalated = rank > severity.get(alert.alert_id, rank)
        severity[alert.alert_id] = max(rank, severity.get(alert.alert_id, rank))
        if alert.status is not AlertStatus.FIRING and not escalated:
            continue
        ts, anomalies = epoch_us(alert.timestamp), by_key.get(alert.key, [])
        i = bisect.bisect_right(starts.get(alert.key, []), ts) - 1
        attributed = i >= 0 and ts - anomalies[i].at_us <= attribute_us
        if attributed and anomalies[i] not in first:
            first[anomalies[i]] = ts - anomalies[i].at_us
            true_positive += alert.status is AlertStatus.FIRING
        elif alert.status is AlertStatus.FIRING:
            duplicates += attributed
            false += not attributed
    firing = [a for a in firing if a.status is AlertStatus.FIRING]
    groups: dict[str, list[Injected]] = defaultdict(list)
    for anomalies in by_key.values():
        for anomaly in anomalies:
            groups[_size_label(anomaly)].append(anomaly)

    def detected(anomaly: Injected) -> bool:
        return anomaly in first and first[anomaly] <= window_us

    by_size = {
        label: {
            "n": len(group),
            "recall": round(sum(map(detected, group)) / len(group), 4),
            "detected_later": sum(a in first and not detected(a) for a in group),
        }
        for label, group in sorted(groups.items(), key=lambda kv: (kv[0].split()[0], _sd(kv[0])))
    }
    target = [
        a
        for anomalies in by_key.values()
        for a in anomalies
        if a.kind == "jump" and abs(a.sigmas) >= target_sigmas
    ]
    hit = sum(map(detected, target))
    symbol_hours = sum(span_us.values()) / HOUR_US
    excluded = sum(len(v) for v in by_key.values()) * attribute_us / HOUR_US
    calm_hours = max(symbol_hours - excluded, 1e-9)
    return {
        "target": f"jumps >= {target_sigmas:g} sd of 1-min returns, within {detect_within:g} s",
        "recall": round(hit / len(target), 4) if target else None,
        "target_jumps": len(target),
        "target_missed": len(target) - hit,
        "precision": round(true_positive / len(firing), 4) if firing else None,
        "firing_alerts": len(firing),
        "true_positives": true_positive,
        "duplicates": duplicates,
        "false_alerts": false,
        "symbol_hours": round(symbol_hours, 2),
        "calm_symbol_hours": round(calm_hours, 2),
        "false_alerts_per_symbol_hour": round(false / calm_hours, 5),
        "false_alerts_per_symbol_day": round(24 * false / calm_hours, 3),
        "delay_seconds": _stats([first[a] / SECOND_US for a in target if a in first]),
        "recall_by_size": by_size,
    }


def _sd(label: str) -> float:
    return float(label.split()[1])


@dataclass(frozen=True, slots=True)
class ListedEvent:
    """A known market event on one or more whole UTC days (``first`` to ``last``)."""

    label: str  #: as written: ``2022-11-08/09``
    first: date
    last: date

    def holds(self, when: datetime) -> bool:
        return self.first <= when.astimezone(UTC).date() <= self.last


_CRASH_LIST = re.compile(r"crashes\s*\(([^)]*)\)", re.S)
_DAYS = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:/(\d{2}))?")


def listed_crashes(readme: str) -> list[ListedEvent]:
    """The crash dates in a README's ``crashes (2020-03-12, 2022-11-08/09, ...)``."""
    found = _CRASH_LIST.search(readme)
    if found is None:
        return []
    events = []
    for match in _DAYS.finditer(found.group(1)):
        year, month, day, until = match.groups()
        first = date(int(year), int(month), int(day))
        last = first.replace(day=int(until)) if until else first
        events.append(ListedEvent(match.group(0), first, last))
    return events


def score_events(
    events: Sequence[ListedEvent], alerts: Iterable[PriceAlert], *, direction: int = -1
) -> dict[str, dict[str, object]]:
    """Per event: the first firing alert (or escalation) of a move ``direction`` (down by
    default) on its days, if any."""
    raised = [
        a
        for a in alerts
        if a.status is not AlertStatus.RESOLVED and alert_direction(a) == direction
    ]
    report: dict[str, dict[str, object]] = {}
    for event in events:
        hits = sorted((a for a in raised if event.holds(a.timestamp)), key=lambda a: a.timestamp)
        first = hits[0] if hits else None
        report[event.label] = {
            "fired": first is not None,
            "at": None if first is None else first.timestamp.isoformat(),
            "status": None if first is None else first.status.value,
            "severity": None if first is None else first.severity.value,
            "reason": None if first is None else first.reasons[0],
        }
    return report
