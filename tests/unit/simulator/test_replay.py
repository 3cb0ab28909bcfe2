"""Replaying recorded sessions (shared data; skipped without it) through the simulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

from ingest.book_sync import BookSync
from ingest.recording import read_recording
from ingest.simulator import ReplaySource, SimulatedExchange
from ingest.wire import DepthSnapshot
from models import BookDelta, BookSnapshot, GapEvent, Record
from tests.shared_data import shared_data_dir
from tests.unit.simulator.helpers import dead_letters, get, open_client, parse_all, parser

#: Messages of BINANCE.ws.1.0 (see recorded/README.md): 177 depth, 84 bookTicker,
#: 2 aggTrade, 2 kline_1m.
BINANCE_MESSAGES = 265


def recorded(name: str) -> Path:
    return shared_data_dir() / "recorded" / name


def received(path: Path) -> list[str]:
    return [m.text for m in read_recording(path) if m.direction == "received"]


@pytest.mark.asyncio
async def test_binance_session_replays_every_message_and_its_rest_snapshot() -> None:
    path = recorded("BINANCE.ws.1.0")
    opened = next(m for m in read_recording(path) if m.direction == "opened")
    streams = urlsplit(opened.source).query
    expected = received(path)
    assert len(expected) == BINANCE_MESSAGES
    source = ReplaySource(path, speed=None, autoplay=False)
    async with SimulatedExchange("binance", source) as sim:
        url = f"{sim.ws_url}?{streams}"
        async with open_client(url, "binance") as client:
            source.play()
            frames = await client.read(len(expected))
            await source.wait_finished()
            assert await client.drain() == []
        status, _, body = await get(sim.rest_url + "/api/v3/depth", symbol="NKNUSDT", limit=1000)
    assert frames == expected
    assert source.played == len(expected)
    snapshots = [m for m in read_recording(recorded("BINANCE.http.0.0")) if "NKNUSDT" in m.source]
    assert (status, body) == (200, orjson.loads(snapshots[-1].text))
    streamed = [f for f in frames if "@kline_" not in f]  # no parser for klines
    assert dead_letters(parse_all("binance", streamed)) == []


@pytest.mark.asyncio
async def test_replay_keeps_the_recorded_pace_divided_by_speed() -> None:
    path = recorded("BINANCE.ws.1.0")
    times = [m.received_at for m in read_recording(path) if m.direction == "received"]
    span = (times[-1] - times[0]).total_seconds()
    loop = asyncio.get_running_loop()
    source = ReplaySource(path, speed=100.0, autoplay=False)
    async with SimulatedExchange("binance", source):
        start = loop.time()
        source.play()
        await asyncio.wait_for(source.wait_finished(), 30)
        assert loop.time() - start >= span / 100 * 0.95


@pytest.mark.asyncio
async def test_hftbacktest_depth_replay_syncs_a_book_with_no_gap() -> None:
    path = shared_data_dir() / "binance-hft" / "spot_btcusdt_20240808.gz"
    source = ReplaySource(path, speed=None)  # plays on the first subscription
    async with (
        SimulatedExchange("binance", source) as sim,
        open_client(sim.ws_url, "binance") as client,
    ):
        await client.send({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1})
        await asyncio.wait_for(source.wait_finished(), 60)
        frames = await client.drain()
        status, _, body = await get(sim.rest_url + "/api/v3/depth", symbol="BTCUSDT", limit=1000)
    assert status == 200
    venue = parser("binance")
    depth = venue.parse_snapshot(orjson.dumps(body), datetime.now(UTC), "BTC-USDT")
    assert isinstance(depth, DepthSnapshot)
    records = parse_all("binance", frames[1:])  # after the subscription answer
    assert dead_letters(records) == [] and len(records) == 3451
    sync = BookSync.for_venue(venue)
    events: list[Record] = []
    for record in records:
        assert isinstance(record, BookDelta)
        events += sync.on_delta(record)
    events += sync.on_snapshot(depth)
    assert [e for e in events if isinstance(e, GapEvent)] == [] and sync.stats.gaps == {}
    assert sync.stats.applied > 1000 and not sync.crossed("BTC-USDT")


@pytest.mark.asyncio
async def test_okx_session_replay_verifies_every_checksum() -> None:
    path = recorded("OKX.ws.1.0")
    books = [
        {"channel": "books", "instId": inst}
        for inst in ("BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT")
    ]
    source = ReplaySource(path, speed=None, autoplay=False)
    async with SimulatedExchange("okx", source) as sim, open_client(sim.ws_url, "okx") as client:
        await client.subscribe([{"op": "subscribe", "args": books}])
        source.play()
        await asyncio.wait_for(source.wait_finished(), 30)
        frames = await client.drain()
    records = parse_all("okx", frames)
    assert dead_letters(records) == []
    sync = BookSync.for_venue(parser("okx"))
    for record in records:
        if isinstance(record, BookSnapshot):
            assert sync.on_snapshot(record) == []
        elif isinstance(record, BookDelta):
            assert sync.on_delta(record) == []
    assert sync.stats.checksums_verified == 3 + 287


@pytest.mark.asyncio
async def test_rebase_moves_event_times_to_now_and_keeps_everything_else() -> None:
    path = recorded("BINANCE.ws.1.0")
    opened = next(m for m in read_recording(path) if m.direction == "opened")
    expected = [orjson.loads(text) for text in received(path)]
    source = ReplaySource(path, speed=None, autoplay=False, rebase=True)
    started = datetime.now(UTC).timestamp() * 1000
    async with SimulatedExchange("binance", source) as sim:
        url = f"{sim.ws_url}?{urlsplit(opened.source).query}"
        async with open_client(url, "binance") as client:
            source.play()
            frames = [orjson.loads(f) for f in await client.read(len(expected))]
            await source.wait_finished()
    shifts = set()
    for got, was in zip(frames, expected, strict=True):
        for name in ("E", "T"):
            if name in was["data"]:
                shifts.add(got["data"][name] - was["data"][name])
                got["data"][name] = was["data"][name]
        assert got == was  # only the event times moved
    [shift] = shifts  # one shift for the whole session
    first_event = min(m["data"]["E"] for m in expected if "E" in m["data"])
    assert first_event + shift >= started - 60_000  # the session now starts about now
