"""Reading a topic back from the real broker, for tests."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, ConsumerRecord


async def read_topic(
    bootstrap: str, topic: str, *, expect: int, within: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message of ``topic`` from the beginning, once at least ``expect`` arrived
    (and whatever else is there by then)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-read-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(within):
            while len(got) < expect:
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    got.extend(messages)
        for messages in (await consumer.getmany(timeout_ms=500)).values():
            got.extend(messages)
    finally:
        await consumer.stop()
    return got
