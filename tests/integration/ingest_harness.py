"""One venue feed against the exchange simulator, producing to the real broker.

The market starts paused; trading resumes once every connection has
subscribed, so the simulator's ground truth (every trade it printed) is
exactly what the pipeline must deliver: :meth:`Harness.finish` pauses the
market, waits until the pipeline has published the last trade, stops the
producer and reads the trades topic back from Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from app.ingest_main import kafka_sink
from app.settings import Settings
from app.topics import ensure_topics, topic_name
from ingest.feed import VenueFeed
from ingest.options import FeedOptions
from ingest.producer import KafkaRecordSink
from ingest.registry import VENUES
from ingest.rest_client import RestClient
from ingest.runner import supervise
from ingest.simulator.market import SyntheticMarket
from ingest.simulator.server import SimulatedExchange
from models import DeadLetter, GapEvent, Record, Trade
from models.codec import decode_any
from tests.integration.kafka_reading import read_topic
from tests.waiting import eventually

ALL_CHANNELS = ["trades", "ticker", "book", "funding", "open_interest", "liquidations"]


class CountingSink:
    """The Kafka sink, counting what passes (to know when the pipeline has caught up)."""

    def __init__(self, inner: KafkaRecordSink) -> None:
        self.inner = inner
        self.trades: Counter[str] = Counter()
        self.gaps: list[GapEvent] = []
        self.dead: list[DeadLetter] = []

    async def publish(self, record: Record) -> None:
        if isinstance(record, Trade):
            self.trades[record.symbol] += 1
        elif isinstance(record, GapEvent):
            self.gaps.append(record)
        elif isinstance(record, DeadLetter):
            self.dead.append(record)
        await self.inner.publish(record)


@dataclass
class Harness:
    settings: Settings
    sim: SimulatedExchange
    market: SyntheticMarket
    feed: VenueFeed
    sink: CountingSink
    task: asyncio.Task[None]
    kafka: dict[str, list[Record]] = field(default_factory=dict)

    def truth(self, symbol: str) -> list[str]:
        return [str(trade.trade_id) for trade in self.market.trades(symbol)]

    async def caught_up(self, *, within: float = 60.0) -> None:
        """The pipeline has published every trade the market printed so far."""
        market, sink = self.market, self.sink
        await eventually(
            lambda: all(sink.trades[s] >= len(market.trades(s)) for s in self.feed.symbols),
            within=within,
        )

    async def finish(self) -> dict[str, list[str]]:
        """Stop trading, drain, stop; the trade ids per symbol that reached Kafka."""
        self.market.pause()
        await self.caught_up()
        assert not self.task.done(), "the feed must never die"
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.sink.inner.stop()
        bootstrap = self.settings.kafka.bootstrap_servers[0]
        for data_type in ("trades", "gaps", "dead_letters"):
            name = topic_name(self.settings.topics, data_type)
            expect = sum(self.sink.trades.values()) if data_type == "trades" else 0
            messages = await read_topic(bootstrap, name, expect=expect)
            self.kafka[data_type] = [decode_any(m.value) for m in messages]
        ids: dict[str, list[str]] = defaultdict(list)
        for record in self.kafka["trades"]:
            assert isinstance(record, Trade)
            ids[record.symbol].append(record.trade_id)
        return ids


@asynccontextmanager
async def running_feed(
    settings: Settings,
    venue: str,
    symbols: Sequence[str],
    *,
    channels: Sequence[str] | None = None,
    options: FeedOptions | None = None,
    rate: float = 100.0,
    seed: int = 7,
    **sim_options: Any,
) -> AsyncIterator[Harness]:
    market = SyntheticMarket(symbols=tuple(symbols), rate=rate, seed=seed, paused=True)
    async with SimulatedExchange(venue, market, **sim_options) as sim:
        kind = VENUES[venue]
        if channels is None:
            channels = [c for c in ALL_CHANNELS if c in kind.channels or c in kind.polled_channels]
        producer = kafka_sink(settings)
        sink = CountingSink(producer)
        feed = VenueFeed(
            kind(symbols=symbols),
            symbols=list(symbols),
            channels=list(channels),
            sink=sink,
            ws_url=sim.ws_url,
            rest=RestClient(sim.rest_url, weight_per_minute=kind.rest_weight_per_minute),
            options=options or FeedOptions(reconnect_min_seconds=0.05, reconnect_max_seconds=1),
            poll_seconds={"open_interest": 1.0},
        )
        await ensure_topics(settings)
        await producer.start()
        task = asyncio.create_task(supervise(feed))
        try:
            await eventually(
                lambda: bool(sim.sessions) and all(s.subscriptions for s in sim.sessions)
            )
            market.resume()
            yield Harness(settings, sim, market, feed, sink, task)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if feed.rest is not None:
                await feed.rest.close()
            await producer.stop()
