"""Ingest against the exchange simulator, with the real broker: every fault mode, and
the trades in Kafka equal the simulated market's, by id, with no loss and no duplicate."""

from __future__ import annotations

import asyncio

import pytest

from ingest.options import FeedOptions
from models import DeadLetter, GapEvent
from tests.conftest import SettingsFactory
from tests.integration.ingest_harness import Harness, running_feed
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

SYMBOLS = {
    "binance": ["BTC-USDT", "ETH-USDT"],
    "binance_futures": ["BTC-USDT-PERP", "ETH-USDT-PERP"],
    "okx": ["BTC-USDT", "BTC-USDT-PERP"],
    "deribit": ["BTC-USD-PERP", "ETH-USD-PERP"],
}
FAST = FeedOptions(
    reconnect_min_seconds=0.05,
    reconnect_max_seconds=0.5,
    stale_seconds={"book": 1.5, "ticker": 30.0, "trades": 30.0},
)


def assert_exact(harness: Harness, ids: dict[str, list[str]]) -> None:
    for symbol in harness.feed.symbols:
        truth = harness.truth(symbol)
        assert truth, f"the market printed no {symbol} trade"
        got = ids.get(symbol, [])
        assert len(got) == len(set(got)), f"{symbol}: duplicates reached Kafka"
        assert sorted(got, key=int) == sorted(truth, key=int), f"{symbol}: trades lost"


async def trading(harness: Harness, trades: int = 40) -> None:
    """Let the market print ``trades`` more trades (of the first symbol)."""
    symbol = harness.feed.symbols[0]
    target = len(harness.market.trades(symbol)) + trades
    await eventually(lambda: len(harness.market.trades(symbol)) >= target)


@pytest.mark.slow
@pytest.mark.parametrize("venue", sorted(SYMBOLS))
async def test_trades_are_exact_across_every_connection_fault(
    make_settings: SettingsFactory, venue: str
) -> None:
    async with running_feed(make_settings(), venue, SYMBOLS[venue], options=FAST) as harness:
        faults, stats = harness.sim.faults, harness.feed.connections[0].stats
        await trading(harness)
        faults.drop_connections()  # abrupt: trades missed meanwhile come back over REST
        await trading(harness)
        await eventually(lambda: stats.connects >= 2)
        faults.duplicate(5)
        faults.malformed(1)
        faults.bad_messages("missing_field")
        faults.bad_messages("non_positive_price")
        faults.error_flood(20)
        await trading(harness)
        faults.stall(3.0)  # silent but open: the book watchdog must replace it
        await eventually(lambda: stats.disconnects["stale book"] >= 1)
        await trading(harness)
        ids = await harness.finish()
    assert_exact(harness, ids)
    assert stats.connects >= 3
    reasons = [r.reason for r in harness.kafka["dead_letters"] if isinstance(r, DeadLetter)]
    assert any("unparsable JSON" in reason for reason in reasons), reasons
    assert any("price" in reason for reason in reasons), reasons
    assert any("venue error" in reason for reason in reasons), reasons
    book_gaps = [g for g in harness.kafka["gaps"] if isinstance(g, GapEvent)]
    assert {g.cause for g in book_gaps} <= {"reconnect", "sequence_gap", "checksum_mismatch"}
    assert not [g for g in book_gaps if g.channel == "trades"], "nothing was lost for good"


async def test_make_before_break_switch_needs_no_backfill(make_settings: SettingsFactory) -> None:
    """Binance closes connections at 24 h; we replace them before, overlapping, and the
    trade ids across the switch are exact without asking the REST history."""
    options = FeedOptions(
        max_connection_age_seconds=4.0, rotate_before_seconds=2.0, reconnect_min_seconds=0.05
    )
    async with running_feed(
        make_settings(), "binance", SYMBOLS["binance"], options=options, max_connection_age=4.0
    ) as harness:
        stats = harness.feed.connections[0].stats
        await eventually(lambda: stats.rotations >= 2)
        await trading(harness)
        ids = await harness.finish()
    assert_exact(harness, ids)
    assert sum(stats.disconnects.values()) == 0, stats.disconnects
    history = [n for (path, _), n in harness.sim.stats.rest_requests.items() if "aggTrades" in path]
    assert history == [], "the switch must not need the REST backfill"


@pytest.mark.parametrize(("venue", "fault"), [("binance", "gap"), ("okx", "gap"), ("okx", "crc")])
async def test_a_book_fault_resyncs_that_symbol_only(
    make_settings: SettingsFactory, venue: str, fault: str
) -> None:
    symbols = SYMBOLS[venue]
    async with running_feed(make_settings(), venue, symbols, channels=["trades", "book"]) as h:
        books = h.feed.router.books
        await eventually(lambda: not any(books.needs_snapshot(s) for s in symbols))
        if fault == "gap":
            h.sim.faults.sequence_gap(symbols[0])
        else:
            h.sim.faults.checksum_error(symbols[0])
        await eventually(lambda: any(g.resynced for g in h.sink.gaps))
        await trading(h)
        ids = await h.finish()
    assert_exact(h, ids)
    gaps = [g for g in h.kafka["gaps"] if isinstance(g, GapEvent)]
    cause = "sequence_gap" if fault == "gap" else "checksum_mismatch"
    assert [(g.symbol, g.cause, g.resynced) for g in gaps] == [
        (symbols[0], cause, False),
        (symbols[0], cause, True),
    ]
    assert h.feed.connections[0].stats.connects == 1, "the connection itself stays"


@pytest.mark.parametrize("status", [429, 418])
async def test_rest_limits_pause_and_recover(make_settings: SettingsFactory, status: int) -> None:
    async with running_feed(make_settings(), "binance", SYMBOLS["binance"], options=FAST) as h:
        await trading(h)
        h.sim.faults.rest_errors(status=status, count=2, retry_after=1)
        h.sim.faults.drop_connections()
        await trading(h)
        ids = await h.finish()
    assert_exact(h, ids)
    assert h.feed.rest is not None and h.feed.rest.stats.throttled == 2
    answered = h.sim.stats.rest_requests
    assert sum(n for (_, code), n in answered.items() if code == status) == 2
    assert not any(code == 418 for (_, code) in answered if status == 429), "no ban earned"


async def test_refused_reconnects_back_off_and_recover(make_settings: SettingsFactory) -> None:
    async with running_feed(make_settings(), "okx", SYMBOLS["okx"], options=FAST) as h:
        await trading(h)
        h.sim.faults.refuse_connections(2.0)
        h.sim.faults.drop_connections()
        stats = h.feed.connections[0].stats
        await eventually(lambda: stats.failed_connects >= 1)
        await eventually(lambda: stats.connects >= 2)
        await trading(h)
        ids = await h.finish()
    assert_exact(h, ids)


async def test_one_failing_exchange_does_not_hold_up_another(
    make_settings: SettingsFactory,
) -> None:
    """Deribit floods errors and stalls, OKX refuses every connection: Binance's
    trades still all arrive, and no feed dies."""
    settings = make_settings()
    async with (
        running_feed(settings, "binance", SYMBOLS["binance"], options=FAST) as healthy,
        running_feed(settings, "deribit", SYMBOLS["deribit"], options=FAST) as noisy,
        running_feed(settings, "okx", SYMBOLS["okx"], options=FAST) as refused,
    ):
        refused.sim.faults.refuse_connections(60.0)
        refused.sim.faults.drop_connections()
        for _ in range(3):
            noisy.sim.faults.error_flood(500)
            noisy.sim.faults.stall(1.0)
            await trading(healthy)
        await asyncio.sleep(0)
        assert not refused.task.done() and not noisy.task.done()
        ids = await healthy.finish()
    assert_exact(healthy, ids)
