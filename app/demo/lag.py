"""How far a consumer group is behind the end of some topics (the demo's drain check).

Faust commits an offset only when every agent reading the topic has
acknowledged the events before it, and the sink agents acknowledge only once
their rows are in a durable file. So a group with no lag has processed every
record and archived it.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def group_lag(bootstrap: list[str], group: str, topics: list[str]) -> int:
    """Records in ``topics`` after ``group``'s committed offsets (all of them if none)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        existing = await consumer.topics()
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            if topic in existing
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return 0
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
    finally:
        await consumer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    finally:
        await admin.close()
    lag = 0
    for partition in partitions:
        meta = committed.get(partition)
        done = meta.offset if meta is not None and meta.offset >= 0 else starts[partition]
        lag += max(0, ends[partition] - done)
    return lag
