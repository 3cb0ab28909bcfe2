"""The Faust application factory."""

from __future__ import annotations

from typing import Any

import faust
from faust.types import TransportT

from app.codecs import CODEC_NAME, register_codec
from app.eager_delivery import EagerDeliveryTransport
from app.logging_setup import logging_config
from app.settings import Settings


def rocksdb_table_options(settings: Settings) -> dict[str, Any]:
    """``options=`` for every table: the rocksdict driver with our block cache."""
    return {
        "driver": "rocksdict",
        "block_cache_size": settings.store.rocksdb_block_cache_mb * 1024 * 1024,
    }


class MarketPrismApp(faust.App):
    """``faust.App`` whose consumer transport may be :class:`EagerDeliveryTransport`."""

    def __init__(self, *args: Any, eager_delivery: bool = True, **kwargs: Any) -> None:
        self.eager_delivery = eager_delivery  # before Faust may create the transport
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        if not self.eager_delivery:
            return super()._new_transport()
        return EagerDeliveryTransport(self.conf.broker_consumer, self)


def create_app(settings: Settings) -> faust.App:
    """A Faust app configured only from ``settings``.

    ``env={}`` stops Faust from reading unprefixed variables such as
    ``BROKER_URL`` behind our back: the ``MARKETPRISM_`` tree is the only
    source of configuration. Tables live in RocksDB (through rocksdict).
    """
    register_codec()
    # Faust creates the data dir itself, but not its parents (var/ on a fresh clone).
    settings.store.data_dir.mkdir(parents=True, exist_ok=True)
    return MarketPrismApp(
        settings.app_id,
        env={},
        broker=settings.kafka.broker,
        broker_client_id=settings.kafka.client_id,
        store="rocksdb://",
        datadir=str(settings.store.data_dir.resolve()),
        autodiscover=False,
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        key_serializer="raw",
        value_serializer=CODEC_NAME,
        producer_linger_ms=settings.kafka.producer_linger_ms,
        producer_compression_type=(
            None
            if settings.kafka.producer_compression == "none"
            else settings.kafka.producer_compression
        ),
        producer_acks=settings.kafka.producer_acks,
        web_enabled=settings.web.enabled,
        web_bind=settings.web.bind,
        web_host=settings.web.bind,
        web_port=settings.web.port,
        web_in_thread=False,
        # A rebalance must not wait for events a sink holds unacknowledged until its
        # file is durable (up to roll_seconds): the partition's next owner consumes
        # them again, and every agent is idempotent on a replay.
        stream_wait_empty=False,
        logging_config=logging_config(settings.log),
        eager_delivery=settings.kafka.eager_delivery,
    )
