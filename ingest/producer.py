"""Records -> Kafka: the seed's ``CryptoKafkaProducer``, with a stated policy.

- One topic per record type (the caller passes the mapping), key
  ``exchange:symbol`` (a dead letter is keyed by its source), Kafka timestamp
  = the record's event time, so Faust windows follow exchange time.
- aiokafka batches (``linger_ms``), compresses and retries; the producer is
  idempotent (``acks=all``), so its own retries add no duplicates.
- **Back-pressure, never loss.** At most ``max_buffered`` records are in
  flight (sent but not yet acknowledged by the broker). When Kafka is slow
  or unreachable the buffer fills and :meth:`KafkaRecordSink.publish`
  *waits*: ingest blocks (the WebSocket reads pause; a venue that then drops
  us is backfilled on reconnect). A record whose delivery fails is sent again
  after a back-off, forever, until it lands or the process stops; stopping
  waits for every buffered record (:meth:`KafkaRecordSink.stop`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner, murmur2

from models import DeadLetter, Record
from models.base import SymbolRecord
from models.codec import encode
from models.numbers import epoch_ms

logger = logging.getLogger(__name__)

_RETRY_MIN_SECONDS, _RETRY_MAX_SECONDS = 0.2, 10.0

#: topic, key, value, timestamp (ms)
_Message = tuple[str, bytes, bytes, int | None]


@dataclass
class ProducerStats:
    published: int = 0
    delivered: int = 0
    failed_sends: int = 0
    buffered: int = 0
    max_buffered: int = 0
    blocked_seconds: float = 0.0
    connected: bool = False  #: started (the broker answered) and not stopped

    @property
    def full(self) -> bool:
        """Every slot is taken: :meth:`KafkaRecordSink.publish` blocks."""
        return self.buffered >= self.max_buffered


def record_key(record: Record) -> bytes:
    if isinstance(record, SymbolRecord):
        return record.key.encode()
    if isinstance(record, DeadLetter):
        return record.source.encode()
    return type(record).__name__.encode()


def record_timestamp_ms(record: Record) -> int | None:
    stamp = getattr(record, "timestamp", None)
    return None if stamp is None else epoch_ms(stamp)


class KeyHashPartitioner:
    """aiokafka's :class:`DefaultPartitioner` (the Java client's murmur2 of the key),
    with each key's hash remembered: aiokafka's murmur2 is pure Python, and ingest
    sends every record under one of a few hundred ``exchange:symbol`` keys."""

    def __init__(self, max_keys: int = 65_536) -> None:
        self.max_keys = max_keys
        self._hashes: dict[bytes, int] = {}
        self._default = DefaultPartitioner()

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(self._default(key, all_partitions, available))
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= self.max_keys:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]


class KafkaRecordSink:
    """Publishes records to Kafka; see the module docstring for the guarantees."""

    def __init__(
        self,
        bootstrap_servers: list[str],
        topic_of: Mapping[type[Record], str],
        *,
        client_id: str = "marketprism-ingest",
        linger_ms: int = 5,
        compression: str | None = "lz4",
        max_buffered: int = 20_000,
        request_timeout_ms: int = 30_000,
    ) -> None:
        self.topic_of = dict(topic_of)
        self.stats = ProducerStats(max_buffered=max_buffered)
        self._slots = asyncio.Semaphore(max_buffered)
        self._pending: set[asyncio.Task[None]] = set()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            linger_ms=linger_ms,
            compression_type=None if compression in (None, "none") else compression,
            enable_idempotence=True,
            acks="all",
            max_batch_size=256 * 1024,
            request_timeout_ms=request_timeout_ms,
            retry_backoff_ms=200,
            partitioner=KeyHashPartitioner(),
        )
        self._started = False

    async def start(self) -> None:
        """Connect; retries until the broker answers (a worker may start first)."""
        delay = _RETRY_MIN_SECONDS
        while True:
            try:
                await self._producer.start()
                self._started = self.stats.connected = True
                return
            except KafkaError as exc:
                logger.warning("Kafka not reachable yet (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_SECONDS)

    async def stop(self) -> None:
        """Wait until every buffered record is delivered, then disconnect."""
        if self._started:
            while self.stats.buffered:
                await self._producer.flush()
                if self._pending:
                    await asyncio.gather(*list(self._pending))
                await asyncio.sleep(0)
            await self._producer.stop()
            self._started = self.stats.connected = False

    async def publish(self, record: Record) -> None:
        topic = self.topic_of.get(type(record))
        if topic is None:
            raise ValueError(f"no topic for {type(record).__name__}")
        if self._slots.locked():
            loop = asyncio.get_running_loop()
            began = loop.time()
            await self._slots.acquire()
            self.stats.blocked_seconds += loop.time() - began
        else:
            await self._slots.acquire()
        self.stats.published += 1
        self.stats.buffered += 1
        message = (topic, record_key(record), encode(record), record_timestamp_ms(record))
        await self._send(message)

    async def _send(self, message: _Message) -> None:
        """Hand one record to aiokafka's batches (in call order, so per-key order
        holds); waits while the broker cannot even take it."""
        topic, key, value, timestamp = message
        delay = _RETRY_MIN_SECONDS
        while True:
            try:
                delivery = await self._producer.send(topic, value, key=key, timestamp_ms=timestamp)
            except KafkaError as exc:
                self.stats.failed_sends += 1
                logger.warning("sending to %s failed (%s); retrying in %.1f s", topic, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_SECONDS)
                continue
            delivery.add_done_callback(partial(self._delivered, message))
            return

    def _delivered(self, message: _Message, delivery: asyncio.Future[object]) -> None:
        if delivery.cancelled() or delivery.exception() is not None:
            self.stats.failed_sends += 1
            error = "cancelled" if delivery.cancelled() else delivery.exception()
            logger.warning("delivery to %s failed (%s); sending again", message[0], error)
            task = asyncio.create_task(self._resend(message))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return
        self.stats.delivered += 1
        self.stats.buffered -= 1
        self._slots.release()

    async def _resend(self, message: _Message) -> None:
        """A failed delivery goes out again after a pause (its slot stays taken);
        it may land after younger records of the same key."""
        await asyncio.sleep(_RETRY_MIN_SECONDS)
        await self._send(message)
