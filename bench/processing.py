"""Stream processing: our windows/detector worker vs a naive Faust agent, on a real broker.

**Input.** ``--trades`` synthetic trades (default 400 000) over ``--symbols``
keys (default 100: 60 on binance, 40 of the same assets on okx), pre-loaded
into a fresh trades topic of ``--partitions`` partitions (default 4, unique
topic prefix per run), keyed ``exchange:symbol`` (murmur2, as any producer
places them), Kafka timestamp = event time, zstd batches as ingest writes
them. Every value is a real :class:`~models.Trade` encoded by our codec.
Arrivals are a Poisson process of ``--rate`` trades per second of event time
(default 4 000) split over the symbols by Zipf-like weights (the busiest
about 20 times the quietest); prices follow one random walk per asset (both
venues trade it), with 5 % jumps of three assets at 60 % of the run. So 1 s
and 1 min windows close, hopping windows close, the detectors run on every
closed 1 s bucket and alerts fire; and as event time passes 2.5 times faster
per trade than in a live stream of 10 000 trades/s, the windows and detectors
do 2.5 times the work per trade they would do live.

**Ours.** The worker of :func:`app.main.build` (the real ``windows`` agent,
the default windows and detectors, the RocksDB ``windows`` table and its
changelog, analytics and alerts produced; Parquet sinks off: they are
another issue's agents), started in this process. **Naive.** Then, in the
same process and run, a plain Faust agent over the same topic, written the
way Faust's docs write one: ``async for trade in stream`` (records decoded
by our codec) and one write per event into a RocksDB tumbling 1 s table (with
its changelog) holding the same OHLCV + moments state our 1 s window holds.
It does much less than ours (one window size, no detectors, no output
records), so its rate is an upper bound for a per-event design.

Each side's rate is trades over the span from the start of its first batch
(event) to the end of the one that completes all ``--trades``; startup and
rebalancing are outside the span. ``events_per_cpu_s`` divides by the CPU
time of this process over the same span instead (all its threads): less
sensitive to what else runs on the machine. ``committed_after_s`` is when the
consumer group's committed offsets reached the end of every partition (Faust
commits every 2.8 s). The broker shares the machine unless ``--bootstrap``
points elsewhere.

**Memory.** In a process of its own, a :class:`WindowProcessor` with
``--memory-symbols`` keys (default 1 000) is fed 330 s of event time with a
trade every second of every key: full 5 min detector views, open 1 s and
1 min windows, the hopping steps, regimes and alert states. Reported per
1 000 symbols: its RSS growth (``/proc``) and the bytes of its table (keys
and values, what RocksDB and the changelog hold).

Prints one JSON object. Run: ``python bench/processing.py [--bootstrap HOST:PORT]``
(default ``127.0.0.1:9092``; when no broker answers there, one is started with
``scripts/kafka`` on a free port in a temporary directory and stopped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ParamSpec

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ingest.py would shadow the ingest package

import faust  # noqa: E402
import orjson  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from aiokafka.partitioner import DefaultPartitioner  # noqa: E402

from agents.detection.engine import DetectionEngine  # noqa: E402
from agents.detection.tuning import Tuning  # noqa: E402
from agents.processing import TradeEntry, WindowProcessor  # noqa: E402
from agents.window_state import parse_table_key  # noqa: E402
from app.faust_app import create_app, rocksdb_table_options  # noqa: E402
from app.main import build  # noqa: E402
from app.settings import Settings, load_settings  # noqa: E402
from app.topics import define_topics, ensure_topics, topic_name, topic_partitions  # noqa: E402
from models import InstrumentType, Side, Trade  # noqa: E402
from models.codec import encode  # noqa: E402
from tables.clock import ManualClock  # noqa: E402
from tables.pipeline import WindowPlan  # noqa: E402
from tables.tick import SECOND_US, Tick, from_epoch_us  # noqa: E402
from tables.trade_window import TradeWindowAccumulator  # noqa: E402

P = ParamSpec("P")
KAFKA_SCRIPT = ROOT / "scripts" / "kafka"
TARGET_EVENTS_PER_S = 10_000
JUMPS = {0: 0.05, 7: -0.05, 23: 0.05}  #: asset index -> relative jump at 60 % of the run
RUN_TIMEOUT_S = 900.0

# -- the market -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Market:
    exchange: str
    symbol: str
    asset: int  #: index of the asset's price path
    weight: float  #: share of the trades

    @property
    def key(self) -> str:
        return f"{self.exchange}:{self.symbol}"


def markets(count: int) -> list[Market]:
    """``count`` keys: 60 % of them on binance, the rest the same assets on okx."""
    on_binance = max(1, round(count * 0.6))
    names = ["BTC", "ETH", *(f"C{n:03d}" for n in range(2, on_binance))]
    raw = [1.0 / (n + 1) ** 0.65 for n in range(count)]
    total = sum(raw)
    out = []
    for n in range(count):
        asset = n if n < on_binance else n - on_binance
        exchange = "binance" if n < on_binance else "okx"
        out.append(Market(exchange, f"{names[asset]}-USDT", asset, raw[n] / total))
    return out


@dataclass
class TradeTape:
    """Every trade of the run as columns, in arrival order (what the producer sends)."""

    markets: list[Market]
    times_us: np.ndarray[Any, np.dtype[np.int64]]
    market: np.ndarray[Any, np.dtype[np.int64]]
    prices: list[str]
    quantities: list[str]
    buys: np.ndarray[Any, np.dtype[np.bool_]]

    def __len__(self) -> int:
        return len(self.times_us)

    def trade(self, n: int) -> Trade:
        at = from_epoch_us(int(self.times_us[n]))
        key = self.markets[int(self.market[n])].key
        return make_trade(key, at, self.prices[n], self.quantities[n], bool(self.buys[n]), n)


def make_trade(key: str, at: datetime, price: str, quantity: str, buy: bool, n: int) -> Trade:
    """The ``n``-th trade of the run (a spot trade received 20 ms after it happened)."""
    exchange, _, symbol = key.partition(":")
    return Trade(
        exchange=exchange,
        symbol=symbol,
        native_symbol=symbol.replace("-", ""),
        instrument_type=InstrumentType.SPOT,
        timestamp=at,
        collected_at=at + timedelta(milliseconds=20),
        trade_id=str(n + 1),
        price=Decimal(price),
        quantity=Decimal(quantity),
        side=Side.BUY if buy else Side.SELL,
        sequence=n + 1,
    )


def synthetic_tape(count: int, symbols: int, rate: float, seed: int, end_us: int) -> TradeTape:
    """``count`` trades at ``rate`` per event-time second, the last one near ``end_us``."""
    rng = np.random.default_rng(seed)
    keys = markets(symbols)
    gaps = rng.exponential(1.0 / rate, count)
    offsets_s = np.cumsum(gaps)
    start_us = end_us - int(offsets_s[-1] * SECOND_US)
    times_us = start_us + (offsets_s * SECOND_US).astype(np.int64)
    chosen = rng.choice(len(keys), size=count, p=[m.weight for m in keys])
    assets = max(m.asset for m in keys) + 1
    grid_s = 0.05  # one price path per asset, sampled every 50 ms
    steps = int(offsets_s[-1] / grid_s) + 2
    walks = rng.normal(0.0, 2e-4 * np.sqrt(grid_s), (assets, steps))
    jump_step = int(steps * 0.6)
    for asset, size in JUMPS.items():
        if asset < assets:
            walks[asset, jump_step] += np.log1p(size)
    start_prices = 10.0 ** rng.uniform(-1, 4.8, assets)
    paths = start_prices[:, None] * np.exp(np.cumsum(walks, axis=1))
    asset_of = np.array([m.asset for m in keys])[chosen]
    grid = (offsets_s / grid_s).astype(np.int64)
    raw = paths[asset_of, grid] * (1 + rng.normal(0.0, 2e-5, count))
    decimals = np.clip(5 - np.floor(np.log10(start_prices)), 1, 8).astype(int)[asset_of]
    prices = [f"{p:.{d}f}" for p, d in zip(raw.tolist(), decimals.tolist(), strict=True)]
    sizes = rng.lognormal(-1.0, 1.2, count) * 1000.0 / paths[asset_of, grid]
    quantities = [f"{max(q, 1e-6):.6f}" for q in sizes.tolist()]
    return TradeTape(keys, times_us, chosen, prices, quantities, rng.random(count) < 0.5)


async def preload(bootstrap: str, topic: str, partitions: int, tape: TradeTape) -> list[int]:
    """Produce the tape in arrival order; the count of trades per partition."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, compression_type="zstd", max_batch_size=256 * 1024
    )
    await producer.start()
    counts = [0] * partitions
    try:
        partitioner = DefaultPartitioner()
        all_partitions = list(range(partitions))
        placed = {
            m.key: partitioner(m.key.encode(), all_partitions, all_partitions) for m in tape.markets
        }
        batches = [producer.create_batch() for _ in all_partitions]
        sent: list[Awaitable[Any]] = []
        for n in range(len(tape)):
            trade = tape.trade(n)
            key, partition = trade.key, placed[trade.key]
            stamp = int(tape.times_us[n]) // 1000
            batch = batches[partition]
            if batch.append(key=key.encode(), value=encode(trade), timestamp=stamp) is None:
                sent.append(await producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = producer.create_batch()
                batch.append(key=key.encode(), value=encode(trade), timestamp=stamp)
            counts[partition] += 1
        for partition, batch in enumerate(batches):
            if batch.record_count():
                sent.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return counts


# -- measuring a Faust app ------------------------------------------------------------


@dataclass
class Span:
    """Wall time from the start of the first unit of work to the end of the last."""

    first: float | None = None
    last: float | None = None
    first_cpu: float = 0.0
    last_cpu: float = 0.0

    def begin(self) -> None:
        if self.first is None:
            self.first, self.first_cpu = time.perf_counter(), time.process_time()

    def end(self) -> None:
        self.last, self.last_cpu = time.perf_counter(), time.process_time()

    def wrap(self, work: Callable[P, Awaitable[None]]) -> Callable[P, Coroutine[Any, Any, None]]:
        async def timed(*args: P.args, **kwargs: P.kwargs) -> None:
            self.begin()
            await work(*args, **kwargs)
            self.end()

        return timed

    @property
    def cpu_seconds(self) -> float:
        return self.last_cpu - self.first_cpu

    @property
    def seconds(self) -> float:
        if self.first is None or self.last is None:
            raise RuntimeError("nothing was processed")
        return self.last - self.first


@dataclass
class Result:
    events: int
    seconds: float
    cpu_seconds: float
    committed_after_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "events_per_s": round(self.events / self.seconds),
            "events_per_cpu_s": round(self.events / self.cpu_seconds),
            "seconds": round(self.seconds, 2),
            "committed_after_s": round(self.committed_after_s, 2),
            **self.extra,
        }


async def committed_all(settings: Settings, topic: str, counts: list[int]) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.app_id)
    finally:
        await admin.close()
    done = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
    return all(done.get(p, 0) >= n for p, n in enumerate(counts))


async def run_app(
    app: faust.App,
    settings: Settings,
    counts: list[int],
    span: Span,
    processed: Callable[[], int],
) -> Result:
    """Start ``app``, wait until it processed every trade and committed, stop it."""
    topic = topic_name(settings.topics, "trades")
    total = sum(counts)
    await app.start()
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while processed() < total:
            if time.monotonic() > deadline or app.should_stop:
                raise TimeoutError(f"{app.conf.id}: {processed()} of {total} after the deadline")
            await asyncio.sleep(0.01)
        while not await committed_all(settings, topic, counts):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{app.conf.id}: offsets not committed")
            await asyncio.sleep(0.05)
        committed = time.perf_counter()
    finally:
        await app.stop()
    first = span.first if span.first is not None else committed
    return Result(processed(), span.seconds, span.cpu_seconds, committed - first)


async def run_ours(settings: Settings, counts: list[int]) -> Result:
    pipeline = build(settings)
    analytics = pipeline.analytics
    stats = analytics.processor.stats
    total = sum(counts)
    span = Span()
    done: dict[str, Any] = {}  #: what the batch that completed the run left

    async def on_trades(events: list[Any], *, inner: Any = analytics.on_trades) -> None:
        await inner(events)
        if not done and stats.trades + stats.replayed >= total:
            done.update(
                batches=analytics.batches,
                analytics_records=analytics.sent["analytics"],
                alerts=analytics.sent["alerts"],
                late_trades=stats.late,
                windows=dict(sorted(stats.windows.items())),
            )

    # the agent calls this attribute per batch: the span covers every batch
    analytics.on_trades = span.wrap(on_trades)  # type: ignore[method-assign]
    result = await run_app(
        pipeline.app, settings, counts, span, lambda: stats.trades + stats.replayed
    )
    # on the topics by the end: more once the idle timer closes the last windows
    done["analytics_on_topic"] = await topic_records(settings, "analytics")
    done["alerts_on_topic"] = await topic_records(settings, "alerts")
    result.extra = done
    return result


def install_naive(app: faust.App, settings: Settings, total: int, span: Span) -> list[int]:
    """The baseline: one write per event into a tumbling 1 s RocksDB table. Returns its
    count of processed events (the span ends at the ``total``-th)."""
    topics = define_topics(app, settings)
    accumulator = TradeWindowAccumulator()
    windows = app.Table(
        "naive-1s",
        default=bytes,
        key_type=str,  # json: the key is (key, window)
        value_type=bytes,  # raw
        partitions=settings.topics.partitions,
        options=rocksdb_table_options(settings),
    ).tumbling(1.0, expires=timedelta(minutes=5))
    processed = [0]

    @app.agent(topics.trades, name="naive")
    async def naive(stream: Any) -> None:
        async for trade in stream:
            if not processed[0]:
                span.begin()
            held = windows[trade.key].current()
            state = accumulator.from_row(orjson.loads(held)) if held else None
            state = accumulator.add(state or accumulator.initialize(), Tick.from_trade(trade))
            windows[trade.key] = orjson.dumps(accumulator.to_row(state))
            processed[0] += 1
            if processed[0] == total:
                span.end()

    return processed


async def run_naive(settings: Settings, counts: list[int]) -> Result:
    app = create_app(settings)
    span = Span()
    processed = install_naive(app, settings, sum(counts), span)
    result = await run_app(app, settings, counts, span, lambda: processed[0])
    result.extra = {"table_writes": processed[0]}
    return result


async def topic_records(settings: Settings, data_type: str) -> int:
    """Records on a topic (its end offsets: every topic of the run is new)."""
    topic = topic_name(settings.topics, data_type)
    partitions = topic_partitions(settings.topics, data_type)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    finally:
        await consumer.stop()
    return sum(ends.values())


# -- memory per symbol ----------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def state_memory(symbols: int, seconds: int = 330) -> dict[str, Any]:
    """RSS growth and table bytes of a processor holding ``symbols`` keys' full state
    (run in a process of its own, so the RSS it starts from is its own)."""
    settings = load_settings()
    plan, config = Tuning.from_settings(settings.windows, settings.detector).build(
        WindowPlan.from_settings(settings.windows)
    )
    keys = [m.key for m in markets(symbols)]
    start_us = 1_723_161_600 * SECOND_US
    rng = np.random.default_rng(3)
    walks = 100.0 * np.exp(np.cumsum(rng.normal(0, 2e-4, (seconds, symbols)), axis=0))
    processor = WindowProcessor(plan, DetectionEngine(config), clock=ManualClock(start_us))
    processor.restore_partition(0, [])
    # The table's keys of a sample of the symbols, with the bytes of key and value (a
    # dict of every key would be part of the RSS measured).
    sampled = set(keys[:: max(1, symbols // 100)])
    table: dict[str, int] = {}
    gc.collect()
    before = rss_bytes()
    offset = 0
    for second in range(seconds):
        entries = []
        for n, key in enumerate(keys):
            at = from_epoch_us(start_us + second * SECOND_US + n)
            trade = make_trade(key, at, f"{walks[second, n]:.4f}", "0.25", bool(n % 2), offset)
            entries.append(TradeEntry(key, offset, trade))
            offset += 1
        for table_key, value in processor.process(0, entries).writes.items():
            if value is None:
                table.pop(table_key, None)
            elif parse_table_key(table_key)[0] in sampled:
                table[table_key] = len(table_key) + len(value)
    gc.collect()
    rss = rss_bytes() - before
    table_bytes = sum(table.values()) * symbols / len(sampled)
    per_thousand = 1000 / symbols / 2**20
    return {
        "symbols": symbols,
        "event_seconds": seconds,
        "rss_mb_per_1000_symbols": round(rss * per_thousand, 1),
        "table_mb_per_1000_symbols": round(table_bytes * per_thousand, 1),
        "windows": dict(sorted(processor.stats.windows.items())),
    }


def memory_in_child(symbols: int) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--memory-only", "--memory-symbols", str(symbols)],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# -- the broker -----------------------------------------------------------------------


def answers(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def free_port_pair() -> int:
    """A port whose next port is free too (the broker's KRaft controller)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


def kafka_script(command: str, port: int, data_dir: str) -> None:
    args = [str(KAFKA_SCRIPT), command, "--port", str(port), "--data-dir", data_dir]
    subprocess.run(args, check=True, timeout=600, stdout=sys.stderr)  # noqa: S603


@contextmanager
def kafka(bootstrap: str) -> Iterator[tuple[str, bool]]:
    """``(bootstrap, started)``: the broker at ``bootstrap``, or one started for the run."""
    if answers(bootstrap):
        yield bootstrap, False
        return
    with tempfile.TemporaryDirectory(prefix="marketprism-bench-kafka-") as data_dir:
        port = free_port_pair()
        print(f"no broker at {bootstrap}: starting one on {port}", file=sys.stderr)
        kafka_script("start", port, data_dir)
        try:
            yield f"127.0.0.1:{port}", True
        finally:
            kafka_script("stop", port, data_dir)


# -- the run --------------------------------------------------------------------------


def bench_settings(
    bootstrap: str, prefix: str, partitions: int, store: Path, app_id: str
) -> Settings:
    return load_settings(
        app_id=app_id,
        kafka={"broker": f"kafka://{bootstrap}"},
        topics={"prefix": prefix, "partitions": partitions},
        store={"data_dir": store / app_id},
        web={"enabled": False},
        sinks={"enabled": False},
        parquet={"root": store / "parquet"},
        log={"level": "WARNING"},
    )


async def measure(args: argparse.Namespace, bootstrap: str, store: Path) -> dict[str, Any]:
    run = uuid.uuid4().hex[:10]
    prefix = f"bench-{run}."
    ours_settings = bench_settings(bootstrap, prefix, args.partitions, store, f"bench-ours-{run}")
    naive_settings = bench_settings(bootstrap, prefix, args.partitions, store, f"bench-naive-{run}")
    await ensure_topics(ours_settings)
    started = time.perf_counter()
    tape = synthetic_tape(
        args.trades, args.symbols, args.rate, args.seed, time.time_ns() // 1000 - 60 * SECOND_US
    )
    trades_topic = topic_name(ours_settings.topics, "trades")
    counts = await preload(bootstrap, trades_topic, args.partitions, tape)
    preload_s = time.perf_counter() - started
    event_seconds = (int(tape.times_us[-1]) - int(tape.times_us[0])) / SECOND_US
    del tape
    print(f"pre-loaded {sum(counts)} trades in {preload_s:.1f} s: {counts}", file=sys.stderr)
    ours = await run_ours(ours_settings, counts)
    print(f"ours: {ours.to_json()}", file=sys.stderr)
    naive = await run_naive(naive_settings, counts)
    print(f"naive: {naive.to_json()}", file=sys.stderr)
    ours_rate, naive_rate = ours.events / ours.seconds, naive.events / naive.seconds
    return {
        "trades": sum(counts),
        "symbols": args.symbols,
        "partitions": args.partitions,
        "per_partition": counts,
        "event_rate_per_s": args.rate,
        "event_seconds": round(event_seconds, 1),
        "preload_s": round(preload_s, 1),
        "ours": ours.to_json(),
        "naive": naive.to_json(),
        "ratio": round(ours_rate / naive_rate, 2),
        "ratio_cpu": round(ours.events / ours.cpu_seconds / (naive.events / naive.cpu_seconds), 2),
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "meets_target": ours_rate >= TARGET_EVENTS_PER_S,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="broker host:port")
    parser.add_argument("--trades", type=int, default=400_000)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rate", type=float, default=4_000.0, help="trades per event second")
    parser.add_argument(
        "--memory-symbols", type=int, default=1000, help="keys of the memory measure (0: skip)"
    )
    parser.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.trades < 1000 or args.symbols < 2 or args.partitions < 1 or args.rate <= 0:
        parser.error("need --trades >= 1000, --symbols >= 2, --partitions >= 1, --rate > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.memory_only:
        print(json.dumps(state_memory(args.memory_symbols)))
        return 0
    report: dict[str, Any] = {"bench": "processing"}
    with tempfile.TemporaryDirectory(prefix="marketprism-bench-processing-") as tmp:
        with kafka(args.bootstrap) as (bootstrap, started):
            report.update(asyncio.run(measure(args, bootstrap, Path(tmp))))
            report["broker"] = "started for the run" if started else bootstrap
    if args.memory_symbols:
        report["memory"] = memory_in_child(args.memory_symbols)
        report["rss_mb_per_1000_symbols"] = report["memory"]["rss_mb_per_1000_symbols"]
    report["python"] = platform.python_version()
    report["faust"] = faust.__version__
    report["cpus"] = os.cpu_count()
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
