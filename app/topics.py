"""Every Kafka topic of MarketPrism, defined in one place.

One topic per data type (never per symbol), keyed ``exchange:symbol`` so one
symbol's events stay ordered on one partition.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import faust

from app.codecs import CODEC_NAME
from app.settings import Settings, TopicSettings
from models import (
    BookDelta,
    BookSnapshot,
    DeadLetter,
    FundingRate,
    GapEvent,
    Liquidation,
    OpenInterest,
    PriceAlert,
    Record,
    Ticker,
    Trade,
    WindowStats,
)
from models.exceptions import MarketPrismError

#: data type (the TopicSettings field) -> the model its topic carries.
TOPIC_MODELS: dict[str, type[Record]] = {
    "trades": Trade,
    "tickers": Ticker,
    "book_snapshots": BookSnapshot,
    "book_deltas": BookDelta,
    "funding_rates": FundingRate,
    "open_interest": OpenInterest,
    "liquidations": Liquidation,
    "analytics": WindowStats,
    "alerts": PriceAlert,
    "gaps": GapEvent,
    "dead_letters": DeadLetter,
}


def topic_name(topics: TopicSettings, data_type: str) -> str:
    """Full Kafka topic name of a data type, e.g. ``marketprism.trades``."""
    return f"{topics.prefix}{getattr(topics, data_type)}"


def topic_partitions(topics: TopicSettings, data_type: str) -> int:
    return topics.partitions_by_topic.get(data_type, topics.partitions)


@dataclass(frozen=True)
class Topics:
    """The Faust topic objects, one attribute per data type."""

    trades: Any
    tickers: Any
    book_snapshots: Any
    book_deltas: Any
    funding_rates: Any
    open_interest: Any
    liquidations: Any
    analytics: Any
    alerts: Any
    gaps: Any
    dead_letters: Any

    def by_data_type(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


async def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create every missing MarketPrism topic with its configured partitions.

    For producers outside Faust (ingest), which must not rely on broker-side
    auto-creation. Returns the names it created.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        client_id=f"{settings.kafka.client_id}-admin",
        request_timeout_ms=int(timeout_s * 1000),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=topic_name(settings.topics, data_type),
                num_partitions=topic_partitions(settings.topics, data_type),
                replication_factor=settings.kafka.replication_factor,
            )
            for data_type in TOPIC_MODELS
            if topic_name(settings.topics, data_type) not in existing
        ]
        created = []
        for topic in wanted:  # one by one: a topic made meanwhile by a worker is fine
            try:
                response = await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                continue  # created meanwhile by a worker: that is what we wanted
            # aiokafka reports per-topic errors in the response instead of raising.
            for name, code, message in response.topic_errors:
                if code == TopicAlreadyExistsError.errno:
                    continue  # made meanwhile, or not yet in list_topics' metadata
                if code != 0:
                    raise MarketPrismError(f"cannot create topic {name}: {message} (error {code})")
                created.append(name)
        return created
    finally:
        await admin.close()


def define_topics(app: faust.App, settings: Settings) -> Topics:
    """Declare every topic on ``app`` with its name, partitions and codec."""
    conf = settings.topics

    def declare(data_type: str) -> Any:
        return app.topic(
            topic_name(conf, data_type),
            key_type=str,
            key_serializer="raw",
            value_serializer=CODEC_NAME,
            partitions=topic_partitions(conf, data_type),
            replicas=settings.kafka.replication_factor,
            # MarketPrism owns its topics: Faust creates them (with these
            # partitions) when an agent subscribes, instead of the broker
            # auto-creating them with its defaults on first produce.
            internal=True,
        )

    return Topics(**{data_type: declare(data_type) for data_type in TOPIC_MODELS})
