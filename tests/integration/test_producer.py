"""The ingest producer against the real broker: topics, keys, event-time timestamps,
and back-pressure instead of loss while the broker is down."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.ingest_main import kafka_sink, topic_map
from app.settings import Settings
from app.topics import ensure_topics, topic_name
from ingest.producer import KafkaRecordSink
from models import DeadLetter, GapEvent, Trade
from models.codec import decode_any
from models.numbers import epoch_ms
from tests.conftest import KAFKA_SCRIPT, SettingsFactory, free_port
from tests.integration.kafka_reading import read_topic
from tests.unit.ingest.test_trade_continuity import trade
from tests.unit.models.samples import every_model
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]


async def test_every_record_type_lands_on_its_topic_keyed_and_event_timed(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    await ensure_topics(settings)
    sink = kafka_sink(settings)
    await sink.start()
    samples = every_model()
    try:
        for record in samples.values():
            await sink.publish(record)
    finally:
        await sink.stop()
    assert sink.stats.delivered == len(samples) and sink.stats.buffered == 0

    bootstrap = settings.kafka.bootstrap_servers[0]
    for data_type, record in samples.items():
        (message,) = await read_topic(bootstrap, topic_name(settings.topics, data_type), expect=1)
        assert decode_any(message.value) == record
        if isinstance(record, DeadLetter):
            assert message.key == record.source.encode()
        else:
            assert message.key == record.key.encode()  # type: ignore[attr-defined]
        assert message.timestamp == epoch_ms(record.timestamp)  # type: ignore[attr-defined]


def _broker(action: str, ports: tuple[int, int], data_dir: Path) -> None:
    port, controller = ports
    args = ["--port", str(port), "--controller-port", str(controller), "--data-dir", str(data_dir)]
    subprocess.run([str(KAFKA_SCRIPT), action, *args], check=True, timeout=300)


@pytest.mark.slow
async def test_a_broker_outage_blocks_ingest_and_loses_nothing(tmp_path: Path) -> None:
    """Stop the broker mid-stream: ``publish`` waits once the buffer is full; after
    the restart every record is there exactly once."""
    ports = (free_port(), free_port())
    port = ports[0]
    data_dir = tmp_path / "kafka"
    _broker("start", ports, data_dir)
    try:
        settings = Settings(
            kafka={"broker": f"kafka://127.0.0.1:{port}"},
            topics={"prefix": "outage.", "partitions": 1},
        )
        await ensure_topics(settings)
        sink = KafkaRecordSink(
            settings.kafka.bootstrap_servers,
            topic_map(settings),
            max_buffered=50,
            request_timeout_ms=3000,
        )
        await sink.start()
        start = datetime(2024, 8, 9, tzinfo=UTC)
        trades = [
            trade(n).model_copy(update={"timestamp": start + timedelta(milliseconds=n)})
            for n in range(1, 401)
        ]
        for record in trades[:100]:
            await sink.publish(record)
        await eventually(lambda: sink.stats.buffered == 0)

        _broker("stop", ports, data_dir)
        publishing = asyncio.create_task(_publish_all(sink, trades[100:]))
        await eventually(lambda: sink.stats.buffered == 50)
        await asyncio.sleep(0.5)
        assert not publishing.done(), "publish must block while the broker is down"
        assert sink.stats.published < len(trades)

        _broker("start", ports, data_dir)
        await asyncio.wait_for(publishing, 120)
        await sink.stop()
        got = await read_topic(f"127.0.0.1:{port}", "outage.trades", expect=len(trades))
    finally:
        _broker("stop", ports, data_dir)
    ids = [decode_any(m.value).trade_id for m in got]  # type: ignore[attr-defined]
    assert sorted(ids, key=int) == [t.trade_id for t in trades]
    assert all(isinstance(decode_any(m.value), Trade) for m in got)
    assert not any(isinstance(decode_any(m.value), GapEvent) for m in got)


async def _publish_all(sink: KafkaRecordSink, records: list[Trade]) -> None:
    for record in records:
        await sink.publish(record)
