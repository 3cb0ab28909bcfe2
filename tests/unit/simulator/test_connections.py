"""Connection rules: heartbeats, idle and rate limits, stream limits, URL forms."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from ingest.simulator import SimulatedExchange, SyntheticMarket
from tests.unit.simulator.helpers import TIMEOUT, Client, open_client

TEST_REQUEST = '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'


def market() -> SyntheticMarket:
    return SyntheticMarket(["BTC-USDT", "BTC-USD-PERP"], seed=1, paused=True)


async def close_code(client: Client) -> int | None:
    with pytest.raises(ConnectionClosed) as caught:
        async with asyncio.timeout(TIMEOUT):
            while True:
                await client.websocket.recv()
    return caught.value.rcvd.code if caught.value.rcvd else None


@pytest.mark.asyncio
async def test_okx_answers_ping_and_closes_silent_connections() -> None:
    loop = asyncio.get_running_loop()
    async with SimulatedExchange("okx", market(), idle_timeout=0.6) as sim:
        async with open_client(sim.ws_url, "okx") as client:
            start = loop.time()
            while loop.time() - start < 1.2:  # twice the timeout, kept alive by pings
                await client.send("ping")
                assert await client.recv() == "pong"
                await asyncio.sleep(0.1)
            assert await close_code(client) == 4004
            assert loop.time() - start >= 1.2


@pytest.mark.asyncio
async def test_deribit_heartbeat_closes_when_test_request_goes_unanswered() -> None:
    async with (
        SimulatedExchange("deribit", market()) as sim,
        open_client(sim.ws_url, "deribit") as client,
    ):
        await client.send(
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "public/set_heartbeat",
                "params": {"interval": 0.2},
            }
        )
        reply = orjson.loads(await client.recv())
        assert (reply["id"], reply["result"]) == (3, "ok")
        for n in range(3):  # answered: the connection lives on
            assert await client.recv() == TEST_REQUEST
            await client.send({"jsonrpc": "2.0", "id": 10 + n, "method": "public/test"})
            assert orjson.loads(await client.recv())["result"] == {"version": "1.2.26"}
        assert await client.recv() == TEST_REQUEST
        assert await close_code(client) == 1000  # not answered: closed at the next one


@pytest.mark.asyncio
async def test_binance_closes_a_client_sending_over_five_messages_a_second() -> None:
    async with (
        SimulatedExchange("binance", market()) as sim,
        open_client(sim.ws_url, "binance") as client,
    ):
        for n in range(12):  # whatever the second boundaries, one second sees six
            await client.send({"method": "LIST_SUBSCRIPTIONS", "id": n})
        assert await close_code(client) == 1008


@pytest.mark.asyncio
async def test_binance_refuses_more_than_1024_streams() -> None:
    async with (
        SimulatedExchange("binance", market()) as sim,
        open_client(sim.ws_url, "binance") as client,
    ):
        streams = [f"sym{n}usdt@trade" for n in range(1025)]
        await client.send({"method": "SUBSCRIBE", "params": streams, "id": 1})
        reply = orjson.loads(await client.recv())
        assert reply["id"] == 1 and reply["error"]["code"] == 2
        await client.send({"method": "SUBSCRIBE", "params": streams[:1024], "id": 2})
        assert orjson.loads(await client.recv()) == {"result": None, "id": 2}


@pytest.mark.asyncio
async def test_binance_url_streams_raw_and_combined() -> None:
    source = market()
    async with SimulatedExchange("binance", source) as sim:
        base = sim.ws_url.removesuffix("/stream")
        url = f"{base}/stream?streams=btcusdt@aggTrade/btcusdt@depth@100ms"
        async with open_client(url, "binance") as client:
            await client.send({"method": "LIST_SUBSCRIPTIONS", "id": 1})
            listed = orjson.loads(await client.recv())
            assert sorted(listed["result"]) == ["btcusdt@aggTrade", "btcusdt@depth@100ms"]
            source.step(20)
            frames = [orjson.loads(f) for f in await client.drain()]
            assert {f["stream"] for f in frames} <= {"btcusdt@aggTrade", "btcusdt@depth@100ms"}
        async with open_client(f"{base}/ws/btcusdt@depth", "binance") as client:
            source.step(20)
            frames = [orjson.loads(f) for f in await client.drain()]
            assert frames and all(f["e"] == "depthUpdate" for f in frames)
            await client.send({"method": "UNSUBSCRIBE", "params": ["btcusdt@depth"], "id": 5})
            assert orjson.loads(await client.recv()) == {"result": None, "id": 5}
            source.step(20)
            assert await client.drain() == []


@pytest.mark.asyncio
async def test_websocket_pings_are_sent() -> None:
    async with SimulatedExchange("binance", market(), ping_interval=0.1) as sim:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(sim.ws_url, autoping=False) as websocket,
        ):
            message = await websocket.receive(timeout=TIMEOUT)
            assert message.type is aiohttp.WSMsgType.PING
            await websocket.pong(message.data)


@pytest.mark.asyncio
async def test_unknown_paths_and_instruments_are_refused() -> None:
    async with SimulatedExchange("okx", market()) as sim:
        async with open_client(sim.ws_url, "okx") as client:
            for arg in (
                {"channel": "trades", "instId": "X-Y"},
                {"channel": "funding-rate", "instId": "BTC-USDT"},  # a spot pair
                {"channel": "candle1m", "instId": "BTC-USDT"},
            ):
                await client.send({"op": "subscribe", "args": [arg]})
                error = orjson.loads(await client.recv())
                assert (error["event"], error["code"]) == ("error", "60018")
            await client.send("{not json")
            assert orjson.loads(await client.recv())["code"] == "60012"
        with pytest.raises(Exception, match="404"):
            async with open_client(sim.ws_url.replace("/public", "/private"), "okx"):
                pass
