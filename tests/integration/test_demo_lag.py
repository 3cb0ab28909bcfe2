"""The demo's drain check on the real broker: records left per topic after a group's
committed offsets (it once counted nothing: an unsubscribed consumer knows no
partitions)."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from app.demo.lag import group_lag
from app.settings import Settings
from app.topics import ensure_topics, topic_name
from tests.conftest import SettingsFactory

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]


async def produce(bootstrap: list[str], topic: str, per_partition: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition in (0, 1):
            for _ in range(per_partition):
                await producer.send_and_wait(topic, b"x", partition=partition)
    finally:
        await producer.stop()


async def commit(settings: Settings, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        group_id=settings.app_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def test_records_left_per_topic_and_no_topic_created(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    await ensure_topics(settings)
    bootstrap = settings.kafka.bootstrap_servers
    trades, books = (
        topic_name(settings.topics, "trades"),
        topic_name(settings.topics, "book_snapshots"),
    )
    missing = f"{settings.topics.prefix}never-created"
    await produce(bootstrap, trades, per_partition=5)
    await produce(bootstrap, books, per_partition=2)

    lag = await group_lag(bootstrap, settings.app_id, [trades, books, missing])
    assert lag == {trades: 10, books: 4, missing: 0}, "nothing committed: everything is left"

    await commit(settings, {TopicPartition(trades, 0): 5, TopicPartition(trades, 1): 2})
    lag = await group_lag(bootstrap, settings.app_id, [trades, books, missing])
    assert lag == {trades: 3, books: 4, missing: 0}

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        assert missing not in await admin.list_topics(), "asking must not create a topic"
    finally:
        await admin.close()
