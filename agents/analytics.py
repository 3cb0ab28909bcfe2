"""The Faust side of the windows and detectors: agents, tables, timer and web views.

* ``windows`` agent: trades in batches (:func:`~agents.batching.take_batches`: one
  table write per touched key per batch, never one per event) -> :class:`WindowProcessor`
  -> analytics, alerts and late-trade dead letters, sent without waiting for each.
  It reads the trades topic as bytes and decodes them itself, in batches
  (:mod:`agents.trade_wire`): Faust's per-event decoding into records cost more
  than the windows.
* ``gaps`` agent: gap and resync events quiet the symbol's alerts.
* a timer closes the windows of quiet partitions by the wall clock.
* ``windows`` table (RocksDB + changelog): what :mod:`agents.window_state` describes;
  no global table: ``/symbols/`` and ``/alerts/`` ask every worker of the group
  (from Faust's assignment) for the keys it holds.
* web views: ``/windows/{key}/`` and ``/alerts/{key}/`` are routed to the worker
  that owns the key; ``/symbols/`` and ``/alerts/`` gather every worker's keys.

The batch is handled in the agent's own task, where Faust has not set the
"current event" that table writes use to pick their partition: the writes of
each partition are made with one of that partition's events set as current
(:func:`partition_of`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import faust
import orjson
from faust.streams import _current_event
from faust.types import TP, EventT
from faust.web import Request, Response, View

from agents.batching import take_batches
from agents.detection.engine import DetectionEngine
from agents.detection.tuning import Tuning
from agents.processing import ConsumedTrade, Output, TradeEntry, WindowProcessor
from agents.trade_wire import TradeReader
from agents.window_state import RING_SEPARATOR, KeyState
from app.faust_app import rocksdb_table_options
from app.metrics import WorkerMetrics, reason_class
from app.scheduler import Scheduler, recorded
from app.settings import Settings
from app.topics import Topics, topic_name, topic_partitions
from models.codec import decode_any, encode
from models.exceptions import DecodeError
from models.pipeline_events import DeadLetter, GapEvent
from models.trade import Trade
from tables.clock import Clock, SystemClock
from tables.pipeline import WindowPlan
from tables.tick import SECOND_US

log = logging.getLogger(__name__)

BATCH_MAX = 5000
BATCH_SECONDS = 0.2
IDLE_TICK_SECONDS = 1.0


@contextmanager
def partition_of(event: EventT[Any]) -> Iterator[None]:
    """Table writes inside go to ``event``'s partition (store and changelog)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


Event = EventT[Any]


class Analytics:
    """The windows/detector agents' runtime (the health and metrics code reads it)."""

    def __init__(
        self,
        app: faust.App,
        processor: WindowProcessor,
        topics: Topics,
        windows: Any,
    ) -> None:
        self.app = app
        self.metrics: WorkerMetrics | None = None
        self.processor = processor
        self.topics = topics
        self.windows = windows  #: faust Table
        self.reader = TradeReader()
        self.last_event: dict[int, Event] = {}
        self.sent: dict[str, int] = {"analytics": 0, "alerts": 0}
        self.dead_letters = 0
        self.batches = 0
        # one batch, gap or idle tick at a time: each is processed and its writes
        # applied before the next starts, so writes land in processing order
        self.lock = asyncio.Lock()

    def ensure_partition(self, partition: int) -> None:
        """Rebuild a newly assigned partition from the (recovered) table first."""
        if not self.processor.has_partition(partition):
            items = ((_text(key), value) for key, value in self.windows.items())
            self.processor.restore_partition(partition, items)

    async def on_trades(self, events: list[Event]) -> None:
        async with self.lock:
            await self._on_trades(events)

    async def _on_trades(self, events: list[Event]) -> None:
        by_partition: dict[int, list[Event]] = {}
        for event in events:
            by_partition.setdefault(event.message.partition, []).append(event)
        read = self.reader.read
        for partition, group in by_partition.items():
            self.ensure_partition(partition)
            entries: list[ConsumedTrade] = []
            for event in group:
                value = event.value
                entry: ConsumedTrade | None = (
                    read(value, event.message.offset) if type(value) is bytes else None
                )
                if entry is None:
                    entry = await self._decoded(event)
                    if entry is None:
                        continue
                entries.append(entry)
            out = self.processor.process(partition, entries)
            if self.metrics is not None and entries:
                self.count_trades(self.metrics, entries)
            self.last_event[partition] = group[-1]
            await self.deliver(group[-1], out)
        self.batches += 1

    async def _decoded(self, event: Event) -> TradeEntry | None:
        """Full decoding of what the fast path left (:mod:`agents.trade_wire`): a trade, or
        a dead letter for anything else."""
        raw = event.value
        if not isinstance(raw, bytes):
            await self.dead_letter(event, f"not a trade: {type(raw).__name__}", b"")
            return None
        try:
            record = decode_any(raw)
        except DecodeError as exc:
            await self.dead_letter(event, exc.reason, raw)
            return None
        if not isinstance(record, Trade):
            await self.dead_letter(event, f"not a trade: {type(record).__name__}", encode(record))
            return None
        self.reader.learn(record)
        return TradeEntry(record.key, event.message.offset, record)

    async def on_gap(self, event: Event) -> None:
        gap = event.value
        if isinstance(gap, GapEvent):
            partition = event.message.partition
            async with self.lock:
                self.ensure_partition(partition)
                await self.deliver(event, self.processor.on_gap(partition, gap))

    async def close_idle(self) -> None:
        async with self.lock:
            await self._close_idle()

    def caught_up(self, partition: int) -> bool:
        """Whether every trade the broker has in ``partition`` was processed: only
        then is a partition quiet. A backlog (a restart, a slow worker) is not, or
        the idle timer would close windows its trades still belong to."""
        event = self.last_event.get(partition)
        if event is None:
            return False
        tp = TP(event.message.topic, partition)
        try:
            highwater = self.app.consumer.highwater(tp)
        except (KeyError, AssertionError, RuntimeError):
            return False
        return highwater is not None and event.message.offset + 1 >= highwater

    async def _close_idle(self) -> None:
        for partition in sorted(self.processor.partitions):
            event = self.last_event.get(partition)
            if event is not None and self.caught_up(partition):
                out = self.processor.advance_idle(partition)
                if out.writes or out.analytics or out.alerts:
                    await self.deliver(event, out)

    def forget(self, partition: int) -> None:
        self.processor.drop_partition(partition)
        self.last_event.pop(partition, None)

    async def deliver(self, event: Event, out: Output) -> None:
        """Send the records, wait until the broker has them all, then apply the table
        writes in ``event``'s partition.

        The wait is once per batch, not per record. In that order, a crash can
        only lose table writes (the records are then sent again, identical) and
        never a record whose window the table already counts as published.
        """
        topics = self.topics
        pending: list[Awaitable[Any]] = []
        for stats in out.analytics:
            pending.append(await self._send(topics.analytics, stats.key, stats, stats.timestamp))
        for alert in out.alerts:
            pending.append(await self._send(topics.alerts, alert.key, alert, alert.timestamp))
            log.info(
                "alert %s %s %s: %s", alert.status, alert.severity, alert.key, alert.reasons[0]
            )
        for letter in out.dead_letters:
            pending.append(await self._send(topics.dead_letters, letter.key, letter, None))
        if pending:
            await asyncio.gather(*pending)
        windows = self.windows
        with partition_of(event):
            for key, value in out.writes.items():
                if value is None:
                    windows.pop(key, None)
                else:
                    windows[key] = value
        self.sent["analytics"] += len(out.analytics)
        self.sent["alerts"] += len(out.alerts)
        self.dead_letters += len(out.dead_letters)
        if self.metrics is not None:
            self.count(self.metrics, out)

    @staticmethod
    def count_trades(metrics: WorkerMetrics, entries: list[ConsumedTrade]) -> None:
        """Trades per exchange, and the event-time lag of the newest of each exchange."""
        last: dict[str, ConsumedTrade] = {}
        counts: dict[str, int] = {}
        for entry in entries:
            exchange = entry.key.partition(":")[0]
            counts[exchange] = counts.get(exchange, 0) + 1
            last[exchange] = entry
        now_us = time.time_ns() // 1000
        for exchange, count in counts.items():
            metrics.trades_processed.labels(exchange=exchange).inc(count)
            lag = (now_us - last[exchange].tick.ts_us) / SECOND_US
            metrics.event_lag.labels(exchange=exchange, data_type="trades").observe(max(lag, 0.0))

    def count(self, metrics: WorkerMetrics, out: Output) -> None:
        """Per batch, not per event: the Prometheus metrics of what ``out`` holds."""
        for stats in out.analytics:
            metrics.windows_emitted.labels(kind=stats.window_kind).inc()
        for alert in out.alerts:
            metrics.alerts.labels(severity=str(alert.severity), status=str(alert.status)).inc()
        for letter in out.dead_letters:
            metrics.late_events.labels(
                exchange=letter.exchange or "unknown", data_type="trades"
            ).inc()
            metrics.dead_letters.labels(
                data_type="trades", reason=reason_class(letter.reason)
            ).inc()
        metrics.table_keys.labels(table="windows").set(self.processor.keys())

    @staticmethod
    async def _send(topic: Any, key: str | None, value: Any, at: datetime | None) -> Any:
        # force: now, not attached to the current event until its offset commits
        return await topic.send(
            key=key,
            value=value,
            timestamp=None if at is None else at.timestamp(),
            force=True,
        )

    async def dead_letter(self, event: Event, reason: str, raw: bytes) -> None:
        message = event.message
        letter = DeadLetter.of(
            raw,
            source=message.topic,
            reason=reason,
            at=datetime.now(UTC),
            partition=message.partition,
            offset=message.offset,
        )
        await self.topics.dead_letters.send(key=message.topic, value=letter)
        self.dead_letters += 1


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


def install_analytics(
    app: faust.App,
    topics: Topics,
    settings: Settings,
    *,
    clock: Clock | None = None,
    metrics: WorkerMetrics | None = None,
    scheduler: Scheduler | None = None,
) -> Analytics:
    """Add the windows/detector agents, their tables, timer (a job of ``scheduler``)
    and views to ``app``."""
    tuning = Tuning.from_settings(settings.windows, settings.detector)
    plan, config = tuning.build(WindowPlan.from_settings(settings.windows))
    processor = WindowProcessor(
        plan,
        DetectionEngine(config),
        clock=clock or SystemClock(),
        source_topic=topic_name(settings.topics, "trades"),
    )
    partitions = topic_partitions(settings.topics, "trades")
    tables = {
        name: factory(
            name,
            default=None,
            # bytes: the "raw" codec, so a key's bytes (and its partition) are the
            # source topic's; str keys are encoded as UTF-8 by it on the way in
            key_type=bytes,
            value_type=bytes,
            partitions=partitions,
            options=rocksdb_table_options(settings),
            help=help_text,
        )
        for name, factory, help_text in (
            ("windows", app.Table, "per symbol: open windows, detector state, latest results"),
        )
    }
    state = Analytics(app, processor, topics, tables["windows"])
    state.metrics = metrics

    # The trades as bytes: TradeReader decodes them in batches (agents.trade_wire).
    # Another agent of the topic (a sink) still gets records: Faust decodes a message
    # once per key/value type among the channels that subscribe to it.
    trades_raw = app.topic(
        topic_name(settings.topics, "trades"),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
        replicas=settings.kafka.replication_factor,
        internal=True,
    )

    @app.agent(trades_raw, name="windows")
    async def process_trades(stream: Any) -> None:
        async for events in take_batches(stream, BATCH_MAX, BATCH_SECONDS):
            await state.on_trades(events)

    @app.agent(topics.gaps, name="gaps")
    async def process_gaps(stream: Any) -> None:
        async for event in stream.events():
            await state.on_gap(event)

    close_idle: Callable[[], Awaitable[None]] = state.close_idle
    if scheduler is not None:
        job = scheduler.every(
            "windows.close_idle",
            IDLE_TICK_SECONDS,
            description="closes the windows of quiet partitions with no backlog by the wall clock",
        )
        close_idle = recorded(job, state.close_idle)
    app.timer(IDLE_TICK_SECONDS, name="windows.close_idle")(close_idle)
    trades = topic_name(settings.topics, "trades")

    async def forget_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
        for tp in revoked:
            if tp.topic == trades:
                state.forget(tp.partition)

    app.on_partitions_revoked.connect(forget_revoked)  # type: ignore[arg-type]
    install_views(app, state)
    return state


def _json(web: Any, data: Any, status: int = 200) -> Response:
    response: Response = web.bytes(
        orjson.dumps(data), content_type="application/json", status=status
    )
    return response


async def routed(
    view: View,
    request: Request,
    table: Any,
    key: str,
    local: Callable[[], Response],
) -> Response:
    """Answer here if this worker owns ``key``'s partition, else forward the request to
    the worker that does (Faust's table routing); 503 while no worker is assigned."""
    app = view.app
    try:
        destination = app.router.key_store(table.name, key)
    except (KeyError, TypeError):  # no assignment yet (TypeError: faust's, before one)
        return _json(view.web, {"key": key, "error": "no worker owns it yet"}, status=503)
    if destination == app.conf.canonical_url:
        return local()
    router: Any = app.router
    response: Response = await router._route_req(destination, view.web, request)
    return response


def _window_page(key: str, held: KeyState, served_by: str) -> dict[str, Any]:
    active = held.alert.active
    return {
        "key": key,
        "partition": held.partition,
        "offset": held.offset,
        "last_event_us": held.max_event_us,
        "open_buckets": len(held.open_buckets),
        "latest": held.latest_json(),
        "active_alert_id": None if active is None else active.alert_id,
        "served_by": served_by,
    }


def _alerts_page(key: str, held: KeyState, served_by: str) -> dict[str, Any]:
    active = held.alert.active
    return {
        "key": key,
        "active_alert_id": None if active is None else active.alert_id,
        "recent": held.alerts_json(),
        "served_by": served_by,
    }


KeyPage = Callable[[str, KeyState, str], dict[str, Any]]


def install_key_page(app: faust.App, windows: Any, path: str, render: KeyPage) -> None:
    """A page about one ``exchange:symbol`` (``{key}`` in ``path``), routed to its owner."""

    class KeyView(View):
        async def get(self, request: Request, key: str) -> Response:
            def local() -> Response:
                value = windows.get(key)
                if value is None:
                    return _json(self.web, {"key": key, "error": "unknown key"}, status=404)
                served_by = str(self.app.conf.canonical_url)
                return _json(self.web, render(key, KeyState.from_bytes(value), served_by))

            return await routed(self, request, windows, key, local)

    KeyView.__doc__ = render.__doc__
    app.page(path, name=f"key{path.replace('/', '_')}")(KeyView)


def local_rows(windows: Any) -> list[dict[str, Any]]:
    """Every key this worker holds, with its latest results and recent alerts."""
    rows = []
    for table_key, value in windows.items():
        key = _text(table_key)
        if RING_SEPARATOR in key:
            continue
        held = KeyState.from_bytes(value)
        exchange, _, symbol = key.partition(":")
        active = held.alert.active
        rows.append(
            {
                "key": key,
                "exchange": exchange,
                "symbol": symbol,
                "latest": held.latest_json(),
                "active_alert_id": None if active is None else active.alert_id,
                "recent_alerts": held.alerts_json()[-5:],
                "last_event_us": held.max_event_us,
            }
        )
    return rows


async def cluster_rows(view: View, request: Request, windows: Any) -> list[dict[str, Any]]:
    """:func:`local_rows` of every worker of the group (each asked over HTTP once)."""
    if request.query.get("scope") == "local":
        return local_rows(windows)
    app = view.app
    me = str(app.conf.canonical_url).rstrip("/")
    hosts = {str(host).rstrip("/") for host in app.assignor.tables_metadata()} - {me}
    rows = local_rows(windows)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for host in sorted(hosts):
            path = request.url.path
            async with session.get(f"{host}{path}", params={"scope": "local"}) as got:
                got.raise_for_status()
                rows.extend((await got.json())["symbols"])
    unique = {row["key"]: row for row in rows}
    return [unique[key] for key in sorted(unique)]


def install_views(app: faust.App, state: Analytics) -> None:
    windows = state.windows
    install_key_page(app, windows, "/windows/{key}/", _window_page)
    install_key_page(app, windows, "/alerts/{key}/", _alerts_page)

    @app.page("/symbols/")
    class SymbolsView(View):
        """Every symbol with its latest results, from every worker (``?scope=local``:
        this worker's only)."""

        async def get(self, request: Request) -> Response:
            return _json(self.web, {"symbols": await cluster_rows(self, request, windows)})

    @app.page("/alerts/")
    class AlertsView(View):
        """Active alerts of every symbol and the recent ones, newest first."""

        async def get(self, request: Request) -> Response:
            if request.query.get("scope") == "local":
                return _json(self.web, {"symbols": local_rows(windows)})
            active, recent = [], []
            for row in await cluster_rows(self, request, windows):
                for alert in row["recent_alerts"]:
                    recent.append(alert)
                    if alert["alert_id"] == row["active_alert_id"]:
                        active.append(alert)
            recent.sort(key=lambda alert: alert["timestamp"], reverse=True)
            latest_active: dict[str, Any] = {}
            for alert in sorted(active, key=lambda a: a["timestamp"]):
                latest_active[alert["alert_id"]] = alert
            return _json(self.web, {"active": list(latest_active.values()), "recent": recent})
