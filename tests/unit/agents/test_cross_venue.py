"""One asset on several venues: the venue that drifts away is the one flagged."""

from __future__ import annotations

import pytest

from agents.detection.config import ClassThresholds
from agents.detection.cross_venue import (
    CrossVenueBoard,
    CrossVenueDivergence,
    asset_key,
)
from agents.detection.engine import DetectionEngine
from tables.tick import SECOND_US
from tests.unit.agents.market import T0_US, detect, interleave, market


def test_symbols_normalize_by_base_and_usd_like_quote() -> None:
    assert asset_key("BTC-USDT") == asset_key("BTC-USD-PERP") == asset_key("BTC-USDC") == "BTC-USD"
    assert asset_key("BTC-USDT-PERP") == "BTC-USD"
    assert asset_key("BTC-USD-20241227") is None  # a dated future carries a basis
    assert asset_key("ETH-BTC") is None
    assert asset_key("USDC-USDT") is None


def test_board_compares_fresh_quotes_only() -> None:
    board = CrossVenueBoard(max_age_seconds=5)
    board.update("binance:BTC-USDT", "BTC-USD", 60_000.0, T0_US)
    board.update("okx:BTC-USDT", "BTC-USD", 61_500.0, T0_US + SECOND_US)
    board.update("deribit:index", "BTC-USD", 60_010.0, T0_US - 10 * SECOND_US)  # stale
    assert board.view("okx:BTC-USDT", "BTC-USD", T0_US + SECOND_US) is not None
    view = board.view("okx:BTC-USDT", "BTC-USD", T0_US + SECOND_US)
    assert view is not None and [q.source for q in view.others] == ["binance:BTC-USDT"]
    board.update("deribit:index", "BTC-USD", 60_010.0, T0_US + SECOND_US)
    board.update("deribit:index", "BTC-USD", 1.0, T0_US)  # older: ignored
    view = board.view("okx:BTC-USDT", "BTC-USD", T0_US + SECOND_US)
    assert view is not None
    found = CrossVenueDivergence(ClassThresholds()).update(view)
    assert found is not None and found.value == pytest.approx((61_500 / 60_010 - 1) * 100)
    assert "okx:BTC-USDT" in found.reason
    calm = board.view("binance:BTC-USDT", "BTC-USD", T0_US + SECOND_US)
    assert calm is not None and CrossVenueDivergence(ClassThresholds()).update(calm) is None
    assert board.view("kraken:BTC-USDT", "BTC-USD", T0_US) is None


def test_a_venue_jumping_alone_is_flagged_as_divergent() -> None:
    keys = ("binance:BTC-USDT", "okx:BTC-USDT", "deribit:BTC-USD-PERP")
    # One price path on every venue (same seed); only OKX jumps 2 %.
    streams = [
        market(
            k,
            seconds=1300.0,
            price=60_000.0,
            sigma=1e-4,
            seed=9,
            jumps={1200.0: 0.02} if k.startswith("okx") else None,
        )
        for k in keys
    ]
    run = detect(interleave(*streams), DetectionEngine(board=CrossVenueBoard()))
    fired = run.firing()
    assert [a.key for a in fired] == ["okx:BTC-USDT"]
    assert any(f.detector == "cross_venue" for f in fired[0].findings)
