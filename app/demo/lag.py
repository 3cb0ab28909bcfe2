"""How far a consumer group is behind the end of some topics (the demo's drain check).

Faust commits an offset only when every agent reading the topic has
acknowledged the events before it, and the sink agents acknowledge only once
their rows are in a durable file. So a group with no lag has processed every
record and archived it.

The partitions come from the cluster's metadata of every topic
(``describe_topics()``): a consumer that has not subscribed to a topic knows its
name but not its partitions, and would count nothing; asking for the topics by
name would create the missing ones on a broker that auto-creates topics.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def group_lag(bootstrap: list[str], group: str, topics: list[str]) -> dict[str, int]:
    """Records of each of ``topics`` after ``group``'s committed offsets (all of them if
    none); a topic that does not exist has none."""
    lag = dict.fromkeys(topics, 0)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics()
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            if topic["topic"] in lag and not topic["error_code"]
            for partition in topic["partitions"]
        ]
        if not partitions:
            return lag
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
    finally:
        await consumer.stop()
    for partition in partitions:
        meta = committed.get(partition)
        done = meta.offset if meta is not None and meta.offset >= 0 else starts[partition]
        lag[partition.topic] += max(0, ends[partition] - done)
    return lag
