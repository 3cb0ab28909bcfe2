"""Every MarketPrism metric, defined in one place, and the collectors of ingest.

Names start with ``marketprism_``. Labels come from small fixed sets
(exchange, channel, data_type, cause, reason, kind, severity, status, table)
and never name a symbol, so the number of series stays bounded.

Each process keeps its own :class:`~prometheus_client.CollectorRegistry`
(:func:`new_registry`), never the library's global one, so tests can build
as many as they like.

- **ingest** (``marketprism ingest``): the hot path counts nothing new that
  ingest already counts. :class:`IngestCollector` reads, at scrape time, the
  stats that ingest keeps anyway (each connection's ``ConnectionStats``, each
  feed's router and trade continuity, the producer's ``ProducerStats``). Only
  what those do not hold comes from the records as they pass:
  :class:`MeteredSink` wraps the sink, samples the event-time lag of market
  events and counts gap events and dead letters (about 0.2 µs a record, 2-3 %
  of parsing, routing and encoding a trade message).
- **worker**: :class:`WorkerMetrics` holds ordinary prometheus_client metrics
  that the agents and sinks update.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import prometheus_client as prom
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from app.topics import TOPIC_MODELS
from ingest.feed import VenueFeed
from ingest.producer import ProducerStats
from ingest.sink import RecordSink
from models import BookDelta, DeadLetter, GapEvent, Record, Ticker, Trade
from models.base import MarketEvent

MetricKind = Literal["counter", "gauge", "histogram"]

# fmt: off
#: Upper bounds (seconds) of the event-time lag histograms: exchange clock to us.
LAG_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
)
# fmt: on


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name as queried (counters end in ``_total``), type, labels, help."""

    name: str
    kind: MetricKind
    labels: tuple[str, ...]
    help: str


def _spec(name: str, kind: MetricKind, labels: str, help: str) -> MetricSpec:
    return MetricSpec(f"marketprism_{name}", kind, tuple(labels.split()), help)


# fmt: off
# -- ingest: read from its stats objects at scrape time ------------------------------------

INGEST_MESSAGES = _spec("ingest_messages_total", "counter", "exchange",
    "WebSocket messages received")
INGEST_BYTES = _spec("ingest_received_bytes_total", "counter", "exchange",
    "bytes of WebSocket messages received")
INGEST_RECORDS = _spec("ingest_records_total", "counter", "exchange data_type",
    "normalized records handed to Kafka (or stdout), after duplicates are dropped")
INGEST_DEAD_LETTERS = _spec("ingest_dead_letters_total", "counter", "exchange channel reason",
    "input that could not be parsed or accepted (parse errors), by reason class")
INGEST_CONNECTIONS = _spec("ingest_connections", "gauge", "exchange",
    "WebSocket connections the feeds keep")
INGEST_CONNECTIONS_UP = _spec("ingest_connections_up", "gauge", "exchange",
    "connections with a live session")
INGEST_RECONNECTS = _spec("ingest_reconnects_total", "counter", "exchange cause",
    "sessions lost without a replacement; each is followed by a reconnect")
INGEST_CONNECT_FAILURES = _spec("ingest_connect_failures_total", "counter", "exchange",
    "connection attempts that failed (retried with back-off)")
INGEST_ROTATIONS = _spec("ingest_rotations_total", "counter", "exchange",
    "make-before-break switches to a new session")
INGEST_GAPS = _spec("ingest_gaps_total", "counter", "exchange channel cause",
    "gaps detected (sequence gaps, checksum mismatches, reconnects, lost trades)")
INGEST_RESYNCS = _spec("ingest_resyncs_total", "counter", "exchange cause",
    "books rebuilt from a fresh snapshot after a gap")
INGEST_TRADE_DUPLICATES = _spec("ingest_trade_duplicates_total", "counter", "exchange",
    "trades dropped as already seen")
INGEST_TRADES_BACKFILLED = _spec("ingest_trades_backfilled_total", "counter", "exchange",
    "missing trades recovered from the venue's REST history")
INGEST_TRADES_LOST = _spec("ingest_trades_lost_total", "counter", "exchange",
    "trades known lost (not in the REST history either)")
INGEST_EVENT_LAG = _spec("ingest_event_lag_seconds", "histogram", "exchange data_type",
    "exchange event time to the record being handed to the producer (sampled: one in 7"
    " trades, tickers and book deltas, every other market event)")
PRODUCER_BUFFERED = _spec("ingest_producer_buffered_records", "gauge", "",
    "records in flight: sent to Kafka, not yet acknowledged")
PRODUCER_CAPACITY = _spec("ingest_producer_buffer_capacity", "gauge", "",
    "records in flight at which publishing blocks")
PRODUCER_PUBLISHED = _spec("ingest_producer_published_total", "counter", "",
    "records given to the producer")
PRODUCER_DELIVERED = _spec("ingest_producer_delivered_total", "counter", "",
    "records acknowledged by the broker")
PRODUCER_SEND_FAILURES = _spec("ingest_producer_send_failures_total", "counter", "",
    "failed sends or deliveries; each record is sent again until it lands")
PRODUCER_BLOCKED = _spec("ingest_producer_blocked_seconds_total", "counter", "",
    "time publishing waited for a full buffer (back-pressure)")

INGEST_METRICS: tuple[MetricSpec, ...] = (
    INGEST_MESSAGES, INGEST_BYTES, INGEST_RECORDS, INGEST_DEAD_LETTERS, INGEST_CONNECTIONS,
    INGEST_CONNECTIONS_UP, INGEST_RECONNECTS, INGEST_CONNECT_FAILURES, INGEST_ROTATIONS,
    INGEST_GAPS, INGEST_RESYNCS, INGEST_TRADE_DUPLICATES, INGEST_TRADES_BACKFILLED,
    INGEST_TRADES_LOST, INGEST_EVENT_LAG, PRODUCER_BUFFERED, PRODUCER_CAPACITY,
    PRODUCER_PUBLISHED, PRODUCER_DELIVERED, PRODUCER_SEND_FAILURES, PRODUCER_BLOCKED,
)

# -- worker: updated by the agents and sinks through WorkerMetrics -------------------------

WORKER_TRADES = _spec("worker_trades_processed_total", "counter", "exchange",
    "trades processed by the processing agent")
WORKER_EVENT_LAG = _spec("worker_event_lag_seconds", "histogram", "exchange data_type",
    "exchange event time to the event being processed by the processing agent")
WORKER_WINDOWS = _spec("worker_windows_emitted_total", "counter", "kind",
    "window results emitted; kind names the window, e.g. tumbling_60s, hopping_300s")
WORKER_LATE_EVENTS = _spec("worker_late_events_total", "counter", "exchange data_type",
    "events that arrived after their window's grace period (not counted in it)")
WORKER_TABLE_KEYS = _spec("worker_table_keys", "gauge", "table",
    "keys held in a table by this worker")
WORKER_ALERTS = _spec("worker_alerts_total", "counter", "severity status",
    "alerts published (status: firing, update, resolved)")
WORKER_DEAD_LETTERS = _spec("worker_dead_letters_total", "counter", "data_type reason",
    "events the worker could not use, dead-lettered; reason = reason_class(reason)")
WORKER_RECOVERING = _spec("worker_recovering", "gauge", "",
    "1 while the worker restores its tables from the changelogs, else 0")
SINK_ROWS = _spec("sink_rows_written_total", "counter", "data_type",
    "rows written to durable Parquet files")
SINK_FILES = _spec("sink_files_written_total", "counter", "data_type",
    "Parquet files completed (renamed into place)")
SINK_BYTES = _spec("sink_bytes_written_total", "counter", "data_type",
    "bytes of the Parquet files completed")
SINK_LAST_COMMIT = _spec("sink_last_commit_timestamp_seconds", "gauge", "data_type",
    "Unix time of the last durable write whose offsets were committed")
SINK_WRITE_FAILURES = _spec("sink_write_failures_total", "counter", "data_type",
    "Parquet writes that failed")

WORKER_METRICS: tuple[MetricSpec, ...] = (
    WORKER_TRADES, WORKER_EVENT_LAG, WORKER_WINDOWS, WORKER_LATE_EVENTS, WORKER_TABLE_KEYS,
    WORKER_ALERTS, WORKER_DEAD_LETTERS, WORKER_RECOVERING, SINK_ROWS, SINK_FILES, SINK_BYTES,
    SINK_LAST_COMMIT, SINK_WRITE_FAILURES,
)

#: Every MarketPrism metric (the README's table lists exactly these).
METRICS: tuple[MetricSpec, ...] = INGEST_METRICS + WORKER_METRICS
# fmt: on


def new_registry() -> prom.CollectorRegistry:
    """A registry of its own for one process, with the standard ``process_*`` metrics.

    Also turns off prometheus_client's ``*_created`` series (for the whole process):
    the text format makes each one a gauge of its own, beside every labelled counter
    and histogram, that no dashboard reads."""
    prom.disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated upstream
    registry = prom.CollectorRegistry()
    prom.ProcessCollector(registry=registry)
    return registry


# -- bounded label values ------------------------------------------------------------------

#: Dead-letter reason (free text, from the parsers' messages) -> class; first match wins.
_REASON_CLASSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), name)
    for pattern, name in (
        (r"unparsable JSON", "invalid_json"),
        (r"venue ", "venue_error"),
        (r"unsupported |no parser for |.* has no REST ", "unsupported"),
        (r"unknown symbol", "unknown_symbol"),
        (r"event time ", "clock_skew"),
        (r"invalid |not an? |unknown |.* must be |expected a (non-empty )?string", "invalid_value"),
        (r"malformed |expected |trade history of ", "malformed"),
    )
)
REASON_CLASSES: frozenset[str] = frozenset(name for _, name in _REASON_CLASSES) | {"other"}

_DISCONNECT_CAUSES: tuple[tuple[str, str], ...] = (
    ("closed by the venue", "venue_closed"),
    ("connection lost", "connection_lost"),
    ("stale ", "stale"),
    ("subscription failed", "subscription_failed"),
)
_WORD = re.compile(r"[a-z][a-z0-9_]{0,39}")


def reason_class(reason: str) -> str:
    """The class of a dead letter's free-text reason, one of :data:`REASON_CLASSES`."""
    for pattern, name in _REASON_CLASSES:
        if pattern.match(reason):
            return name
    return "other"


def disconnect_cause(reason: str) -> str:
    """The class of a connection's end reason (``ConnectionStats.disconnects``)."""
    for prefix, name in _DISCONNECT_CAUSES:
        if reason.startswith(prefix):
            return name
    return "other"


def bounded_label(value: str | None) -> str:
    """A code-chosen identifier (a gap cause, a channel) as a label; anything else is
    ``other`` so that data can never widen a label."""
    if value is None:
        return "unknown"
    return value if _WORD.fullmatch(value) else "other"


# -- worker ---------------------------------------------------------------------------------


class WorkerMetrics:
    """The worker's metrics, registered on ``registry`` (one per process).

    The agents and sinks update them, e.g.
    ``metrics.trades_processed.labels(exchange="binance").inc()`` or
    ``metrics.event_lag.labels(exchange=..., data_type="trades").observe(seconds)``.
    """

    def __init__(self, registry: prom.CollectorRegistry) -> None:
        self.trades_processed = _counter(WORKER_TRADES, registry)
        self.event_lag = _histogram(WORKER_EVENT_LAG, registry)
        self.windows_emitted = _counter(WORKER_WINDOWS, registry)
        self.late_events = _counter(WORKER_LATE_EVENTS, registry)
        self.table_keys = _gauge(WORKER_TABLE_KEYS, registry)
        self.alerts = _counter(WORKER_ALERTS, registry)
        self.dead_letters = _counter(WORKER_DEAD_LETTERS, registry)
        self.recovering = _gauge(WORKER_RECOVERING, registry)
        self.sink_rows = _counter(SINK_ROWS, registry)
        self.sink_files = _counter(SINK_FILES, registry)
        self.sink_bytes = _counter(SINK_BYTES, registry)
        self.sink_last_commit = _gauge(SINK_LAST_COMMIT, registry)
        self.sink_write_failures = _counter(SINK_WRITE_FAILURES, registry)


def _counter(spec: MetricSpec, registry: prom.CollectorRegistry) -> prom.Counter:
    return prom.Counter(spec.name, spec.help, spec.labels, registry=registry)


def _gauge(spec: MetricSpec, registry: prom.CollectorRegistry) -> prom.Gauge:
    return prom.Gauge(spec.name, spec.help, spec.labels, registry=registry)


def _histogram(spec: MetricSpec, registry: prom.CollectorRegistry) -> prom.Histogram:
    return prom.Histogram(spec.name, spec.help, spec.labels, buckets=LAG_BUCKETS, registry=registry)


# -- ingest ---------------------------------------------------------------------------------

#: Record class -> data type label (the topic's data type).
DATA_TYPE_OF: dict[type[Record], str] = {model: name for name, model in TOPIC_MODELS.items()}
_DATA_TYPE_BY_NAME = {model.__name__: name for model, name in DATA_TYPE_OF.items()}
#: Market events whose event-time lag is observed -> one in how many is. The high-rate
#: streams are sampled, so that metering stays a small fraction of the cost of a
#: message (the stride is a prime above the number of venues: venues whose records
#: alternate in lockstep are all sampled); the other market events are all observed.
LAG_STRIDE: dict[type[Record], int] = {
    model: 7 if model in (Trade, Ticker, BookDelta) else 1
    for model in DATA_TYPE_OF
    if issubclass(model, MarketEvent)
}
#: ``le`` of each bucket as the exposition writes it.
_LE: tuple[str, ...] = (*(repr(bound) for bound in LAG_BUCKETS), "+Inf")


class LagHistogram:
    """Observations of one series, made cumulative only when scraped."""

    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(LAG_BUCKETS) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LAG_BUCKETS, seconds)] += 1
        self.sum += seconds

    def buckets(self) -> list[tuple[str, float]]:
        """``(le, cumulative count)`` pairs, ``+Inf`` last."""
        out, total = [], 0
        for le, count in zip(_LE, self.counts, strict=True):
            total += count
            out.append((le, float(total)))
        return out


class _LagSampler:
    """Lag observations of one market event class, by exchange."""

    __slots__ = ("by_exchange", "countdown", "data_type", "stride")

    def __init__(self, data_type: str, stride: int) -> None:
        self.data_type = data_type
        self.stride = stride
        self.countdown = 1  # the first one is observed
        self.by_exchange: dict[str, LagHistogram] = {}


class MeteredSink:
    """A :class:`~ingest.sink.RecordSink` in front of another that observes the
    event-time lag of market events as they are handed on (see :data:`LAG_STRIDE`)
    and counts gaps, resyncs and dead letters by their bounded labels.
    ``clock``: Unix time now.

    An unobserved record costs a dict lookup and a decrement; an observed one about
    0.4 µs (converting the event time is most of it)."""

    def __init__(self, sink: RecordSink, *, clock: Callable[[], float] = time.time) -> None:
        self.sink = sink
        self._clock = clock
        self._samplers = {
            model: _LagSampler(DATA_TYPE_OF[model], stride) for model, stride in LAG_STRIDE.items()
        }
        #: (exchange, channel, cause)
        self.gaps: Counter[tuple[str, ...]] = Counter()
        #: (exchange, cause)
        self.resyncs: Counter[tuple[str, ...]] = Counter()
        #: (exchange, channel, reason class)
        self.dead_letters: Counter[tuple[str, ...]] = Counter()

    @property
    def lag(self) -> dict[tuple[str, ...], LagHistogram]:
        """(exchange, data_type) -> lag observations."""
        return {
            (exchange, sampler.data_type): series
            for sampler in self._samplers.values()
            for exchange, series in list(sampler.by_exchange.items())
        }

    async def publish(self, record: Record) -> None:
        sampler = self._samplers.get(type(record))
        if sampler is not None:  # the hot path
            sampler.countdown -= 1
            if not sampler.countdown:
                sampler.countdown = sampler.stride
                self._observe(sampler, record)
        elif isinstance(record, GapEvent | DeadLetter):
            self._count(record)
        await self.sink.publish(record)

    def _count(self, record: GapEvent | DeadLetter) -> None:
        channel = bounded_label(record.channel)
        if isinstance(record, DeadLetter):
            exchange = bounded_label(record.exchange)
            self.dead_letters[exchange, channel, reason_class(record.reason)] += 1
        elif record.resynced:
            self.resyncs[record.exchange, bounded_label(record.cause)] += 1
        else:
            self.gaps[record.exchange, channel, bounded_label(record.cause)] += 1

    def _observe(self, sampler: _LagSampler, record: Any) -> None:
        """``record``: a market event (typed Any: no cast call on the hot path)."""
        series = sampler.by_exchange.get(record.exchange)
        if series is None:
            series = sampler.by_exchange[record.exchange] = LagHistogram()
        series.observe(self._clock() - record.timestamp.timestamp())


#: spec -> label values -> value, summed over feeds and connections
_Values = defaultdict[MetricSpec, defaultdict[tuple[str, ...], float]]


class IngestCollector:
    """The ingest metrics (:data:`INGEST_METRICS`), read at scrape time from ``feeds``
    (their connections, routers and trade continuity), the producer's ``producer``
    stats (None with ``--to-stdout``) and the ``meter`` in front of the sink."""

    def __init__(
        self,
        feeds: Sequence[VenueFeed],
        *,
        producer: ProducerStats | None = None,
        meter: MeteredSink | None = None,
    ) -> None:
        self.feeds = feeds
        self.producer = producer
        self.meter = meter

    def describe(self) -> Iterable[Metric]:
        return [_family(spec, {}) for spec in INGEST_METRICS]

    def collect(self) -> Iterable[Metric]:
        values: _Values = defaultdict(lambda: defaultdict(float))
        for feed in self.feeds:
            self._feed(feed, values)
        if self.producer is not None:
            self._producer(self.producer, values)
        lag: dict[tuple[str, ...], LagHistogram] = {}
        if self.meter is not None:
            lag.update(self.meter.lag)
            values[INGEST_GAPS].update(self.meter.gaps)
            values[INGEST_RESYNCS].update(self.meter.resyncs)
            values[INGEST_DEAD_LETTERS].update(self.meter.dead_letters)
        return [
            _histogram_family(spec, lag)
            if spec.kind == "histogram"
            else _family(spec, values[spec])
            for spec in INGEST_METRICS
        ]

    @staticmethod
    def _feed(feed: VenueFeed, values: _Values) -> None:
        name = feed.venue.name
        exchange = (name,)
        for connection in feed.connections:
            stats = connection.stats
            values[INGEST_MESSAGES][exchange] += stats.frames
            values[INGEST_BYTES][exchange] += stats.bytes
            values[INGEST_CONNECTIONS][exchange] += 1
            values[INGEST_CONNECTIONS_UP][exchange] += stats.connected
            values[INGEST_CONNECT_FAILURES][exchange] += stats.failed_connects
            values[INGEST_ROTATIONS][exchange] += stats.rotations
            for reason, n in list(stats.disconnects.items()):
                values[INGEST_RECONNECTS][name, disconnect_cause(reason)] += n
        for type_name, n in list(feed.router.published.items()):
            values[INGEST_RECORDS][name, _DATA_TYPE_BY_NAME.get(type_name, "other")] += n
        continuity = feed.router.continuity.stats
        values[INGEST_TRADE_DUPLICATES][exchange] += continuity.duplicates
        values[INGEST_TRADES_BACKFILLED][exchange] += continuity.backfilled
        values[INGEST_TRADES_LOST][exchange] += continuity.lost

    @staticmethod
    def _producer(stats: ProducerStats, values: _Values) -> None:
        values[PRODUCER_BUFFERED][()] = stats.buffered
        values[PRODUCER_CAPACITY][()] = stats.max_buffered
        values[PRODUCER_PUBLISHED][()] = stats.published
        values[PRODUCER_DELIVERED][()] = stats.delivered
        values[PRODUCER_SEND_FAILURES][()] = stats.failed_sends
        values[PRODUCER_BLOCKED][()] = stats.blocked_seconds


def _family(spec: MetricSpec, samples: Mapping[tuple[str, ...], float]) -> Metric:
    if spec.kind == "histogram":
        return _histogram_family(spec, {})
    family: CounterMetricFamily | GaugeMetricFamily
    if spec.kind == "counter":
        family = CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
    else:
        family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
    for labels, value in sorted(samples.items()):
        family.add_metric(labels, value)
    return family


def _histogram_family(
    spec: MetricSpec, series: dict[tuple[str, ...], LagHistogram]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)
    for labels, histogram in sorted(series.items()):
        family.add_metric(labels, histogram.buckets(), histogram.sum)
    return family
