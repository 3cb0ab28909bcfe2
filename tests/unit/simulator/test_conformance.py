"""What the simulator sends parses with the project's own venue parsers, and books sync.

Each test drives a paused synthetic market step by step, so the messages
are the same on every run; a probe request (answered after everything
queued before it) marks the end of what was sent.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.book_sync import BookSync
from ingest.simulator import SimulatedExchange, SyntheticMarket
from ingest.wire import DepthSnapshot
from models import BookDelta, BookSnapshot, GapEvent, Record
from tests.unit.simulator.helpers import dead_letters, get, open_client, parse_all, parser

SYMBOLS = {
    "binance": ["BTC-USDT", "ETH-USDT"],
    "binance_futures": ["BTC-USDT-PERP", "ETH-USDT-PERP"],
    "okx": ["BTC-USDT", "BTC-USDT-PERP", "BTC-USD-PERP"],
    "deribit": ["BTC-USD-PERP", "ETH-USDT-PERP"],
}
ALL_CHANNELS = ["trades", "ticker", "book", "funding", "open_interest", "liquidations"]
#: Streams the adapters' default channels leave out, subscribed too so they are checked.
EXTRA: dict[str, list[Any]] = {
    "binance": [{"method": "SUBSCRIBE", "params": ["btcusdt@trade", "btcusdt@ticker"], "id": 7}],
    "binance_futures": [{"method": "SUBSCRIBE", "params": ["btcusdt@ticker"], "id": 7}],
    "okx": [],
    "deribit": [],
}
EXPECTED = {
    "binance": {"Trade", "Ticker", "BookDelta"},
    "binance_futures": {"Trade", "Ticker", "BookDelta", "FundingRate", "Liquidation"},
    "okx": {
        "Trade",
        "Ticker",
        "BookSnapshot",
        "BookDelta",
        "FundingRate",
        "OpenInterest",
        "Liquidation",
    },
    "deribit": {
        "Trade",
        "Ticker",
        "BookSnapshot",
        "BookDelta",
        "FundingRate",
        "OpenInterest",
        "Liquidation",
    },
}


def market(symbols: list[str], seed: int = 11) -> SyntheticMarket:
    return SyntheticMarket(symbols, seed=seed, liquidation_share=0.05, paused=True)


def subscriptions(venue: str, symbols: list[str]) -> list[Any]:
    streamed = [c for c in ALL_CHANNELS if c in parser(venue).channels]
    return parser(venue).subscribe_messages(symbols, streamed) + EXTRA[venue]


async def snapshot(sim: SimulatedExchange, symbol: str) -> DepthSnapshot:
    venue = parser(sim.venue)
    native = venue.to_native(symbol)
    path = venue.depth_snapshot_path or ""
    status, _, body = await get(sim.rest_url + path, symbol=native, limit=1000)
    assert status == 200
    import orjson

    parsed = venue.parse_snapshot(orjson.dumps(body), datetime.now(UTC), symbol)
    assert isinstance(parsed, DepthSnapshot), parsed
    return parsed


def sync_books(
    venue: str, records: list[Record], rest: list[DepthSnapshot]
) -> tuple[BookSync, list[GapEvent]]:
    """Feed book records (and, for Binance, the REST snapshots last) to a BookSync."""
    sync = BookSync.for_venue(parser(venue))
    out: list[Record] = []
    for record in records:
        if isinstance(record, BookSnapshot):
            out += sync.on_snapshot(record)
        elif isinstance(record, BookDelta):
            out += sync.on_delta(record)
    for depth in rest:
        out += sync.on_snapshot(depth)
    return sync, [r for r in out if isinstance(r, GapEvent)]


@pytest.mark.asyncio
@pytest.mark.parametrize("venue", sorted(SYMBOLS))
async def test_every_message_parses_and_books_sync(venue: str) -> None:
    symbols = SYMBOLS[venue]
    source = market(symbols)
    async with SimulatedExchange(venue, source) as sim, open_client(sim.ws_url, venue) as client:
        answers = await client.subscribe(subscriptions(venue, symbols))
        assert dead_letters(parse_all(venue, answers)) == []
        source.step(1500)
        rest = []
        if parser(venue).depth_snapshot_path:
            rest = [await snapshot(sim, symbol) for symbol in symbols]
        source.step(1500)
        frames = await client.drain()

    records = parse_all(venue, answers + frames)
    assert dead_letters(records) == []
    kinds = Counter(type(r).__name__ for r in records)
    assert EXPECTED[venue] <= set(kinds), kinds

    sync, gaps = sync_books(venue, records, rest)
    assert gaps == [] and sync.stats.gaps == {}
    assert sync.stats.applied > 100
    if sync.rule.has_checksum:
        assert sync.stats.checksums_verified > 100
    for symbol in symbols:
        book = source.book(symbol)
        top = sync.top(symbol, 20)
        assert book is not None and top is not None
        assert (top.bids, top.asks) == tuple(book.top(20))


@pytest.mark.asyncio
@pytest.mark.parametrize("venue", sorted(SYMBOLS))
async def test_a_sequence_gap_fault_makes_exactly_one_gap(venue: str) -> None:
    symbols = SYMBOLS[venue][:1]
    source = market(symbols)
    async with SimulatedExchange(venue, source) as sim, open_client(sim.ws_url, venue) as client:
        answers = await client.subscribe(parser(venue).subscribe_messages(symbols, ["book"]))
        source.step(200)
        rest = [await snapshot(sim, symbols[0])] if parser(venue).depth_snapshot_path else []
        source.step(200)
        sim.faults.sequence_gap(symbols[0])
        source.step(200)
        frames = await client.drain()

    sync, gaps = sync_books(venue, parse_all(venue, answers + frames), rest)
    assert [gap.cause for gap in gaps] == ["sequence_gap"]
    assert gaps[0].symbol == symbols[0]


@pytest.mark.asyncio
async def test_the_checksum_fault_fails_the_okx_checksum() -> None:
    source = market(["BTC-USDT"])
    async with SimulatedExchange("okx", source) as sim, open_client(sim.ws_url, "okx") as client:
        answers = await client.subscribe(
            [{"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}]
        )
        source.step(100)
        sim.faults.checksum_error()
        source.step(100)
        frames = await client.drain()

    sync, gaps = sync_books("okx", parse_all("okx", answers + frames), [])
    assert [gap.cause for gap in gaps] == ["checksum_mismatch"]
    assert sync.stats.checksums_verified > 10


@pytest.mark.asyncio
async def test_rest_depth_snapshots_parse_for_binance_venues() -> None:
    source = market(["BTC-USDT", "BTC-USDT-PERP"])
    for venue, symbol in (("binance", "BTC-USDT"), ("binance_futures", "BTC-USDT-PERP")):
        async with SimulatedExchange(venue, source) as sim:
            source.step(50)
            depth = await snapshot(sim, symbol)
            book = source.book(symbol)
            assert book is not None and depth.sequence == book.last_id
            assert (depth.bids[:20], depth.asks[:20]) == tuple(book.top(20))
            assert (depth.timestamp is None) == (venue == "binance")
