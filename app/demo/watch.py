"""What the demo shows while it runs: a progress line, and alerts as they fire.

Progress comes from the children's ``/metrics`` pages; alerts from the alert
topic itself, read like any other subscriber would (from its end when the
demo starts, so an earlier run's alerts are not shown as this one's).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from app.demo.scrape import Scrape
from models import PriceAlert, decode
from models.exceptions import DecodeError

logger = logging.getLogger(__name__)


@dataclass
class AlertFollower:
    """Collects (and prints) every alert published on ``topic`` after :meth:`start`."""

    bootstrap_servers: list[str]
    topic: str
    alerts: list[PriceAlert] = field(default_factory=list)
    undecodable: int = 0
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=self.bootstrap_servers, auto_offset_reset="latest"
        )
        await consumer.start()
        # Pin the start to the current end, before anything of this run is produced.
        await consumer.seek_to_end()
        for partition in consumer.assignment():
            await consumer.position(partition)
        self._consumer = consumer
        self._task = asyncio.create_task(self._follow(consumer), name="demo-alerts")

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=500)
            except KafkaError as exc:  # a broker hiccup: the demo goes on
                logger.warning("reading alerts: %s", exc)
                await asyncio.sleep(1)
                continue
            for messages in batches.values():
                for message in messages:
                    self._take(message.value or b"")

    def _take(self, value: bytes) -> None:
        try:
            alert = decode(value, PriceAlert)
        except DecodeError:
            self.undecodable += 1
            return
        self.alerts.append(alert)
        print(f"demo: ALERT {describe_alert(alert)}", flush=True)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


def describe_alert(alert: PriceAlert) -> str:
    return (
        f"{alert.status} {alert.severity} {alert.exchange}:{alert.symbol} "
        f"(confidence {alert.confidence:.0f}): {'; '.join(alert.reasons)}"
    )


def _counts(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:,.0f}" for k, v in sorted(values.items()) if v) or "none yet"


def progress_line(elapsed: float, ingest: Scrape | None, worker: Scrape | None) -> str:
    """One line: messages per exchange, records per type, worker progress, lag."""
    parts = [f"demo {elapsed:5.0f}s"]
    if ingest is None:
        parts.append("ingest: no answer")
    else:
        parts.append(
            "messages: " + _counts(ingest.by("marketprism_ingest_messages_total", "exchange"))
        )
        parts.append(
            "records: " + _counts(ingest.by("marketprism_ingest_records_total", "data_type"))
        )
    if worker is None:
        parts.append("worker: no answer")
    else:
        trades = worker.total("marketprism_worker_trades_processed_total")
        windows = worker.total("marketprism_worker_windows_emitted_total")
        alerts = worker.total("marketprism_worker_alerts_total", status="firing")
        lag = worker.quantile("marketprism_worker_event_lag_seconds", 0.5)
        lag_text = "-" if lag is None else f"<={lag:g}s"
        rows = worker.total("marketprism_sink_rows_written_total")
        parts.append(
            f"worker: {trades:,.0f} trades, {windows:,.0f} windows, {alerts:,.0f} alerts, "
            f"lag p50 {lag_text}, parquet rows {rows:,.0f}"
        )
    return " | ".join(parts)
