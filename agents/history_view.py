"""``/history/{exchange:symbol}/``: one key's recent closed 1 s buckets, the z-score
detector's band around them and the key's alerts (what the dashboard charts).

The buckets are the ones the ``windows`` table already holds for the detector's
view (``exchange:symbol#<start>``, see :mod:`agents.window_state`): at most one
view's worth (5 min by default) behind the partition's watermark, only the
non-empty ones. Nothing is kept or computed for this page while no one asks.

The band of a bucket is what :class:`~agents.detection.level.PriceZScore`
compared its close with: the trade-weighted mean of the buckets of the view
before it, plus and minus the symbol class's z-score threshold times their
standard deviation (floored at ``min_std_pct`` of the mean). The oldest buckets
of the page have less of their past left in the table, so their band rests on
fewer buckets; a band needs ``min_samples`` of them, as the detector does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import faust
import orjson

from agents.analytics import Analytics, install_key_page
from agents.detection.config import DetectionConfig
from agents.window_state import KeyState, ring_key
from tables.moments import MomentsAccumulator, MomentsState, moments_of
from tables.sliding import SlidingAggregate
from tables.tick import seconds_to_us
from tables.trade_window import TradeWindowAccumulator, TradeWindowState

HISTORY_PATH = "/history/{key}/"

Read = Callable[[str], bytes | None]  #: table key -> stored value


@dataclass(frozen=True, slots=True)
class HistorySpec:
    """The window sizes and thresholds the page is drawn with."""

    bucket_us: int
    view_us: int
    config: DetectionConfig

    @classmethod
    def of(cls, analytics: Analytics) -> HistorySpec:
        processor = analytics.processor
        plan = processor.plan
        return cls(plan.base_us, seconds_to_us(plan.view_seconds), processor.engine.config)


def stored_buckets(
    key: str, held: KeyState, spec: HistorySpec, read: Read
) -> list[tuple[int, TradeWindowState]]:
    """``key``'s closed buckets still in the table, oldest first.

    The table drops a bucket once it is a view behind the watermark, and the
    watermark is never behind ``closed_through_us``, so one view before that
    covers every bucket it can hold.
    """
    accumulator = TradeWindowAccumulator()
    end = held.closed_through_us
    found = []
    for start in range(max(0, end - spec.view_us), end, spec.bucket_us):
        value = read(ring_key(key, start))
        if value is not None:
            found.append((start, accumulator.from_row(orjson.loads(value))))
    return found


def bucket_points(
    symbol: str, buckets: Sequence[tuple[int, TradeWindowState]], spec: HistorySpec
) -> list[dict[str, Any]]:
    """One point per bucket: OHLC, VWAP, volume, trades and the band (``None`` where
    the detector would not have judged: fewer than ``min_samples`` before it)."""
    thresholds = spec.config.thresholds(symbol)
    min_samples = spec.config.min_samples
    accumulator = TradeWindowAccumulator()
    before: SlidingAggregate[MomentsState] = SlidingAggregate(MomentsAccumulator())
    points = []
    for start, state in buckets:
        result = accumulator.result(state)
        if result is None:
            continue
        before.evict_before(start + spec.bucket_us - spec.view_us)
        baseline = moments_of(before.query())
        mean = lower = upper = None
        if baseline.n >= min_samples and len(before) + 1 >= min_samples:
            std = max(baseline.std, baseline.mean * thresholds.min_std_pct / 100.0)
            mean = baseline.mean
            lower = mean - thresholds.z_score * std
            upper = mean + thresholds.z_score * std
        points.append(
            {
                "t": start // 1000,
                "open": float(result.open),
                "high": float(result.high),
                "low": float(result.low),
                "close": result.close_float,
                "vwap": result.vwap,
                "volume": float(result.volume),
                "trades": result.count,
                "mean": mean,
                "lower": lower,
                "upper": upper,
            }
        )
        before.push(start, state.prices)
    return points


def alert_points(held: KeyState) -> list[dict[str, Any]]:
    """The key's recent alerts (oldest first) with their event time in ms."""
    points = []
    for alert in held.alerts_json():
        at = datetime.fromisoformat(alert["timestamp"])
        points.append(
            {
                "t": round(at.timestamp() * 1000),
                "alert_id": alert["alert_id"],
                "status": alert["status"],
                "severity": alert["severity"],
                "price": alert.get("price"),
                "z_score": alert.get("z_score"),
                "price_change_pct": alert.get("price_change_pct"),
                "reasons": alert["reasons"],
            }
        )
    return points


def history_page(
    key: str, held: KeyState, served_by: str, spec: HistorySpec, read: Read
) -> dict[str, Any]:
    symbol = key.partition(":")[2]
    thresholds = spec.config.thresholds(symbol)
    active = held.alert.active
    return {
        "key": key,
        "bucket_seconds": spec.bucket_us / 1e6,
        "view_seconds": spec.view_us / 1e6,
        "z_score_threshold": thresholds.z_score,
        "closed_through": held.closed_through_us // 1000,
        "buckets": bucket_points(symbol, stored_buckets(key, held, spec, read), spec),
        "alerts": alert_points(held),
        "active_alert_id": None if active is None else active.alert_id,
        "served_by": served_by,
    }


def install_history_view(app: faust.App, analytics: Analytics) -> None:
    """Serve ``/history/{exchange:symbol}/``, routed to the worker that owns the key."""
    spec = HistorySpec.of(analytics)
    windows = analytics.windows

    def render(key: str, held: KeyState, served_by: str) -> dict[str, Any]:
        """One symbol's recent 1 s buckets with the z-score band, and its alerts."""
        return history_page(key, held, served_by, spec, windows.get)

    install_key_page(app, windows, HISTORY_PATH, render)
