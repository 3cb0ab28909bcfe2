"""Every model through its own topic on the real broker, read back by a Faust agent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from app.codecs import Undecodable
from app.main import Pipeline, build
from app.topics import TOPIC_MODELS, ensure_topics, topic_name, topic_partitions
from models import Record
from models.exceptions import MarketPrismError
from tests.conftest import SettingsFactory
from tests.unit.models.samples import every_model

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]


def attach_collectors(pipeline: Pipeline) -> asyncio.Queue[tuple[str, Any, Any]]:
    """One agent per topic that puts (data type, key, value) on a queue."""
    received: asyncio.Queue[tuple[str, Any, Any]] = asyncio.Queue()
    for data_type, topic in pipeline.topics.by_data_type().items():

        async def collect(stream: Any, data_type: str = data_type) -> None:
            async for key, value in stream.items():
                await received.put((data_type, key, value))

        pipeline.app.agent(topic, name=f"collect_{data_type}")(collect)
    return received


async def test_every_model_roundtrips_field_by_field(make_settings: SettingsFactory) -> None:
    pipeline = build(make_settings())
    received = attach_collectors(pipeline)
    samples = every_model()
    assert set(samples) == set(TOPIC_MODELS)
    await pipeline.app.start()
    try:
        for data_type, record in samples.items():
            key = record.key if hasattr(record, "key") and record.key else data_type
            await getattr(pipeline.topics, data_type).send(key=key, value=record)
        got: dict[str, tuple[Any, Record]] = {}
        while len(got) < len(samples):
            data_type, key, value = await asyncio.wait_for(received.get(), timeout=60)
            got[data_type] = (key, value)
    finally:
        await pipeline.app.stop()

    for data_type, sent in samples.items():
        key, value = got[data_type]
        assert type(value) is TOPIC_MODELS[data_type]
        for field in type(sent).model_fields:
            assert getattr(value, field) == getattr(sent, field), (data_type, field)
        assert value == sent
        assert key == (sent.key if hasattr(sent, "key") and sent.key else data_type)


async def test_undecodable_value_reaches_the_agent_with_a_reason(
    make_settings: SettingsFactory, kafka_broker: Any
) -> None:
    pipeline = build(make_settings())
    received = attach_collectors(pipeline)
    trades = topic_name(pipeline.settings.topics, "trades")
    await pipeline.app.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(trades, b'{"type":"trade","price":"NaN"}', key=b"x:BTC-USDT")
        await producer.send_and_wait(trades, b"\xff not json", key=b"x:BTC-USDT")
        values = []
        while len(values) < 2:
            data_type, _key, value = await asyncio.wait_for(received.get(), timeout=60)
            assert data_type == "trades"
            values.append(value)
    finally:
        await producer.stop()
        await pipeline.app.stop()
    assert all(isinstance(v, Undecodable) for v in values)
    assert values[0].raw == b'{"type":"trade","price":"NaN"}'
    assert "Field required" in values[0].reason
    assert values[1].raw == b"\xff not json" and "Invalid JSON" in values[1].reason


async def test_topics_are_created_with_configured_partitions(
    make_settings: SettingsFactory, kafka_broker: Any
) -> None:
    settings = make_settings(topics={"partitions": 3, "partitions_by_topic": {"trades": 5}})
    created = await ensure_topics(settings)
    assert len(created) == len(TOPIC_MODELS)
    assert await ensure_topics(settings) == []  # idempotent
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    await admin.start()
    try:
        names = [topic_name(settings.topics, d) for d in TOPIC_MODELS]
        described = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)}
    finally:
        await admin.close()
    for data_type in TOPIC_MODELS:
        expected = topic_partitions(settings.topics, data_type)
        assert described[topic_name(settings.topics, data_type)] == expected
    assert described[topic_name(settings.topics, "trades")] == 5


async def test_a_topic_the_broker_refuses_is_an_error_not_a_creation(
    make_settings: SettingsFactory, kafka_broker: Any
) -> None:
    settings = make_settings(kafka={"replication_factor": 3})  # one broker only
    with pytest.raises(MarketPrismError, match="cannot create topic .*replication"):
        await ensure_topics(settings)


async def test_tables_live_in_rocksdb_through_rocksdict(make_settings: SettingsFactory) -> None:
    from rocksdict import AccessType, Rdict

    from app.faust_app import rocksdb_table_options

    settings = make_settings()
    pipeline = build(settings)
    counts = pipeline.app.Table(
        "trade_counts", default=int, partitions=2, options=rocksdb_table_options(settings)
    )
    seen: asyncio.Queue[int] = asyncio.Queue()

    async def count(stream: Any) -> None:
        async for key, _trade in stream.items():
            counts[key] += 1
            await seen.put(counts[key])

    pipeline.app.agent(pipeline.topics.trades, name="count_trades")(count)
    trade = every_model()["trades"]
    await pipeline.app.start()
    try:
        for _ in range(5):
            await pipeline.topics.trades.send(key=trade.key, value=trade)
        values = [await asyncio.wait_for(seen.get(), timeout=60) for _ in range(5)]
        assert values == [1, 2, 3, 4, 5]
    finally:
        await pipeline.app.stop()
    stores = list(settings.store.data_dir.rglob("trade_counts-*.db"))
    assert stores, list(settings.store.data_dir.rglob("*"))
    found = {}
    for path in stores:
        db = Rdict(str(path), access_type=AccessType.read_only())
        try:
            found.update({bytes(k): bytes(v) for k, v in db.items()})
        finally:
            db.close()
    # Faust stores the JSON-encoded key and the changelog offset it has applied.
    assert found[b'"binance:BTC-USDT"'] == b"5"
    assert b"__faust\x00offset__" in found
