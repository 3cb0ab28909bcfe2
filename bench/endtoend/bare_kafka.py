"""The bare-Kafka limit: what aiokafka alone moves through the same broker.

A consumer -> producer loop copies a topic record by record (same values, keys and
partitions; no decoding, no state) into a new topic with the pipeline's producer settings
(compression, linger, acks all), sending without waiting for each record and waiting for
the acknowledgements every 10 000. Its records/s is the ceiling a single Python process
reaches here for one read and one write of each record.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.endtoend.pipeline import Deployment

ACK_EVERY = 10_000
FETCH_RECORDS = 2_000


async def create_copy_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


async def bare_limit(
    bootstrap: str, dep: Deployment, max_records: int, max_seconds: float
) -> dict[str, Any]:
    """Copy ``dep``'s trades topic (up to ``max_records`` or ``max_seconds``): records/s."""
    source, partitions = dep.topic("trades"), dep.partitions("trades")
    target = f"{dep.settings.topics.prefix}bare-copy"
    await create_copy_topic(bootstrap, target, partitions)
    kafka = dep.settings.kafka
    compression = kafka.producer_compression
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=kafka.producer_linger_ms,
        compression_type=None if compression == "none" else compression,
        acks="all",
    )
    await consumer.start()
    await producer.start()
    try:
        tps = [TopicPartition(source, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        wanted = min(sum((await consumer.end_offsets(tps)).values()), max_records)
        copied, size, pending = 0, 0, []
        started: float | None = None
        while copied < wanted:
            batches = await consumer.getmany(timeout_ms=1000, max_records=FETCH_RECORDS)
            started = started or time.perf_counter()
            for tp, batch in batches.items():
                for m in batch:
                    sent = await producer.send(target, m.value, key=m.key, partition=tp.partition)
                    pending.append(sent)
                    size += len(m.value)
                copied += len(batch)
            if len(pending) >= ACK_EVERY:
                await asyncio.gather(*pending)
                pending.clear()
            if time.perf_counter() - started > max_seconds:
                break
        await asyncio.gather(*pending)
        seconds = time.perf_counter() - (started or time.perf_counter())
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "records": copied,
        "seconds": round(seconds, 2),
        "records_per_s": round(copied / seconds) if seconds else None,
        "bytes_per_record": round(size / copied) if copied else None,
        "compression": compression,
        "linger_ms": kafka.producer_linger_ms,
    }
