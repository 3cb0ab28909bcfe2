"""The worker's windows and detectors over Kafka partitions, with no Faust in sight.

:class:`WindowProcessor` owns one :class:`~tables.pipeline.WindowPipeline` per
assigned partition (a partition's watermark is its own event-time progress) and
turns each batch of trades into: analytics records, alerts, dead letters for
late trades, and the table writes that persist what the batch changed.
:mod:`agents.analytics` applies those writes to the RocksDB table and sends the
records; the unit tests apply them to a dict.

**No hole, no double count across a crash.** Faust commits a batch's offsets
only after the batch was processed and the producer (changelog included) was
flushed, so every trade whose offset was committed is in the table. A trade can
be in the table without its offset being committed (a crash between the two);
it is then consumed again, and skipped, because each key's state records the
highest offset it includes. All writes of a partition go to one changelog
partition in order, and the partition's watermark is written last in each
batch, so a restored partition never has a watermark ahead of the keys' state.
Windows that closed before the crash but whose state was not saved close again
after it with the same trades: the analytics record and any alert are then sent
twice, identical (at-least-once output, idempotent by window and alert id).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import orjson

from agents.detection.backtest import seconds_label
from agents.detection.cross_venue import CrossVenueBoard
from agents.detection.engine import DetectionEngine
from agents.window_state import (
    RECENT_ALERTS,
    WATERMARK_PREFIX,
    KeyState,
    capture,
    forget,
    parse_table_key,
    restore,
    ring_key,
    watermark_key,
)
from models.alert import PriceAlert
from models.analytics import WindowStats
from models.codec import encode
from models.pipeline_events import DeadLetter, GapEvent
from models.trade import Trade
from tables.buckets import LateEvent
from tables.clock import Clock
from tables.pipeline import Closed, Emissions, WindowPipeline, WindowPlan
from tables.tick import Tick, seconds_to_us

log = logging.getLogger(__name__)

TableWrites = dict[str, bytes | None]  #: table key -> value, ``None`` deletes (in order)


class ConsumedTrade(Protocol):
    """One consumed trade: its key, its offset in its partition, its tick, and the
    record itself on demand (only a late trade's dead letter needs it)."""

    @property
    def key(self) -> str: ...

    @property
    def offset(self) -> int: ...

    @property
    def tick(self) -> Tick: ...

    def record(self) -> Trade: ...


@dataclass(frozen=True, slots=True)
class TradeEntry:
    """A consumed trade already decoded into its record (see also
    :class:`agents.trade_wire.WireTrade`, read straight off its bytes)."""

    key: str
    offset: int
    trade: Trade

    @property
    def tick(self) -> Tick:
        return Tick.from_trade(self.trade)

    def record(self) -> Trade:
        return self.trade


@dataclass(slots=True)
class Output:
    """What one batch (or one idle tick) produced."""

    analytics: list[WindowStats] = field(default_factory=list)
    alerts: list[PriceAlert] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    writes: TableWrites = field(default_factory=dict)
    trades: int = 0
    replayed: int = 0  #: trades skipped because the table already includes them
    late: int = 0


@dataclass
class _Partition:
    number: int
    pipeline: WindowPipeline
    keys: dict[str, KeyState] = field(default_factory=dict)
    ring: dict[str, deque[int]] = field(default_factory=dict)  #: ring bucket starts stored
    seen_at_us: int | None = None  #: clock time of the last batch that had trades

    def state(self, key: str) -> KeyState:
        state = self.keys.get(key)
        if state is None:
            state = self.keys[key] = KeyState(partition=self.number)
        return state


@dataclass
class ProcessorStats:
    trades: int = 0
    replayed: int = 0
    late: int = 0
    windows: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    restored_keys: int = 0


class WindowProcessor:
    def __init__(
        self,
        plan: WindowPlan,
        engine: DetectionEngine,
        *,
        clock: Clock | None = None,
        source_topic: str = "trades",
    ) -> None:
        self.plan = plan
        self.engine = engine
        if engine.board is None:
            engine.board = CrossVenueBoard(engine.config.cross_venue_max_age_seconds)
        self.clock = clock
        self.source_topic = source_topic
        self.stats = ProcessorStats()
        self._partitions: dict[int, _Partition] = {}

    # -- partitions ---------------------------------------------------------------

    @property
    def partitions(self) -> set[int]:
        return set(self._partitions)

    def has_partition(self, partition: int) -> bool:
        return partition in self._partitions

    def keys(self) -> int:
        return sum(len(part.keys) for part in self._partitions.values())

    def restore_partition(self, partition: int, items: Iterable[tuple[str, bytes]]) -> int:
        """Rebuild ``partition`` from the table's items (every item may be passed: the
        other partitions' ones are ignored). Returns the keys restored."""
        part = _Partition(partition, WindowPipeline(self.plan, clock=self.clock))
        states: dict[str, KeyState] = {}
        rings: dict[str, list[tuple[int, bytes]]] = {}
        watermark: bytes | None = None
        for table_key, value in items:
            if table_key.startswith(WATERMARK_PREFIX):
                if table_key == watermark_key(partition):
                    watermark = value
                continue
            key, start = parse_table_key(table_key)
            if start is None:
                state = KeyState.from_bytes(value)
                if state.partition == partition:
                    states[key] = state
            else:
                rings.setdefault(key, []).append((start, value))
        pipeline = part.pipeline
        from_row = pipeline.accumulator.from_row
        for key, state in states.items():
            # A bucket stored after the key's state was last saved closes again
            # (with the same trades) when they are consumed again.
            stored = sorted(r for r in rings.get(key, []) if r[0] < state.closed_through_us)
            view = [(start, from_row(orjson.loads(value))) for start, value in stored]
            restore(pipeline, key, state, view)
            part.keys[key] = state
            part.ring[key] = deque(start for start, _ in stored)
        if watermark is not None:
            max_event_us, floor_us = orjson.loads(watermark)
            if max_event_us is not None:
                pipeline.watermark.observe(max_event_us)
            if floor_us is not None:
                pipeline.watermark.advance_to(floor_us)
        self._partitions[partition] = part
        self.stats.restored_keys += len(states)
        if states:
            log.info("partition %d: restored %d keys from the table", partition, len(states))
        return len(states)

    def drop_partition(self, partition: int) -> None:
        part = self._partitions.pop(partition, None)
        if part is not None:
            for key in part.keys:
                forget(part.pipeline, key)

    # -- processing -----------------------------------------------------------------

    def process(self, partition: int, entries: Iterable[ConsumedTrade]) -> Output:
        """One partition's trades in offset order."""
        part = self._partitions[partition]
        out = Output()
        items: list[tuple[str, Tick]] = []
        kept: list[ConsumedTrade] = []  #: the entry of each item
        touched: set[str] = set()
        base_us = part.pipeline.base.window.size_us
        keys, state_of = part.keys, part.state
        replayed = late = 0
        for entry in entries:
            key = entry.key
            state = keys.get(key) or state_of(key)
            if entry.offset <= state.offset:
                replayed += 1
                continue
            tick = entry.tick
            ts = tick.ts_us
            state.offset = entry.offset
            touched.add(key)
            if ts - ts % base_us < state.closed_through_us:
                reason = LateEvent(
                    key, tick, state.closed_through_us, state.closed_through_us
                ).reason
                out.dead_letters.append(self._dead_letter(partition, entry, reason))
                late += 1
                continue
            if state.max_event_us is None or ts > state.max_event_us:
                state.max_event_us = ts
            items.append((key, tick))
            kept.append(entry)
        out.trades = len(items) + late
        result = part.pipeline.add_batch(items)
        if result.late:
            index = {id(tick): n for n, (_, tick) in enumerate(items)}
            for event in result.late:
                entry = kept[index[id(event.event)]]
                out.dead_letters.append(self._dead_letter(partition, entry, event.reason))
                late += 1
        out.replayed, out.late = replayed, late
        self._emit(part, part.pipeline.advance(), out, touched)
        self._write(part, touched, out)
        if items and self.clock is not None:
            part.seen_at_us = self.clock.now_us()
        self.stats.trades += out.trades
        self.stats.replayed += out.replayed
        self.stats.late += out.late
        return out

    def advance_idle(self, partition: int) -> Output:
        """Close what is due in a partition that has gone quiet (a timer calls this).

        Its event time is taken to move on from its newest trade at the pace of
        the clock since that trade arrived, so live data closes by the wall clock
        while a replay of old data (whose trades keep coming) is never closed
        early by it.
        """
        part = self._partitions[partition]
        out = Output()
        watermark = part.pipeline.watermark
        if self.clock is None or watermark.max_event_us is None:
            return out
        if part.seen_at_us is None:  # restored: count quiet time from now
            part.seen_at_us = self.clock.now_us()
        now_event_us = watermark.max_event_us + self.clock.now_us() - part.seen_at_us
        plan = self.plan
        lag_us = round((plan.grace_seconds + plan.idle_lag_seconds) * 1_000_000)
        before = watermark.value
        watermark.advance_to(now_event_us - lag_us)
        if watermark.value == before:
            return out
        touched: set[str] = set()
        self._emit(part, part.pipeline.advance(), out, touched)
        self._write(part, touched, out)
        return out

    def on_gap(self, partition: int, gap: GapEvent) -> Output:
        """A data gap or book resync of a symbol on ``partition``."""
        part = self._partitions[partition]
        state = part.state(gap.key)
        state.alert = self.engine.on_gap(state.alert, gap)
        out = Output()
        out.writes[gap.key] = state.to_bytes()
        return out

    # -- internals --------------------------------------------------------------------

    def _emit(self, part: _Partition, emissions: Emissions, out: Output, touched: set[str]) -> None:
        pipeline = part.pipeline
        base_us = pipeline.base.window.size_us
        to_row = pipeline.accumulator.to_row
        for closed in emissions.tumbling:
            state = part.state(closed.key)
            touched.add(closed.key)
            if closed.end_us - closed.start_us == base_us:
                state.closed_through_us = max(state.closed_through_us, closed.end_us)
                out.writes[ring_key(closed.key, closed.start_us)] = orjson.dumps(
                    to_row(closed.state)
                )
                part.ring.setdefault(closed.key, deque()).append(closed.start_us)
            self._publish(pipeline, closed, state, out, hopping=False)
        for closed in emissions.hopping:
            touched.add(closed.key)
            self._publish(pipeline, closed, part.state(closed.key), out, hopping=True)
        for view in emissions.views:
            state = part.state(view.key)
            state.alert, alerts = self.engine.evaluate(state.alert, view)
            for alert in alerts:
                out.alerts.append(alert)
                state.recent_alerts.append(encode(alert))
                self.stats.alerts[f"{alert.severity}:{alert.status}"] += 1
            del state.recent_alerts[:-RECENT_ALERTS]
        watermark = pipeline.watermark.value
        if watermark is not None:
            horizon = watermark - seconds_to_us(self.plan.view_seconds)
            for key, starts in part.ring.items():
                while starts and starts[0] < horizon:
                    out.writes[ring_key(key, starts.popleft())] = None

    def _publish(
        self,
        pipeline: WindowPipeline,
        closed: Closed,
        state: KeyState,
        out: Output,
        *,
        hopping: bool,
    ) -> None:
        stats = pipeline.window_stats(closed, hopping=hopping)
        if stats is None:
            return
        kind = "hopping" if hopping else "tumbling"
        label = f"{kind}_{seconds_label(closed.end_us - closed.start_us)}"
        state.latest[label] = encode(stats)
        self.stats.windows[label] += 1
        out.analytics.append(stats)

    def _write(self, part: _Partition, touched: set[str], out: Output) -> None:
        pipeline = part.pipeline
        for key in sorted(touched):
            state = part.state(key)
            capture(pipeline, key, state)
            value = state.to_bytes()
            out.writes[key] = value
        watermark = pipeline.watermark
        out.writes[watermark_key(part.number)] = orjson.dumps(
            [watermark.max_event_us, watermark.floor_us]
        )

    def _dead_letter(self, partition: int, entry: ConsumedTrade, reason: str) -> DeadLetter:
        trade = entry.record()
        return DeadLetter.of(
            encode(trade),
            source=self.source_topic,
            reason=reason,
            at=datetime.now(UTC),
            exchange=trade.exchange,
            channel="trades",
            key=entry.key,
            partition=partition,
            offset=entry.offset,
        )
