"""A busy OKX connection stays up: the client pings even while data flows.

OKX (and its simulator) close a connection the client has been silent on;
frames arriving from the venue do not count. So the client's text ping is due
whenever it has sent nothing for ``ping_seconds``, not only when the venue has
been quiet.
"""

from __future__ import annotations

import asyncio

import pytest

from ingest.feed import VenueFeed
from ingest.okx import Okx
from ingest.options import FeedOptions
from ingest.simulator import SimulatedExchange, SyntheticMarket
from models import Record


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []
        self.arrived = asyncio.Event()

    async def publish(self, record: Record) -> None:
        self.records.append(record)
        self.arrived.set()


@pytest.mark.asyncio
async def test_a_busy_okx_connection_is_not_closed_as_silent() -> None:
    idle_timeout = 0.8
    market = SyntheticMarket(["BTC-USDT"], rate=100, seed=3)
    async with SimulatedExchange("okx", market, idle_timeout=idle_timeout) as sim:
        sink = ListSink()
        feed = VenueFeed(
            Okx(symbols=["BTC-USDT"]),
            symbols=["BTC-USDT"],
            channels=["trades"],
            sink=sink,
            ws_url=sim.ws_url,
            options=FeedOptions(ping_seconds=0.2),
        )
        [connection] = feed.connections
        task = asyncio.create_task(feed.run())
        try:
            async with asyncio.timeout(10):
                await sink.arrived.wait()
            # Three idle timeouts with trades flowing all along.
            await asyncio.sleep(3 * idle_timeout)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert dict(connection.stats.disconnects) == {}
    assert connection.stats.connects == 1
    assert connection.stats.text_pings >= 2
