"""Each fault, as a real WebSocket client sees it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from ingest.simulator import SimulatedExchange, SyntheticMarket
from models import DeadLetter, Trade
from tests.unit.simulator.helpers import (
    TIMEOUT,
    Client,
    eventually,
    open_client,
    parse_all,
    parser,
    post,
)

SYMBOL = {"binance": "BTC-USDT", "binance_futures": "BTC-USDT-PERP", "okx": "BTC-USDT"}
SYMBOL["deribit"] = "BTC-USD-PERP"
VENUES = sorted(SYMBOL)


def market(**options: Any) -> SyntheticMarket:
    options.setdefault("paused", True)
    return SyntheticMarket(sorted(set(SYMBOL.values())), seed=3, **options)


async def subscribed(client: Client, channels: tuple[str, ...] = ("trades", "book")) -> None:
    venue = parser(client.venue)
    await client.subscribe(venue.subscribe_messages([SYMBOL[client.venue]], channels))


async def closed(client: Client) -> ConnectionClosed:
    """Read until the connection closes; the exception says how."""
    with pytest.raises(ConnectionClosed) as caught:
        async with asyncio.timeout(TIMEOUT):
            while True:
                await client.websocket.recv()
    return caught.value


@pytest.mark.asyncio
@pytest.mark.parametrize("venue", VENUES)
async def test_drop_connections_aborts_without_a_close_frame(venue: str) -> None:
    source = market(paused=False, rate=500)
    async with SimulatedExchange(venue, source) as sim, open_client(sim.ws_url, venue) as client:
        await subscribed(client)
        assert sim.faults.drop_connections() == 1
        error = await closed(client)
        assert isinstance(error, ConnectionClosedError) and error.rcvd is None
        await eventually(lambda: sim.stats.connections_closed == 1)
        published = len(source.trades(SYMBOL[venue]))
        await eventually(lambda: len(source.trades(SYMBOL[venue])) > published + 5)


@pytest.mark.asyncio
async def test_duplicate_resends_the_last_messages() -> None:
    source = market()
    async with SimulatedExchange("okx", source) as sim, open_client(sim.ws_url, "okx") as client:
        await subscribed(client)
        source.step(100)
        sent = await client.drain()
        assert sim.faults.duplicate(3) == 1
        assert await client.read(3) == [*sent[-2:], "pong"]


@pytest.mark.asyncio
async def test_stall_holds_messages_then_sends_them() -> None:
    source = market()
    loop = asyncio.get_running_loop()
    async with (
        SimulatedExchange("binance", source) as sim,
        open_client(sim.ws_url, "binance") as client,
    ):
        await subscribed(client)
        start = loop.time()
        sim.faults.stall(0.5)
        source.step(20)
        frames = await client.drain()
        assert loop.time() - start >= 0.5 and frames
        assert client.websocket.state.name == "OPEN"


@pytest.mark.asyncio
async def test_a_deaf_stall_leaves_pings_unanswered() -> None:
    async with (
        SimulatedExchange("binance", market()) as sim,
        open_client(sim.ws_url, "binance", ping_interval=None) as client,
    ):
        sim.faults.stall(1.0, deaf=True)
        pong = await client.websocket.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pong), 0.3)
        await asyncio.wait_for(pong, TIMEOUT)  # answered once the stall is over


@pytest.mark.asyncio
@pytest.mark.parametrize("venue", VENUES)
async def test_malformed_bad_and_error_messages_become_dead_letters(venue: str) -> None:
    source = market()
    async with SimulatedExchange(venue, source) as sim, open_client(sim.ws_url, venue) as client:
        await subscribed(client, ("trades",))
        source.step(30)
        good = await client.drain()
        assert sim.faults.malformed(2) == 1
        assert sim.faults.bad_messages("missing_field") == 1
        assert sim.faults.bad_messages("non_positive_price", count=2) == 1
        assert sim.faults.error_flood(4) == 1
        bad = await client.read(2 + 1 + 2 + 4)
    assert all(isinstance(r, Trade) for r in parse_all(venue, good))
    records = parse_all(venue, bad)
    assert len(records) == 9 and all(isinstance(r, DeadLetter) for r in records)
    reasons = [r.reason for r in records if isinstance(r, DeadLetter)]
    assert all("JSON" in reason for reason in reasons[:2])
    assert all("venue" in reason for reason in reasons[5:])


@pytest.mark.asyncio
@pytest.mark.parametrize("venue", VENUES)
async def test_max_connection_age_closes(venue: str) -> None:
    loop = asyncio.get_running_loop()
    async with (
        SimulatedExchange(venue, market(), max_connection_age=0.3) as sim,
        open_client(sim.ws_url, venue) as client,
    ):
        start = loop.time()
        error = await closed(client)
        assert error.rcvd is not None and error.rcvd.code == 1000
        assert loop.time() - start >= 0.25


@pytest.mark.asyncio
async def test_max_connection_age_can_be_set_on_open_connections() -> None:
    async with (
        SimulatedExchange("binance", market()) as sim,
        open_client(sim.ws_url, "binance") as client,
    ):
        await subscribed(client)
        assert sim.faults.max_connection_age(0.1) == 1
        error = await closed(client)
        assert error.rcvd is not None and error.rcvd.reason == "maximum connection age reached"


@pytest.mark.asyncio
async def test_refused_handshakes_get_503_for_a_while() -> None:
    async with SimulatedExchange("okx", market()) as sim:
        status, body = await post(
            sim.control_url + "/fault", fault="refuse_connections", seconds=0.3
        )
        assert status == 200
        with pytest.raises(InvalidStatus) as refused:
            async with connect(sim.ws_url):
                pass
        assert refused.value.response.status_code == 503
        assert sim.stats.connections_refused == 1

        async def attempt() -> bool:
            try:
                async with connect(sim.ws_url):
                    return True
            except InvalidStatus:
                return False

        async with asyncio.timeout(TIMEOUT):
            while not await attempt():  # noqa: ASYNC110 - retrying a handshake
                await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_control_endpoint_drives_faults_and_the_market() -> None:
    source = market()
    async with (
        SimulatedExchange("deribit", source) as sim,
        open_client(sim.ws_url, "deribit") as client,
    ):
        await subscribed(client)
        url = sim.control_url + "/fault"
        status, body = await post(url, fault="drop_connections")
        assert (status, body["result"]) == (200, 1)
        await closed(client)
        assert (await post(url, fault="stall", seconds="x"))[0] == 400
        assert (await post(url, fault="nope"))[0] == 400
        assert (await post(url, fault="checksum_error"))[0] == 400  # OKX only
        market_url = sim.control_url + "/market"
        assert (await post(market_url, action="resume"))[0] == 200
        assert not source.paused
        assert (await post(market_url, action="pause"))[0] == 200
        assert source.paused
