"""Synthetic trades on the real broker, and the environment of a worker that reads them
(shared by the analytics worker and dashboard tests)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from agents.processing import TradeEntry
from app.settings import Settings, load_settings
from app.topics import ensure_topics
from models import Trade, decode
from models.codec import encode
from tests.conftest import Broker
from tests.unit.agents.market import T0_US, interleave, market
from tests.unit.agents.test_processing import to_trade

SECONDS = 900.0
MARKER_AFTER_US = 600 * 1_000_000


def synthetic_trades(
    keys: dict[str, dict[float, float]],
    seed: int = 1,
    *,
    seconds: float = SECONDS,
    markers: bool = True,
) -> list[Trade]:
    """``seconds`` of trades per key ending about now (jumps: {second: size}).

    With ``markers``, one more trade per partition 10 min later: the partitions'
    watermarks then close every window of the keys above by event time (and
    move the detector's view past them)."""
    shift = time.time_ns() // 1000 - int(seconds * 1_000_000) - T0_US
    streams = [
        market(
            key,
            seconds=seconds,
            price=100.0 + 1000 * n,
            sigma=2e-4,
            rate=8,
            seed=seed + n,
            jumps=jumps,
        )
        for n, (key, jumps) in enumerate(keys.items())
    ]
    ticks = [(key, tick._replace(ts_us=tick.ts_us + shift)) for key, tick in interleave(*streams)]
    if markers:
        after = ticks[-1][1]._replace(ts_us=ticks[-1][1].ts_us + MARKER_AFTER_US)
        ticks.extend((key, after) for key in marker_keys())
    return [to_trade(key, tick, n) for n, (key, tick) in enumerate(ticks)]


def marker_keys(partitions: int = 2) -> list[str]:
    """One key per partition (the producer's default partitioner places them)."""
    partitioner = DefaultPartitioner()
    found: dict[int, str] = {}
    for n in range(1000):
        key = f"sim:END{n}-USDT"
        found.setdefault(partitioner(key.encode(), list(range(partitions)), []), key)
        if len(found) == partitions:
            return [found[p] for p in range(partitions)]
    raise AssertionError("no key found for every partition")


async def produce(broker: Broker, topic: str, trades: list[Trade]) -> dict[int, list[TradeEntry]]:
    """Send ``trades`` keyed by symbol; what each partition got, in offset order."""
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                encode(trade),
                key=trade.key.encode(),
                timestamp_ms=int(trade.timestamp.timestamp() * 1000),
            )
            for trade in trades
        ]
        metadata = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    placed: dict[int, list[TradeEntry]] = {}
    for trade, meta in zip(trades, metadata, strict=True):
        as_consumed = decode(encode(trade), Trade)  # what the worker decodes
        placed.setdefault(meta.partition, []).append(
            TradeEntry(trade.key, meta.offset, as_consumed)
        )
    return placed


def worker_environment(
    broker: Broker, tmp_path: Path, name: str = "analytics"
) -> tuple[dict[str, str], Settings]:
    """A worker's variables (unique app id and topics, two partitions, data under
    ``tmp_path``) and the same as settings; the topics are created."""
    run = uuid.uuid4().hex[:10]
    env = {
        "MARKETPRISM_APP_ID": f"test-{name}-{run}",
        "MARKETPRISM_KAFKA__BROKER": broker.url,
        "MARKETPRISM_TOPICS__PREFIX": f"test-{run}.",
        "MARKETPRISM_TOPICS__PARTITIONS": "2",
        "MARKETPRISM_STORE__DATA_DIR": str(tmp_path / "store"),
        "MARKETPRISM_PARQUET__ROOT": str(tmp_path / "parquet"),
    }
    settings = load_settings(
        app_id=env["MARKETPRISM_APP_ID"],
        kafka={"broker": broker.url},
        topics={"prefix": f"test-{run}.", "partitions": 2},
    )
    asyncio.run(ensure_topics(settings))
    return env, settings
