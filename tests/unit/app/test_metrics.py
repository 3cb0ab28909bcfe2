"""The metrics of app/metrics.py against the real stats objects of ingest, read back
through the text exposition as Prometheus would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import prometheus_client as prom
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import (
    INGEST_METRICS,
    LAG_BUCKETS,
    LAG_STRIDE,
    METRICS,
    REASON_CLASSES,
    WORKER_METRICS,
    IngestCollector,
    LagHistogram,
    MeteredSink,
    WorkerMetrics,
    bounded_label,
    disconnect_cause,
    new_registry,
    reason_class,
)
from ingest.binance import Binance
from ingest.connection import ConnectionStats
from ingest.feed import VenueFeed
from ingest.producer import ProducerStats
from models import DeadLetter, FundingRate, GapEvent, Record, Trade

T0_MS = 1_723_161_255_342
#: The clock of the meter: 0.2 s after the first trade's exchange time.
NOW = T0_MS / 1000 + 0.2

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    async def publish(self, record: Record) -> None:
        self.records.append(record)


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def scrape(registry: prom.CollectorRegistry) -> Samples:
    """Every sample of the text exposition, parsed back."""
    text = prom.generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, tuple(sorted(labels.items()))]


def trade_frame(trade_id: int, ms: int) -> bytes:
    trade = {"e": "trade", "E": ms, "s": "BTCUSDT", "t": trade_id, "p": "61837.63000000"}
    trade |= {"q": "0.02000000", "T": ms, "m": True, "M": True}
    return orjson.dumps({"stream": "btcusdt@trade", "data": trade})


def depth_frame(first: int, last: int, ms: int) -> bytes:
    data = {"e": "depthUpdate", "E": ms, "s": "BTCUSDT", "U": first, "u": last}
    data |= {"b": [["61837.63000000", "1.5"]], "a": [["61837.64000000", "0.5"]]}
    return orjson.dumps({"stream": "btcusdt@depth@100ms", "data": data})


def snapshot_body(last_update_id: int) -> bytes:
    return orjson.dumps(
        {
            "lastUpdateId": last_update_id,
            "bids": [["61837.63000000", "3.78826000"]],
            "asks": [["61837.64000000", "1.54698000"]],
        }
    )


def binance_feed(sink: ListSink | MeteredSink) -> VenueFeed:
    symbols = ["BTC-USDT"]
    return VenueFeed(
        Binance(symbols=symbols), symbols=symbols, channels=["trades", "book"], sink=sink
    )


@pytest.fixture
def registry() -> Iterator[prom.CollectorRegistry]:
    yield new_registry()


def test_connection_and_producer_stats_are_read_at_scrape_time(
    registry: prom.CollectorRegistry,
) -> None:
    feed = binance_feed(ListSink())
    producer = ProducerStats(max_buffered=100)
    registry.register(IngestCollector([feed], producer=producer))
    [connection] = feed.connections
    stats: ConnectionStats = connection.stats

    before = scrape(registry)
    assert value(before, "marketprism_ingest_messages_total", exchange="binance") == 0
    assert value(before, "marketprism_ingest_connections", exchange="binance") == 1
    assert value(before, "marketprism_ingest_connections_up", exchange="binance") == 0
    assert value(before, "marketprism_ingest_producer_buffer_capacity") == 100

    stats.frames, stats.bytes, stats.connected = 5, 1234, True
    stats.failed_connects, stats.rotations = 3, 1
    stats.disconnects["closed by the venue"] += 1
    stats.disconnects["connection lost (ConnectionClosedError: no close frame)"] += 2
    stats.disconnects["connection lost (ConnectionClosedError: keepalive timeout)"] += 1
    stats.disconnects["stale book"] += 4
    producer.published, producer.delivered, producer.buffered = 10, 7, 3
    producer.failed_sends, producer.blocked_seconds = 2, 1.5

    after = scrape(registry)
    assert value(after, "marketprism_ingest_messages_total", exchange="binance") == 5
    assert value(after, "marketprism_ingest_received_bytes_total", exchange="binance") == 1234
    assert value(after, "marketprism_ingest_connections_up", exchange="binance") == 1
    assert value(after, "marketprism_ingest_connect_failures_total", exchange="binance") == 3
    assert value(after, "marketprism_ingest_rotations_total", exchange="binance") == 1
    reconnects = {
        cause: value(after, "marketprism_ingest_reconnects_total", exchange="binance", cause=cause)
        for cause in ("venue_closed", "connection_lost", "stale")
    }
    assert reconnects == {"venue_closed": 1, "connection_lost": 3, "stale": 4}
    assert value(after, "marketprism_ingest_producer_buffered_records") == 3
    assert value(after, "marketprism_ingest_producer_published_total") == 10
    assert value(after, "marketprism_ingest_producer_delivered_total") == 7
    assert value(after, "marketprism_ingest_producer_send_failures_total") == 2
    assert value(after, "marketprism_ingest_producer_blocked_seconds_total") == 1.5


@pytest.mark.asyncio
async def test_real_messages_give_records_duplicates_gaps_resyncs_dead_letters_and_lag(
    registry: prom.CollectorRegistry,
) -> None:
    out = ListSink()
    meter = MeteredSink(out, clock=lambda: NOW)
    feed = binance_feed(meter)
    registry.register(IngestCollector([feed], meter=meter))
    [connection] = feed.connections
    received = at(T0_MS + 5)

    for raw in (
        trade_frame(100, T0_MS),
        trade_frame(100, T0_MS),  # a duplicate: dropped before the sink
        trade_frame(101, T0_MS + 1),  # not observed (one trade in 7 is)
        b'{"stream":"btcusdt@trade","data":{"e":"trade",',  # cut in half
        orjson.dumps({"e": "kline", "E": T0_MS, "s": "BTCUSDT"}),  # a stream we do not parse
    ):
        await feed.on_frame(connection, raw, received)
    # The book: a snapshot, one delta in sequence, one after a gap, a new snapshot.
    books, router = feed.router.books, feed.router
    snapshot = feed.venue.parse_snapshot(snapshot_body(500), received, "BTC-USDT")
    assert not isinstance(snapshot, Record)
    for record in books.on_snapshot(snapshot):
        await router.publish(record)
    await feed.on_frame(connection, depth_frame(501, 503, T0_MS), received)
    await feed.on_frame(connection, depth_frame(510, 512, T0_MS), received)  # 504-509 missing
    snapshot = feed.venue.parse_snapshot(snapshot_body(511), received, "BTC-USDT")
    assert not isinstance(snapshot, Record)
    for record in books.on_snapshot(snapshot):  # what VenueFeed._fetch_snapshots does
        await router.publish(record)

    assert [type(r).__name__ for r in out.records] == [
        "Trade",
        "Trade",
        "DeadLetter",
        "DeadLetter",
        "GapEvent",
        "GapEvent",
    ]
    samples = scrape(registry)
    records = {
        data_type: value(
            samples, "marketprism_ingest_records_total", exchange="binance", data_type=data_type
        )
        for data_type in ("trades", "dead_letters", "gaps")
    }
    assert records == {"trades": 2, "dead_letters": 2, "gaps": 2}
    assert value(samples, "marketprism_ingest_trade_duplicates_total", exchange="binance") == 1
    gap = {"exchange": "binance", "channel": "book", "cause": "sequence_gap"}
    assert value(samples, "marketprism_ingest_gaps_total", **gap) == 1
    resync = {"exchange": "binance", "cause": "sequence_gap"}
    assert value(samples, "marketprism_ingest_resyncs_total", **resync) == 1
    dead = {"exchange": "binance", "channel": "unknown"}
    assert value(samples, "marketprism_ingest_dead_letters_total", **dead, reason="invalid_json")
    assert value(samples, "marketprism_ingest_dead_letters_total", **dead, reason="unsupported")
    lag = {"exchange": "binance", "data_type": "trades"}
    assert value(samples, "marketprism_ingest_event_lag_seconds_count", **lag) == 1
    assert value(samples, "marketprism_ingest_event_lag_seconds_sum", **lag) == pytest.approx(0.2)
    assert value(samples, "marketprism_ingest_event_lag_seconds_bucket", **lag, le="0.1") == 0
    assert value(samples, "marketprism_ingest_event_lag_seconds_bucket", **lag, le="0.25") == 1
    assert value(samples, "marketprism_ingest_event_lag_seconds_bucket", **lag, le="+Inf") == 1


@pytest.mark.asyncio
async def test_lag_is_sampled_per_class_and_kept_per_exchange() -> None:
    meter = MeteredSink(ListSink(), clock=lambda: NOW)
    venue = Binance()
    trades = [venue.parse(trade_frame(n, T0_MS), at(T0_MS))[0] for n in range(15)]
    assert LAG_STRIDE[Trade] == 7 and LAG_STRIDE[FundingRate] == 1
    for n, trade in enumerate(trades):
        other = trade.model_copy(update={"exchange": "okx"})
        await meter.publish(trade if n % 2 else other)  # the venues alternate in lockstep
    funding = FundingRate(
        exchange="binance_futures",
        symbol="BTC-USDT-PERP",
        native_symbol="BTCUSDT",
        instrument_type="perpetual",
        timestamp=at(T0_MS),
        collected_at=at(T0_MS),
        funding_rate="0.0001",
    )
    for _ in range(3):
        await meter.publish(funding)
    counts = {key: sum(series.counts) for key, series in meter.lag.items()}
    # trades 0, 7 and 14 observed: okx (even), binance (odd), okx
    assert counts == {
        ("okx", "trades"): 2,
        ("binance", "trades"): 1,
        ("binance_futures", "funding_rates"): 3,
    }


def test_lag_buckets_follow_prometheus_le() -> None:
    histogram = LagHistogram()
    for seconds in (-0.05, 0.005, 0.0051, 0.25, 1000.0):  # a clock ahead of ours: first bucket
        histogram.observe(seconds)
    buckets = dict(histogram.buckets())
    assert list(buckets)[-1] == "+Inf" and len(buckets) == len(LAG_BUCKETS) + 1
    assert (buckets["0.005"], buckets["0.01"], buckets["0.25"]) == (2, 3, 4)
    assert (buckets["300.0"], buckets["+Inf"]) == (4, 5)
    assert histogram.sum == pytest.approx(1000.2101)


def test_dead_letter_reasons_of_the_real_parsers_fall_in_fixed_classes() -> None:
    venue, received = Binance(), at(T0_MS)
    good = trade_frame(1, T0_MS)
    cases = {
        b"{not json": "invalid_json",
        orjson.dumps({"error": {"code": 2, "msg": "Invalid request"}, "id": 1}): "venue_error",
        orjson.dumps({"e": "kline", "s": "BTCUSDT"}): "unsupported",
        good.replace(b'"61837.63000000"', b'"abc"'): "invalid_value",
        good.replace(b'"61837.63000000"', b'"-1"'): "invalid_value",
        good.replace(b'"m":true', b'"m":"yes"'): "invalid_value",
        good.replace(b'"t":1,', b""): "malformed",
        orjson.dumps([1, 2]): "malformed",
    }
    for raw, expected in cases.items():
        [letter] = venue.parse(raw, received)
        assert isinstance(letter, DeadLetter), raw
        assert reason_class(letter.reason) == expected, letter.reason
    [skewed] = venue.parse(good, datetime(2020, 1, 1, tzinfo=UTC))
    assert isinstance(skewed, DeadLetter)
    assert reason_class(skewed.reason) == "clock_skew"
    assert reason_class("unknown symbol 'XYZ'") == "unknown_symbol"
    assert reason_class("no parser for REST path '/x'") == "unsupported"
    assert reason_class("a sink could not write") == "other"
    assert {reason_class(reason) for reason in ("", "x", "venue error: 1")} <= REASON_CLASSES


def test_labels_taken_from_data_are_bounded() -> None:
    assert disconnect_cause("connection lost (OSError: [Errno 104] reset)") == "connection_lost"
    assert disconnect_cause("subscription failed") == "subscription_failed"
    assert disconnect_cause("something new") == "other"
    assert bounded_label("sequence_gap") == "sequence_gap"
    assert bounded_label(None) == "unknown"
    assert bounded_label("Sequence Gap at 12345 with a long explanation") == "other"
    assert bounded_label("x" * 41) == "other"


def test_worker_metrics_live_on_their_own_registry_each() -> None:
    first, second = new_registry(), new_registry()
    one, two = WorkerMetrics(first), WorkerMetrics(second)
    one.trades_processed.labels(exchange="binance").inc(3)
    one.alerts.labels(severity="high", status="firing").inc()
    one.event_lag.labels(exchange="okx", data_type="trades").observe(0.03)
    one.recovering.set(1)
    one.sink_last_commit.labels(data_type="trades").set(1_700_000_000)
    two.trades_processed.labels(exchange="binance").inc()

    a, b = scrape(first), scrape(second)
    assert value(a, "marketprism_worker_trades_processed_total", exchange="binance") == 3
    assert value(b, "marketprism_worker_trades_processed_total", exchange="binance") == 1
    alerts = {"severity": "high", "status": "firing"}
    assert value(a, "marketprism_worker_alerts_total", **alerts) == 1
    lag = {"exchange": "okx", "data_type": "trades"}
    assert value(a, "marketprism_worker_event_lag_seconds_bucket", **lag, le="0.05") == 1
    assert value(a, "marketprism_worker_event_lag_seconds_bucket", **lag, le="0.025") == 0
    assert value(a, "marketprism_worker_recovering") == 1
    assert value(b, "marketprism_worker_recovering") == 0
    last_commit = {"data_type": "trades"}
    assert value(a, "marketprism_sink_last_commit_timestamp_seconds", **last_commit) == 1.7e9
    assert not any(m.name.startswith("marketprism_") for m in prom.REGISTRY.collect())


@pytest.mark.asyncio
async def test_every_metric_is_exported_with_its_type_and_labels(
    registry: prom.CollectorRegistry,
) -> None:
    meter = MeteredSink(ListSink())
    feed = binance_feed(meter)
    registry.register(IngestCollector([feed], producer=ProducerStats(), meter=meter))
    feed.connections[0].stats.disconnects["stale book"] += 1
    worker = WorkerMetrics(registry)
    for spec in WORKER_METRICS:  # one sample each, so that the labels show
        metric = getattr(worker, _ATTRIBUTES[spec.name])
        child = metric.labels(*(["x"] * len(spec.labels))) if spec.labels else metric
        if spec.kind == "counter":
            child.inc()
        elif spec.kind == "gauge":
            child.set(1)
        else:
            child.observe(1)
    gap = GapEvent(
        exchange="binance",
        symbol="BTC-USDT",
        channel="book",
        cause="reconnect",
        timestamp=at(T0_MS),
    )
    for record in (
        Binance().parse(trade_frame(1, T0_MS), at(T0_MS))[0],
        gap,
        gap.model_copy(update={"resynced": True}),
        DeadLetter.of(b"x", source="ingest:binance", reason="x", at=at(T0_MS)),
    ):
        await feed.router.publish(record)
    text = prom.generate_latest(registry).decode()
    families = {
        f.name: f for f in text_string_to_metric_families(text) if f.name.startswith("marketprism_")
    }
    exported = {(_queried(f.name, f.type), f.type) for f in families.values()}
    assert exported == {(spec.name, spec.kind) for spec in METRICS}
    for spec in METRICS:
        family = families[spec.name.removesuffix("_total")]
        assert family.documentation == spec.help
        assert family.samples, spec.name
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == set(spec.labels), sample
    assert len({spec.name for spec in METRICS}) == len(INGEST_METRICS) + len(WORKER_METRICS)


def _queried(family: str, kind: str) -> str:
    return f"{family}_total" if kind == "counter" else family


#: The WorkerMetrics attribute of each worker metric (what the agents and sinks use).
_ATTRIBUTES = {
    "marketprism_worker_trades_processed_total": "trades_processed",
    "marketprism_worker_event_lag_seconds": "event_lag",
    "marketprism_worker_windows_emitted_total": "windows_emitted",
    "marketprism_worker_late_events_total": "late_events",
    "marketprism_worker_table_keys": "table_keys",
    "marketprism_worker_alerts_total": "alerts",
    "marketprism_worker_dead_letters_total": "dead_letters",
    "marketprism_worker_recovering": "recovering",
    "marketprism_sink_rows_written_total": "sink_rows",
    "marketprism_sink_files_written_total": "sink_files",
    "marketprism_sink_bytes_written_total": "sink_bytes",
    "marketprism_sink_last_commit_timestamp_seconds": "sink_last_commit",
    "marketprism_sink_write_failures_total": "sink_write_failures",
}
