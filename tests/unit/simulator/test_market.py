"""The synthetic market: determinism, ground truth, prices on the tick grid, anomalies."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from ingest.order_book import OrderBook
from ingest.simulator import Anomaly, BookUpdate, StatsUpdate, SyntheticMarket, TradePrint
from ingest.simulator.instruments import InstrumentSpec
from ingest.simulator.price_path import PricePath
from models import InstrumentType
from models.exceptions import ConfigError

SYMBOLS = ["BTC-USDT", "ETH-USDT-PERP", "BTC-USD-PERP", "XRP-USDT", "SOL-USDC-20241227"]


def make(seed: int = 1) -> SyntheticMarket:
    return SyntheticMarket(SYMBOLS, seed=seed, paused=True, clock=lambda: 1.7e9)


def test_the_same_seed_gives_the_same_events() -> None:
    assert make(4).step(3000) == make(4).step(3000)
    assert make(4).step(300) != make(5).step(300)


def test_trades_are_the_ground_truth_with_contiguous_ids() -> None:
    market = make()
    events = market.step(5000)
    kinds = Counter(type(e).__name__ for e in events)
    assert {"TradePrint", "BookUpdate", "StatsUpdate", "LiquidationPrint"} <= set(kinds)
    for symbol in SYMBOLS:
        published = [e for e in events if isinstance(e, TradePrint) and e.symbol == symbol]
        assert list(market.trades(symbol)) == published and published
        ids = [t.trade_id for t in published]
        assert ids == list(range(ids[0], ids[0] + len(ids)))
        spec = InstrumentSpec.for_symbol(symbol)
        for trade in published:
            assert trade.price % spec.price(1) == 0 and trade.price > 0
            assert trade.quantity % spec.size(1) == 0 and trade.quantity > 0
    liquidated = [e for e in events if isinstance(e, TradePrint) and e.liquidation]
    assert liquidated and all(InstrumentSpec.for_symbol(t.symbol).derivative for t in liquidated)


def test_book_updates_rebuild_the_book_and_trades_print_at_the_touch() -> None:
    market = make()
    symbol = "BTC-USDT"
    book = market.book(symbol)
    assert book is not None
    now = datetime.now(UTC)
    local = OrderBook("sim", symbol, "BTCUSDT", InstrumentType.SPOT)
    local.load(*book.top(1000), sequence=book.last_id, timestamp=now, collected_at=now)
    traded: TradePrint | None = None
    for event in market.step(3000):
        if isinstance(event, TradePrint) and event.symbol == symbol:
            traded = event
        if not isinstance(event, BookUpdate) or event.symbol != symbol:
            continue
        assert local.sequence is not None and event.first_id == local.sequence + 1
        assert len(event.bids) + len(event.asks) == event.last_id - event.first_id + 1
        bids = [(c.price, c.size) for c in event.bids]
        asks = [(c.price, c.size) for c in event.asks]
        local.apply(bids, asks, sequence=event.last_id, timestamp=now, collected_at=now)
        bid, ask = local.bids.best_price(), local.asks.best_price()
        assert bid is not None and ask is not None and bid < ask
        if traded is not None:  # at the touch: the level it took, or inside what is left
            assert bid < traded.price <= ask if traded.side == "buy" else bid <= traded.price < ask
            traded = None
    assert (local.bids.best(1000), local.asks.best(1000)) == book.top(1000)
    assert all(190 <= levels <= 200 for levels in book.level_count())


def test_stats_carry_funding_and_open_interest_where_they_exist() -> None:
    stats = {e.symbol: e for e in make().step(2000) if isinstance(e, StatsUpdate)}
    assert stats["BTC-USDT"].funding_rate is None and stats["BTC-USDT"].open_interest is None
    assert stats["SOL-USDC-20241227"].funding_rate is None
    assert stats["SOL-USDC-20241227"].open_interest is not None
    perpetual = stats["ETH-USDT-PERP"]
    assert perpetual.funding_rate is not None and perpetual.open_interest is not None
    assert perpetual.funding_time is not None and perpetual.funding_time % (8 * 3600_000) == 0
    assert stats["BTC-USD-PERP"].last_size % 10 == 0  # inverse: 10-USD contracts


def test_a_jump_moves_the_price_by_its_percentage_at_its_time() -> None:
    jump = Anomaly(at=5.0, symbol="BTC-USDT", kind="jump", pct=5.0)
    market = SyntheticMarket(["BTC-USDT"], seed=2, anomalies=[jump], volatility=0.0, paused=True)
    start = market.mid("BTC-USDT")
    while market.elapsed < 5.0:
        assert market.mid("BTC-USDT") == pytest.approx(start)
        market.step()
    assert market.mid("BTC-USDT") == pytest.approx(start * 1.05)
    trade = market.step(50)
    prices = [e.price for e in trade if isinstance(e, TradePrint)]
    assert prices and all(abs(float(p) / (start * 1.05) - 1) < 0.001 for p in prices)


def test_anomaly_shapes() -> None:
    pump = Anomaly(at=10, symbol="X", kind="pump", pct=10, duration=4)
    crash = Anomaly.parse("10:X:crash:20:4")
    half_up, half_down = math.sqrt(1.1) - 1, math.sqrt(0.8) - 1
    pumped = [math.expm1(pump.offset(t)) for t in (9, 10, 12, 14, 16, 18)]
    assert pumped == pytest.approx([0, 0, half_up, 0.1, half_up, 0])
    crashed = [math.expm1(crash.offset(t)) for t in (9, 12, 14, 100)]
    assert crashed == pytest.approx([0, half_down, -0.2, -0.2])
    assert Anomaly.parse("60:BTC-USDT:jump:-3") == Anomaly(60, "BTC-USDT", "jump", -3.0)
    for bad in ("60:BTC-USDT:spike:5", "x:BTC-USDT:jump:5", "60:BTC-USDT:jump", "1:X:pump:5:0"):
        with pytest.raises(ConfigError):
            Anomaly.parse(bad)


def test_bad_markets_are_refused() -> None:
    with pytest.raises(ConfigError):
        SyntheticMarket(["BTC-USD-20241227-60000-C"])
    with pytest.raises(ConfigError):
        SyntheticMarket(["BTC-USDT"], anomalies=[Anomaly(1, "ETH-USDT", "jump", 1)])
    with pytest.raises(ConfigError):
        SyntheticMarket([])


def test_volatility_regimes_switch() -> None:
    path = PricePath(100.0, random.Random(3), volatility=0.8)
    regimes = {path.turbulent for t in range(1, 20_000) if path.advance(float(t))}
    assert regimes == {False, True}
