"""A feed's periodic tasks on the scheduler: REST polls, book publisher, trade backfill.

The backfill runs against the exchange simulator's REST trade history, first
through an outage of that endpoint (the run records the error), then with the
endpoint back (the run goes well).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from app.health.model import to_json
from app.scheduler import Scheduler
from ingest.binance_futures import BinanceFutures
from ingest.feed import VenueFeed
from ingest.rest_client import RestClient
from ingest.simulator import SimulatedExchange, SyntheticMarket
from models import GapEvent, InstrumentType, Record, Side, Trade

SYMBOL = "BTC-USDT-PERP"
AT = datetime(2024, 8, 9, tzinfo=UTC)


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    async def publish(self, record: Record) -> None:
        self.records.append(record)


def trade(sequence: int) -> Trade:
    return Trade(
        exchange="binance_futures",
        symbol=SYMBOL,
        native_symbol="BTCUSDT",
        instrument_type=InstrumentType.PERPETUAL,
        timestamp=AT,
        collected_at=AT,
        trade_id=str(sequence),
        price=Decimal("60000.5"),
        quantity=Decimal("0.1"),
        side=Side.BUY,
        sequence=sequence,
    )


def feed(jobs: Scheduler, sink: ListSink, rest: RestClient | None) -> VenueFeed:
    return VenueFeed(
        BinanceFutures(symbols=[SYMBOL]),
        symbols=[SYMBOL],
        channels=["trades", "book", "open_interest"],
        sink=sink,
        rest=rest,
        poll_seconds={"open_interest": 30.0},
        jobs=jobs,
    )


def test_a_feed_registers_its_poll_book_publisher_and_backfill() -> None:
    jobs = Scheduler()
    collector = feed(jobs, ListSink(), None)
    document = orjson.loads(to_json(jobs.document()))
    assert [(job["name"], job["schedule"]) for job in document["jobs"]] == [
        ("poll.binance_futures.open_interest", {"every_seconds": 30.0}),
        ("book_publish.binance_futures", {"every_seconds": 1.0}),
        ("trade_backfill.binance_futures", {"on_demand": "a gap in the trade ids, or a reconnect"}),
    ]
    assert jobs.polls == [collector.polls["open_interest"]]
    assert collector.book_job is jobs.get("book_publish.binance_futures")

    trades_only = VenueFeed(
        BinanceFutures(symbols=[SYMBOL]), symbols=[SYMBOL], channels=["trades"], sink=ListSink()
    )
    assert trades_only.book_job is None and trades_only.polls == {}


@pytest.mark.asyncio
async def test_each_backfill_round_is_a_run_that_records_the_history_failing() -> None:
    market = SyntheticMarket((SYMBOL,), seed=5, paused=True)
    async with SimulatedExchange("binance_futures", market) as sim:
        rest = RestClient(sim.rest_url)
        jobs, sink = Scheduler(), ListSink()
        collector = feed(jobs, sink, rest)
        job = jobs.get("trade_backfill.binance_futures")
        try:
            await collector.router.route_all([trade(10), trade(14)])  # 11 to 13 missing
            sim.faults.rest_outage(60.0, status=400, path="/fapi/v1/aggTrades")
            await collector.backfill_trades()
            assert (job.runs, job.failures, job.consecutive_failures) == (1, 1, 1)
            assert job.last_error is not None
            assert job.last_error.startswith(f"{SYMBOL}: GET {sim.rest_url}/fapi/v1/aggTrades: 400")
            assert job.last_result == {"ranges": 1, "backfilled": 0, "lost": 3}
            gaps = [r for r in sink.records if isinstance(r, GapEvent)]
            assert [(g.cause, g.missing) for g in gaps] == [("backfill_failed", 3)]

            sim.faults.rest_outage(0)  # the endpoint is back
            await collector.router.route_all([trade(20)])  # 15 to 19 missing
            await collector.backfill_trades()
            assert (job.runs, job.failures, job.consecutive_failures) == (2, 1, 0)
            assert job.last_outcome == "ok" and job.last_success_at is not None
            # the paused market printed none of them: known lost, not a failure
            assert job.last_result == {"ranges": 1, "backfilled": 0, "lost": 5}
        finally:
            await rest.close()
