"""Starting, sharing, pausing and stopping: nothing is left running."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os

import pytest
from websockets.exceptions import ConnectionClosed

from ingest.simulator import ReplaySource, SimulatedExchange, SyntheticMarket
from models.exceptions import ConfigError
from tests.shared_data import shared_data_dir
from tests.unit.simulator.helpers import TIMEOUT, eventually, get, open_client, parser


def others() -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


def open_sockets() -> int:
    gc.collect()
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return sum(link.startswith("socket:") for link in links)


@pytest.mark.asyncio
async def test_stop_leaves_no_task_and_no_socket_behind() -> None:
    tasks, sockets = others(), open_sockets()
    market = SyntheticMarket(["BTC-USDT", "BTC-USDT-PERP"], rate=300, seed=1)
    sims = [SimulatedExchange(venue, market) for venue in ("binance", "okx")]
    for sim in sims:
        await sim.start()
    async with open_client(sims[0].ws_url, "binance") as client:
        await client.subscribe(parser("binance").subscribe_messages(["BTC-USDT"], ["trades"]))
        await client.recv()
        async with open_client(sims[1].ws_url, "okx") as other:
            await other.send("ping")
            assert await other.recv() == "pong"
            await sims[1].stop()
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(other.websocket.recv(), TIMEOUT)
        assert not market.paused and len(market.trades("BTC-USDT")) > 0
        await client.recv()  # the market still feeds the other exchange
        await sims[0].stop()
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(client.websocket.recv(), TIMEOUT)
    assert others() == tasks
    assert open_sockets() == sockets
    for sim in sims:
        with pytest.raises(OSError):
            await asyncio.open_connection(sim.host, sim.port)
    assert sims[0].stats.connections_opened == sims[0].stats.connections_closed == 1
    await sims[0].stop()  # stopping twice is fine


@pytest.mark.asyncio
async def test_the_market_runs_in_real_time_and_pauses() -> None:
    market = SyntheticMarket(["ETH-USDT"], rate=400, seed=2)
    async with (
        SimulatedExchange("binance", market) as sim,
        open_client(sim.ws_url, "binance") as client,
    ):
        await client.subscribe(parser("binance").subscribe_messages(["ETH-USDT"], ["trades"]))
        subscribed_at = len(market.trades("ETH-USDT"))
        await eventually(lambda: len(market.trades("ETH-USDT")) >= subscribed_at + 20)
        market.pause()
        frames = await client.drain()  # whatever was published is delivered
        paused_at = len(market.trades("ETH-USDT"))
        assert len(frames) >= paused_at - subscribed_at >= 20 and market.paused
        market.resume()
        await eventually(lambda: len(market.trades("ETH-USDT")) > paused_at + 10)
        assert market.elapsed > 0
    assert sim.stats.messages_sent["trades"] >= 20
    assert sim.stats.messages_sent["control"] >= 2


@pytest.mark.asyncio
async def test_urls_and_bad_configurations() -> None:
    market = SyntheticMarket(["BTC-USD-PERP"], paused=True)
    async with SimulatedExchange("deribit", market) as sim:
        assert sim.ws_url == f"ws://127.0.0.1:{sim.port}/ws/api/v2"
        assert sim.rest_url == f"http://127.0.0.1:{sim.port}/api/v2"
        status, _, body = await get(sim.rest_url + "/public/get_time")
        assert status == 200 and isinstance(body["result"], int)
    with pytest.raises(RuntimeError):
        _ = SimulatedExchange("okx", market).ws_url
    with pytest.raises(ConfigError):
        SimulatedExchange("kraken", market)


def test_a_recording_feeds_only_its_own_venue() -> None:
    path = shared_data_dir() / "recorded" / "OKX.ws.1.0"
    source = ReplaySource(path)
    assert source.venue() == "okx"
    with pytest.raises(ConfigError):
        SimulatedExchange("binance", source)
