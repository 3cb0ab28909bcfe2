"""``marketprism query``, ``ohlcv``, ``compact`` and ``views-sql``: the archive from the shell.

The archive root is ``--root`` or the ``parquet.root`` setting. Queries run in
an in-memory DuckDB locked down to the views over that root
(:class:`sinks.query.PriceStore`): a single SELECT, no other file, no network.
Heavy imports (DuckDB, Arrow) happen when a command runs, not when the
``marketprism`` parser is built.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.result_format import FORMATS, write_result
from sinks.exceptions import SinkError


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", help="one SELECT over the views (trades, tickers, ...); - = stdin")
    _output_arguments(parser)


def add_ohlcv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("symbol", help="canonical symbol, e.g. BTC-USDT")
    parser.add_argument(
        "--from",
        dest="start",
        required=True,
        type=timestamp,
        metavar="TIME",
        help="first bar, ISO 8601 (UTC)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        required=True,
        type=timestamp,
        metavar="TIME",
        help="end (exclusive), ISO 8601 (UTC)",
    )
    parser.add_argument("--interval", default="1m", type=interval, help="bar length: 1s, 5m, 1h")
    parser.add_argument("--exchange", help="one venue only (default: a bar set per venue)")
    _output_arguments(parser)


def add_compact_arguments(parser: argparse.ArgumentParser) -> None:
    _root_argument(parser)
    parser.add_argument(
        "--grace-seconds",
        type=_non_negative,
        default=1800.0,
        help="compact hours that ended at least this long ago (default 1800)",
    )
    parser.add_argument(
        "--retention-days",
        type=_positive_int,
        help="delete hours older than this (default: the parquet.retention_days setting; "
        "unset keeps everything)",
    )
    parser.add_argument(
        "--temp-max-age-seconds",
        type=_non_negative,
        default=3600.0,
        help="remove temporary files left by crashed writers after this age (default 3600)",
    )


def add_views_arguments(parser: argparse.ArgumentParser) -> None:
    _root_argument(parser)
    parser.add_argument(
        "-o", "--output", help="where to write the script (default <root>/views.sql; - = stdout)"
    )


def run_query(args: argparse.Namespace) -> int:
    from sinks.query import PriceStore

    sql = sys.stdin.read() if args.sql == "-" else args.sql
    with PriceStore(archive_root(args.root)) as store:
        result = store.table(sql)
    write_result(result, args.format, sys.stdout)
    return 0


def run_ohlcv(args: argparse.Namespace) -> int:
    from sinks.query import PriceStore

    if args.end <= args.start:
        raise SinkError(f"--to ({args.end.isoformat()}) must be after --from")
    with PriceStore(archive_root(args.root)) as store:
        bars = store.ohlcv_table(args.symbol, args.start, args.end, args.interval, args.exchange)
    write_result(bars, args.format, sys.stdout)
    return 0


def run_compact(args: argparse.Namespace) -> int:
    from app.settings import load_settings
    from sinks.maintenance import maintain

    settings = load_settings()
    root = archive_root(args.root, settings.parquet.root)
    days = args.retention_days or settings.parquet.retention_days
    report = maintain(
        root,
        now=datetime.now(UTC),
        grace=timedelta(seconds=args.grace_seconds),
        retention=None if days is None else timedelta(days=days),
        temp_max_age=timedelta(seconds=args.temp_max_age_seconds),
    )
    summary = {"root": str(root), "retention_days": days, **vars(report)}
    print(json.dumps(summary, indent=2))
    return 0


def run_views(args: argparse.Namespace) -> int:
    from sinks.views import views_sql, write_views_file

    root = archive_root(args.root)
    if args.output == "-":
        sys.stdout.write(views_sql(root))
    else:
        print(write_views_file(root, Path(args.output) if args.output else None))
    return 0


def archive_root(option: str | None, configured: Path | None = None) -> Path:
    """``--root``, else ``configured``, else the ``parquet.root`` setting; it must exist."""
    if option is not None:
        root = Path(option)
    elif configured is not None:
        root = configured
    else:
        from app.settings import load_settings

        root = load_settings().parquet.root
    if not root.is_dir():
        raise SinkError(f"no Parquet archive at {root} (use --root or MARKETPRISM_PARQUET__ROOT)")
    return root


def timestamp(text: str) -> datetime:
    """ISO 8601; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def interval(text: str) -> str:
    from sinks.query import parse_interval

    try:
        parse_interval(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def _output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=FORMATS, default="table", help="aligned table, CSV or JSON lines"
    )
    _root_argument(parser)


def _root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", help="archive root (default: the parquet.root setting)")


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number >= 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 1")
    return value
