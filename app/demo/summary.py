"""The demo's closing summary: what each stage moved, and two queries over the archive.

Every number comes from where an operator would look: the processes' last
``/metrics`` scrape, the alert topic, the Parquet files written during the run
(their footers' row counts) and DuckDB over the archive's views.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path

import pyarrow.parquet as pq

from app.demo.market import ScriptedMove
from app.demo.scrape import Scrape
from app.demo.watch import describe_alert
from app.result_format import write_result
from models import PriceAlert
from sinks.query import PriceStore
from sinks.schemas import SPECS

#: Trades of this run per market, the widest ranges first.
MARKETS_SQL = """
SELECT exchange, symbol, count(*) AS trades,
       round(sum(price::DOUBLE * quantity::DOUBLE) / sum(quantity::DOUBLE), 6) AS vwap,
       min(price) AS low, max(price) AS high,
       round(100 * (max(price) - min(price))::DOUBLE / min(price)::DOUBLE, 2) AS range_pct
FROM trades
WHERE date >= $day AND timestamp >= $start
GROUP BY ALL
ORDER BY range_pct DESC, exchange, symbol
LIMIT 12
""".strip()


@dataclass
class Stage:
    name: str
    moved: bool
    detail: str


@dataclass
class ArchiveCounts:
    files: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)


def archive_counts(root: Path, since: datetime) -> ArchiveCounts:
    """Parquet files completed under ``root`` since ``since``, and their rows, per data type."""
    counts = ArchiveCounts()
    cutoff = since.timestamp()
    for spec in SPECS.values():
        for path in (root / spec.directory).glob("**/*.parquet"):
            try:
                if path.stat().st_mtime < cutoff:
                    continue
                rows = pq.read_metadata(path).num_rows
            except (OSError, ValueError):  # compacted away meanwhile, or not Parquet
                continue
            counts.files[spec.directory] += 1
            counts.rows[spec.directory] += rows
    return counts


def _table(store: PriceStore, sql: str, params: dict[str, object]) -> str:
    out = StringIO()
    write_result(store.table(sql, params), "table", out)
    return out.getvalue().rstrip()


def archive_queries(
    root: Path, since: datetime, start: datetime, moves: list[ScriptedMove]
) -> list[str]:
    """The two queries' titles, SQL and answers, ready to print: trades since ``since``
    (a replayed recording ends when the run starts), bars of the first move's symbol."""
    if not (root / "trades").is_dir():
        return ["(no trades in the archive: nothing to query)"]
    lines: list[str] = []
    with PriceStore(root) as store:
        params: dict[str, object] = {"day": since.date(), "start": since}
        lines += ["Query 1: trades of this run per market, widest price range first", MARKETS_SQL]
        lines += [_table(store, MARKETS_SQL, params), ""]
        symbol = moves[0].symbol if moves else "BTC-USDT"
        lines.append(f"Query 2: PriceStore.ohlcv({symbol!r}, interval='10s', exchange='okx')")
        frame = store.ohlcv_table(symbol, start, start + timedelta(hours=1), "10s", exchange="okx")
        out = StringIO()
        write_result(frame, "table", out)
        lines.append(out.getvalue().rstrip())
    return lines


def stages(
    ingest: Scrape | None,
    worker: Scrape | None,
    alerts: list[PriceAlert],
    archive: ArchiveCounts,
    moves: list[ScriptedMove],
) -> list[Stage]:
    messages = ingest.total("marketprism_ingest_messages_total") if ingest else 0.0
    records = ingest.total("marketprism_ingest_records_total") if ingest else 0.0
    trades = worker.total("marketprism_worker_trades_processed_total") if worker else 0.0
    windows = worker.total("marketprism_worker_windows_emitted_total") if worker else 0.0
    firing = [a for a in alerts if a.status == "firing"]
    result = [
        Stage(
            "exchanges -> ingest -> Kafka",
            messages > 0 and records > 0,
            f"{messages:,.0f} messages -> {records:,.0f} records",
        ),
        Stage(
            "Kafka -> windows",
            trades > 0 and windows > 0,
            f"{trades:,.0f} trades -> {windows:,.0f} window results",
        ),
    ]
    if moves:
        result.append(
            Stage(
                "windows -> detector -> alerts",
                bool(firing),
                f"{len(firing)} alerts fired for {len(moves)} scripted moves",
            )
        )
    else:
        result.append(
            Stage("windows -> detector -> alerts", True, "no scripted move was due (short run)")
        )
    result.append(
        Stage(
            "Kafka -> Parquet",
            archive.rows["trades"] > 0,
            f"{sum(archive.files.values())} files, {sum(archive.rows.values()):,} rows",
        )
    )
    return result


def render(
    *,
    ingest: Scrape | None,
    worker: Scrape | None,
    alerts: list[PriceAlert],
    archive: ArchiveCounts,
    queries: list[str],
    result: list[Stage],
    moves: list[ScriptedMove],
    root: Path,
) -> str:
    lines = ["", "=" * 78, "MarketPrism demo summary", "=" * 78]
    if ingest is not None:
        per_exchange = ingest.by("marketprism_ingest_messages_total", "exchange")
        per_type = ingest.by("marketprism_ingest_records_total", "data_type")
        lines.append("Messages per exchange: " + _join(per_exchange))
        lines.append("Records per type:      " + _join(per_type))
        dead = ingest.total("marketprism_ingest_dead_letters_total")
        gaps = ingest.total("marketprism_ingest_gaps_total")
        reconnects = ingest.total("marketprism_ingest_reconnects_total")
        backfilled = ingest.total("marketprism_ingest_trades_backfilled_total")
        lines.append(
            f"Dead letters {dead:,.0f}, gaps {gaps:,.0f}, reconnects {reconnects:,.0f}, "
            f"trades backfilled over REST {backfilled:,.0f}"
        )
    if worker is not None:
        windows = worker.by("marketprism_worker_windows_emitted_total", "kind")
        lines.append("Windows emitted:       " + _join(windows))
        late = worker.total("marketprism_worker_late_events_total")
        lines.append(f"Late trades (dead-lettered): {late:,.0f}")
    lines.append("Scripted moves: " + (", ".join(_move(m) for m in moves) or "none"))
    lines.append(f"Alerts ({len(alerts)} records):")
    lines += [f"  {describe_alert(a)}" for a in alerts] or ["  none"]
    lines.append(f"Parquet under {root}:")
    for name in sorted(archive.files):
        lines.append(f"  {name:<14} {archive.files[name]:>4} files {archive.rows[name]:>10,} rows")
    lines += ["", *queries, "", "Stages:"]
    for stage in result:
        lines.append(f"  [{'ok' if stage.moved else 'NO DATA'}] {stage.name}: {stage.detail}")
    return "\n".join(lines)


def _join(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:,.0f}" for k, v in sorted(values.items()) if v) or "none"


def _move(move: ScriptedMove) -> str:
    return f"{move.symbol} {move.kind} {move.pct:g}% at {move.at:.0f}s"
