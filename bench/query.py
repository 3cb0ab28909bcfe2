"""Archive queries: DuckDB with and without hive partition pruning, on an archive the sink wrote.

**The archive.** ``--trades`` synthetic trades (default 50 million) spread
evenly over ``--markets`` exchange/symbol pairs (default 4) and ``--days`` UTC
days (default 3): a random walk in ticks, sizes from a log-normal pool,
Poisson-like arrival times. Each market is one Kafka partition of the trades
topic's four (two markets share one beyond four); ``--workers`` processes
(default 2, like two Faust workers) each own some partitions and feed their
trades in event-time order through :class:`sinks.parquet_writer.ParquetWriter`
with the configured roll policy (the ``MARKETPRISM_PARQUET__ROLL_*`` defaults:
200 000 rows, 64 MiB or 60 s) on an event-time clock, calling ``flush_due()``
every simulated second as a worker does every second. So each symbol-hour gets
about 60 files, as in a live run before compaction. The write rate counts the
time spent inside the writer only (Arrow conversion, Parquet encoding, fsync,
rename); making the records is timed apart. ``rows_per_s`` is the sum over
the workers of their rows over their seconds inside the writer (the workers
run on separate cores).

**The queries**, each ``--repeats`` times (median), files read from DuckDB's
profile (``EXPLAIN ANALYZE``):

* ``count_symbol_hour``: ``count(*)`` of one market's trades in one hour;
* ``ohlcv_1m_symbol_day``: one-minute bars of one market over one UTC day, the
  SQL of ``PriceStore.ohlcv`` (:func:`sinks.query.ohlcv_sql`).

``pruned`` runs them on the ``trades`` view (hive partitions: filters on
exchange, symbol, date and hour open only the matching directories);
``unpruned`` on a view of the same files read without hive partitioning,
filtered on the stored exchange, symbol and timestamp columns (every file is
opened, row groups are still skipped by their statistics). Both must give the
same result. Then ``sinks.compaction.compact`` merges every hour (timed) and
the four queries run again on the compacted archive (``--no-compact`` skips).
Each query reports its median seconds, the files DuckDB read, the target's
trades and those trades per second; ``speedup`` is unpruned over pruned time.

Prints one JSON document. Run: ``python bench/query.py [--trades N] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ingest.py would shadow the ingest package

from app.settings import ParquetSettings  # noqa: E402
from models import InstrumentType, Side, Trade  # noqa: E402
from models.numbers import exact_product  # noqa: E402
from sinks.base import RollPolicy  # noqa: E402
from sinks.compaction import compact  # noqa: E402
from sinks.layout import glob_pattern  # noqa: E402
from sinks.parquet_writer import ParquetWriter  # noqa: E402
from sinks.query import ohlcv_sql, range_params  # noqa: E402
from sinks.schemas import SPECS  # noqa: E402
from sinks.views import views_sql  # noqa: E402

START = datetime(2024, 8, 5, tzinfo=UTC)
HOUR_US = 3_600_000_000
PARTITIONS = 4  #: the trades topic's default partition count
TRADES = SPECS["trades"]


@dataclass(frozen=True)
class Market:
    exchange: str
    symbol: str
    native_symbol: str
    price: float
    tick: str
    size: float  #: median trade size


MARKETS = (
    Market("binance", "BTC-USDT", "BTCUSDT", 60_000.0, "0.01", 0.01),
    Market("binance", "ETH-USDT", "ETHUSDT", 2_600.0, "0.01", 0.2),
    Market("okx", "BTC-USDT", "BTC-USDT", 60_000.0, "0.1", 0.01),
    Market("okx", "SOL-USDT", "SOL-USDT", 150.0, "0.01", 4.0),
    Market("binance", "SOL-USDT", "SOLUSDT", 150.0, "0.01", 4.0),
    Market("binance", "XRP-USDT", "XRPUSDT", 0.55, "0.0001", 800.0),
    Market("okx", "ETH-USDT", "ETH-USDT", 2_600.0, "0.01", 0.2),
    Market("binance", "DOGE-USDT", "DOGEUSDT", 0.11, "0.00001", 3000.0),
)


class MarketStream:
    """One market's trades, hour by hour: a tick random walk, sizes from a fixed pool."""

    def __init__(self, market: Market, seed: int) -> None:
        self.market = market
        self.rng = np.random.default_rng(seed)
        self.tick = Decimal(market.tick)
        self.ticks = round(market.price / float(self.tick))
        self.step = max(1.0, market.price * 2e-5 / float(self.tick))  # ticks per trade, 1 sd
        sizes = market.size * self.rng.lognormal(0.0, 1.0, 256)
        self.sizes = [Decimal(f"{max(size, 1e-4):.4f}") for size in sizes]
        self.prices: dict[int, Decimal] = {}
        self.next_id = 1
        self.template = Trade(
            exchange=market.exchange,
            symbol=market.symbol,
            native_symbol=market.native_symbol,
            instrument_type=InstrumentType.SPOT,
            timestamp=START,
            collected_at=START,
            trade_id="0",
            price=Decimal(market.tick),
            quantity=self.sizes[0],
            side=Side.BUY,
            sequence=0,
        )

    def hour(self, start: datetime, count: int) -> tuple[np.ndarray, list[Trade]]:
        """``count`` trades in the hour from ``start``: (microsecond offsets, trades), in order."""
        rng = self.rng
        offsets = np.sort(rng.integers(0, HOUR_US, count))
        walk = self.ticks + np.cumsum(np.rint(rng.normal(0.0, self.step, count)).astype(np.int64))
        walk = np.maximum(walk, 1)
        if count:
            self.ticks = int(walk[-1])
        sells = rng.random(count) < 0.5
        size_index = rng.integers(0, len(self.sizes), count)
        latency = rng.integers(1_000, 20_000, count)
        trades = []
        for i in range(count):
            ticks = int(walk[i])
            price = self.prices.get(ticks)
            if price is None:
                price = self.prices[ticks] = Decimal(ticks) * self.tick
            size = self.sizes[size_index[i]]
            at = start + timedelta(microseconds=int(offsets[i]))
            sell = bool(sells[i])
            trades.append(
                self.template.model_copy(
                    update={
                        "timestamp": at,
                        "collected_at": at + timedelta(microseconds=int(latency[i])),
                        "trade_id": str(self.next_id),
                        "sequence": self.next_id,
                        "price": price,
                        "quantity": size,
                        "quote_quantity": exact_product(price, size),
                        "side": Side.SELL if sell else Side.BUY,
                        "is_buyer_maker": sell,
                    }
                )
            )
            self.next_id += 1
        return offsets, trades


@dataclass(frozen=True)
class Job:
    root: Path
    markets: tuple[int, ...]  #: indexes into MARKETS
    counts: tuple[tuple[int, ...], ...]  #: trades per hour, one row per market
    seed: int
    policy: RollPolicy


def write_worker(job: Job) -> dict[str, float]:
    """Feed the job's markets through one ParquetWriter, hour by hour, in event time."""
    streams = [MarketStream(MARKETS[i], job.seed * 1000 + i) for i in job.markets]
    partitions = [i % PARTITIONS for i in job.markets]
    next_offset = dict.fromkeys(partitions, 0)
    clock = [0.0]
    writer = ParquetWriter(job.root, TRADES, job.policy, clock=lambda: clock[0])
    generate = write = 0.0
    for hour in range(len(job.counts[0])):
        began = time.perf_counter()
        hour_start = START + timedelta(hours=hour)
        parts = [
            stream.hour(hour_start, counts[hour])
            for stream, counts in zip(streams, job.counts, strict=True)
        ]
        when = np.concatenate([offsets for offsets, _ in parts])
        which = np.concatenate([np.full(len(offsets), n) for n, (offsets, _) in enumerate(parts)])
        order = np.argsort(when, kind="stable")
        records: list[Trade] = []
        positions: list[tuple[int, int, int]] = []  #: (second, partition, offset)
        cursors = [0] * len(parts)
        for k in order.tolist():
            n = int(which[k])
            records.append(parts[n][1][cursors[n]])
            cursors[n] += 1
            partition = partitions[n]
            positions.append(
                (hour * 3600 + int(when[k]) // 1_000_000, partition, next_offset[partition])
            )
            next_offset[partition] += 1
        middle = time.perf_counter()
        second = -1
        for record, (at, partition, offset) in zip(records, positions, strict=True):
            if at != second:
                second = at
                clock[0] = float(at)
                writer.flush_due()
            writer.add(record, partition, offset)
        generate += middle - began
        write += time.perf_counter() - middle
    began = time.perf_counter()
    writer.flush()
    write += time.perf_counter() - began
    return {
        "rows": writer.rows_written,
        "files": writer.files_written,
        "writer_seconds": write,
        "generate_seconds": generate,
    }


def build(
    root: Path, trades: int, markets: int, days: int, workers: int, seed: int
) -> dict[str, Any]:
    hours = days * 24
    base, extra = divmod(trades, markets * hours)
    cells = [
        [base + (1 if m * hours + h < extra else 0) for h in range(hours)] for m in range(markets)
    ]
    policy = RollPolicy.of(ParquetSettings())
    used = sorted({m % PARTITIONS for m in range(markets)})
    workers = max(1, min(workers, len(used)))
    jobs = []
    for w in range(workers):
        owned = tuple(m for m in range(markets) if used.index(m % PARTITIONS) % workers == w)
        jobs.append(Job(root, owned, tuple(tuple(cells[m]) for m in owned), seed, policy))
    began = time.perf_counter()
    if workers == 1:
        stats = [write_worker(jobs[0])]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            stats = list(pool.map(write_worker, jobs))
    wall = time.perf_counter() - began
    rows = sum(int(s["rows"]) for s in stats)
    rates = [s["rows"] / s["writer_seconds"] for s in stats]
    return {
        "rows": rows,
        "files": sum(int(s["files"]) for s in stats),
        "workers": workers,
        "rows_per_s": round(sum(rates)),
        "rows_per_s_per_worker": [round(rate) for rate in rates],
        "writer_seconds": [round(s["writer_seconds"], 2) for s in stats],
        "generate_seconds": [round(s["generate_seconds"], 2) for s in stats],
        "wall_seconds": round(wall, 2),
        "roll": {"rows": policy.rows, "bytes": policy.bytes, "seconds": policy.seconds},
    }


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    """The views PriceStore uses, plus ``trades_flat``: the same files without hive partitions."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(views_sql(root))
    pattern = glob_pattern(root.resolve(), TRADES).replace("'", "''")
    source = f"read_parquet('{pattern}', hive_partitioning = false)"
    con.execute(f"CREATE VIEW trades_flat AS SELECT * FROM {source}")  # noqa: S608 - quoted path
    return con


COUNT_PRUNED = """
    SELECT count(*) AS trades FROM trades
    WHERE exchange = $exchange AND symbol = $symbol AND date = $day AND hour = $hour
"""
COUNT_UNPRUNED = """
    SELECT count(*) AS trades FROM trades_flat
    WHERE exchange = $exchange AND symbol = $symbol AND timestamp >= $start AND timestamp < $end
"""


def queries(
    market: Market, hour: datetime, day: datetime
) -> dict[str, dict[str, tuple[str, dict[str, Any]]]]:
    """name -> {"pruned"|"unpruned": (sql, params)}."""
    count = {"exchange": market.exchange, "symbol": market.symbol}
    bars = range_params(market.symbol, day, day + timedelta(days=1), market.exchange)
    bars["step"] = 60 * 1_000_000
    flat_bars = ohlcv_sql("trades_flat", prune_hours=False)
    return {
        "count_symbol_hour": {
            "pruned": (COUNT_PRUNED, {**count, "day": hour.date(), "hour": hour.hour}),
            "unpruned": (
                COUNT_UNPRUNED,
                {**count, "start": hour, "end": hour + timedelta(hours=1)},
            ),
        },
        "ohlcv_1m_symbol_day": {
            "pruned": (ohlcv_sql(), bars),
            "unpruned": (flat_bars, {k: v for k, v in bars.items() if f"${k}" in flat_bars}),
        },
    }


def files_read(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> int:
    profile = "\n".join(
        str(row[1]) for row in con.execute(f"EXPLAIN ANALYZE {sql}", params).fetchall()
    )
    return sum(int(n) for n in re.findall(r"Total Files Read: (\d+)", profile))


def time_queries(
    root: Path, market: Market, hour: datetime, day: datetime, repeats: int
) -> dict[str, Any]:
    con = connect(root)
    report: dict[str, Any] = {}
    try:
        for name, variants in queries(market, hour, day).items():
            entry: dict[str, Any] = {}
            results = {}
            for variant, (sql, params) in variants.items():
                seconds = []
                for _ in range(repeats):
                    began = time.perf_counter()
                    table = con.sql(sql, params=params).to_arrow_table()
                    seconds.append(time.perf_counter() - began)
                results[variant] = table.to_pylist()
                rows = int(sum(row["trades"] for row in results[variant]))
                median = statistics.median(seconds)
                entry[variant] = {
                    "seconds": round(median, 5),
                    "files_read": files_read(con, sql, params),
                    "rows": rows,
                    "rows_per_s": round(rows / median),
                }
            entry["same_result"] = results["pruned"] == results["unpruned"]
            entry["speedup"] = round(entry["unpruned"]["seconds"] / entry["pruned"]["seconds"], 1)
            report[name] = entry
        report["files_total"] = files_read(con, "SELECT count(*) FROM trades_flat", {})
    finally:
        con.close()
    return report


def duckdb_threads() -> int:
    con = duckdb.connect(":memory:")
    try:
        row = con.execute("SELECT current_setting('threads')").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def run_compaction(root: Path, days: int) -> dict[str, Any]:
    began = time.perf_counter()
    results = compact(root, now=START + timedelta(days=days, hours=1), grace=timedelta(0))
    seconds = time.perf_counter() - began
    rows = sum(r.rows_in for r in results)
    return {
        "hours": len(results),
        "files_in": sum(r.files_in for r in results),
        "rows_in": rows,
        "rows_out": sum(r.rows_out for r in results),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds) if seconds else None,
    }


def archive_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*.parquet"))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--trades", type=int, default=50_000_000, help="archive size (trades)")
    parser.add_argument("--markets", type=int, default=4, choices=range(1, len(MARKETS) + 1))
    parser.add_argument("--days", type=int, default=3, help="UTC days the trades span")
    parser.add_argument("--workers", type=int, default=2, help="writer processes")
    parser.add_argument("--repeats", type=int, default=5, help="runs per query (median)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="build the archive here and keep it (empty dir)")
    parser.add_argument("--no-compact", action="store_true", help="skip compaction")
    args = parser.parse_args(argv)
    if args.trades < args.markets * args.days * 24:
        parser.error("--trades must give every market at least one trade an hour")
    if args.days < 1 or args.workers < 1 or args.repeats < 1:
        parser.error("--days, --workers and --repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.dir or Path(tempfile.mkdtemp(prefix="marketprism-bench-query-"))
    if args.dir is not None:
        if root.exists() and any(root.iterdir()):
            print(f"{root} is not empty", file=sys.stderr)
            return 2
        root.mkdir(parents=True, exist_ok=True)
    try:
        write = build(root, args.trades, args.markets, args.days, args.workers, args.seed)
        market = MARKETS[0]
        day = START + timedelta(days=args.days // 2)
        hour = day + timedelta(hours=12)
        report: dict[str, Any] = {
            "bench": "query",
            "archive": {
                "trades": write["rows"],
                "markets": [f"{m.exchange}:{m.symbol}" for m in MARKETS[: args.markets]],
                "days": args.days,
                "files": write["files"],
                "bytes": archive_bytes(root),
                "bytes_per_trade": round(archive_bytes(root) / write["rows"], 2),
            },
            "write": write,
            "target": {
                "market": f"{market.exchange}:{market.symbol}",
                "hour": hour.isoformat(),
                "day": day.date().isoformat(),
            },
            "repeats": args.repeats,
            "duckdb": {"version": duckdb.__version__, "threads": duckdb_threads()},
            "small_files": time_queries(root, market, hour, day, args.repeats),
        }
        if not args.no_compact:
            report["compaction"] = run_compaction(root, args.days)
            report["compaction"]["bytes_after"] = archive_bytes(root)
            report["compacted"] = time_queries(root, market, hour, day, args.repeats)
        print(json.dumps(report, indent=2))
        same = [
            entry["same_result"]
            for key in ("small_files", "compacted")
            for name, entry in report.get(key, {}).items()
            if name != "files_total"
        ]
        return 0 if all(same) else 1
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
