"""The backtest core: batching, gaps, the end of the data, the summary."""

from __future__ import annotations

from agents.detection.backtest import Backtest, Event
from agents.detection.engine import DetectionEngine
from models import GapEvent, PriceAlert
from tables.tick import SECOND_US, from_epoch_us
from tests.unit.agents.market import T0_US, market

BTC = "binance:BTC-USDT"


def jump_market() -> list[Event]:
    return list(market(BTC, seconds=1800, price=60_000.0, sigma=1e-4, seed=3, jumps={1200.0: 0.05}))


def run(events: list[Event], batch: int) -> tuple[Backtest, list[PriceAlert]]:
    backtest = Backtest(engine=DetectionEngine(), batch=batch)
    alerts: list[PriceAlert] = []
    for event in events:
        alerts.extend(backtest.push(event))
    alerts.extend(backtest.finish())
    return backtest, alerts


def test_batch_size_does_not_change_the_alerts() -> None:
    events = jump_market()
    _, one = run(events, batch=1)
    _, many = run(events, batch=5000)
    assert one == many
    assert [a.status.value for a in one if a.status.value != "update"] == ["firing", "resolved"]


def test_the_last_buckets_close_at_the_end_of_the_data() -> None:
    ticks = market(BTC, seconds=1201.5, price=60_000.0, sigma=1e-4, seed=3, jumps={1201.0: 0.05})
    backtest, alerts = run(list(ticks), batch=1000)
    # The jump is in the last second: only the end-of-data flush closes its bucket.
    assert [a.status.value for a in alerts] == ["firing"]
    assert backtest.summary.views == len({t.ts_us // SECOND_US for _, t in ticks})


def test_a_gap_applies_from_its_timestamp_and_is_counted() -> None:
    gap = GapEvent(
        exchange="binance",
        symbol="BTC-USDT",
        channel="trades",
        cause="sequence_gap",
        timestamp=from_epoch_us(T0_US + 1190 * SECOND_US),
    )
    events = jump_market()
    events.insert(100, gap)  # arrives early: still takes effect at 1190 s only
    backtest, alerts = run(events, batch=1000)
    (firing,) = [a for a in alerts if a.status.value == "firing"]
    assert firing.flags == ["after_gap"]
    summary = backtest.summary.to_dict()
    assert summary["gaps"] == 1 and summary["gaps_by_key"] == {BTC: 1}


def test_late_trades_are_counted_not_dropped_silently() -> None:
    ticks = list(market(BTC, seconds=100, price=60_000.0, sigma=1e-4, seed=1))
    stale = ticks[10]
    backtest, _ = run([*ticks, stale], batch=1000)
    summary = backtest.summary.to_dict()
    assert summary["trades"] == len(ticks) + 1
    assert summary["late_events"] == 1 and summary["late_by_key"] == {BTC: 1}
    # The first minute closed, in its 1 min window and the first 5 min hopping window.
    assert summary["windows"] == {
        "hopping_300s": 1,
        "tumbling_1s": summary["views"],
        "tumbling_60s": 1,
    }
