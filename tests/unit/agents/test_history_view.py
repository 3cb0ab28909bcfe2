"""The dashboard's history view: the table's ring buckets of one key, the band the
z-score detector judged each close by, and the key's alerts (no Faust)."""

from __future__ import annotations

import pytest

from agents.detection.config import DetectionConfig
from agents.detection.engine import DetectionEngine
from agents.detection.level import PriceZScore
from agents.history_view import HistorySpec, bucket_points, history_page
from agents.processing import WindowProcessor
from agents.window_state import KeyState, parse_table_key
from tables.pipeline import WindowPipeline
from tables.sliding import DetectorView
from tables.tick import seconds_to_us
from tables.trade_window import TradeWindowState
from tests.unit.agents.market import T0_US, market
from tests.unit.agents.test_processing import PLAN, apply, batches, entries

JUMPY = "binance:BTC-USDT"
JUMP_AT = 450.0


def spec_of(config: DetectionConfig | None = None) -> HistorySpec:
    return HistorySpec(PLAN.base_us, seconds_to_us(PLAN.view_seconds), config or DetectionConfig())


def buckets_and_views(
    seconds: float, jump_at: float
) -> tuple[list[tuple[int, TradeWindowState]], list[DetectorView]]:
    """Every closed 1 s bucket of one jumpy key and every view the detector saw."""
    jumps = {jump_at: 0.05}
    ticks = market(JUMPY, seconds=seconds, price=60000, sigma=2e-4, rate=8, seed=1, jumps=jumps)
    pipeline = WindowPipeline(PLAN)
    buckets: list[tuple[int, TradeWindowState]] = []
    views: list[DetectorView] = []
    for i in range(0, len(ticks), 250):
        pipeline.add_batch(ticks[i : i + 250])
        out = pipeline.advance()
        base = [c for c in out.tumbling if c.end_us - c.start_us == PLAN.base_us]
        buckets += [(c.start_us, c.state) for c in base]
        views += out.views
    return buckets, views


def test_the_band_is_what_the_z_score_detector_compared_each_close_with() -> None:
    config = DetectionConfig()
    buckets, views = buckets_and_views(600, JUMP_AT)
    points = {p["t"] * 1000: p for p in bucket_points("BTC-USDT", buckets, spec_of(config=config))}
    detector = PriceZScore(config.thresholds("BTC-USDT"), config.min_samples)
    judged, crossed = 0, []
    for view in views:
        point = points[view.end_us - PLAN.base_us]
        assert point["close"] == view.price
        base = view.baseline
        n = config.min_samples
        if base is None or base.count < n or view.active_buckets < n:
            assert point["upper"] is None and point["lower"] is None
            continue
        judged += 1
        assert point["mean"] == pytest.approx(base.mean, rel=1e-12)
        outside = not point["lower"] < view.price < point["upper"]
        assert outside == (detector.update(view) is not None), (view.end_us, point)
        if outside:
            crossed.append((view.end_us - T0_US) / 1e6)
    assert judged > 500
    assert crossed and all(JUMP_AT < at < JUMP_AT + 60 for at in crossed), crossed  # the jump only


def test_the_page_holds_the_keys_ring_buckets_and_its_alerts() -> None:
    processor = WindowProcessor(PLAN, DetectionEngine())
    processor.restore_partition(0, [])
    table: dict[str, bytes] = {}
    alerts = []
    for batch in batches(entries(seconds=900, jump_at=600)):
        out = processor.process(0, batch)
        apply(table, out.writes)
        alerts += [a for a in out.alerts if a.key == JUMPY]
    held = KeyState.from_bytes(table[JUMPY])
    page = history_page(JUMPY, held, "http://worker:6066", spec_of(), table.get)

    ring = sorted(start for key, start in map(parse_table_key, table) if key == JUMPY and start)
    assert [p["t"] * 1000 for p in page["buckets"]] == ring
    assert len(ring) > 250  # the last 5 min, minus the seconds without a trade
    assert all(p["low"] <= p["close"] <= p["high"] for p in page["buckets"])
    assert [a["alert_id"] for a in page["alerts"]] == [a.alert_id for a in alerts]
    assert [a["t"] for a in page["alerts"]] == [
        round(a.timestamp.timestamp() * 1000) for a in alerts
    ]
    assert alerts and alerts[-1].status != "resolved"
    assert page["active_alert_id"] == alerts[-1].alert_id
    assert page["alerts"][0]["reasons"] == alerts[0].reasons
    assert page["z_score_threshold"] == DetectionConfig().thresholds("BTC-USDT").z_score
    assert page["served_by"] == "http://worker:6066"
