"""The ``marketprism`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from models.exceptions import ConfigError, MarketPrismError

if TYPE_CHECKING:
    from app.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KAFKA_SCRIPT = PROJECT_ROOT / "scripts" / "kafka"


def _cmd_kafka(args: argparse.Namespace) -> int:
    if not KAFKA_SCRIPT.exists():
        raise MarketPrismError(
            f"{KAFKA_SCRIPT} not found: run MarketPrism from its checkout (pip install -e .)"
        )
    argv = [str(KAFKA_SCRIPT), args.action, *args.script_args]
    sys.stdout.flush()
    os.execv(argv[0], argv)  # noqa: S606 - our own script, fixed path


def _cmd_config(args: argparse.Namespace) -> int:
    from app.settings import env_reference, load_settings

    settings = load_settings()
    if args.env:
        for name, value in env_reference(settings):
            print(f"{name}={value}")
    else:
        print(settings.model_dump_json(indent=2))
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from app.schema_export import topic_schemas, write_schemas
    from app.settings import load_settings

    settings = load_settings()
    if args.out:
        for path in write_schemas(settings, Path(args.out)):
            print(path)
    else:
        print(json.dumps(topic_schemas(settings), indent=2, sort_keys=True))
    return 0


def faust_loglevel(level: str) -> str:
    """Our log level as Faust's CLI spells it (it knows WARN and CRIT, not WARNING)."""
    return {"WARNING": "warn", "CRITICAL": "crit"}.get(level.upper(), level.lower())


def worker_argv(settings: Settings, faust_args: list[str]) -> list[str]:
    """Faust's ``worker`` command line for ``settings`` (its own options win): our log
    level, and no web server when ``web.enabled`` is false."""
    extra = list(faust_args)
    if not any(arg.startswith(("-l", "--loglevel")) for arg in extra):
        extra = ["--loglevel", faust_loglevel(settings.log.level), *extra]
    if not settings.web.enabled and not any(arg.endswith("-web") for arg in extra):
        extra.append("--without-web")
    return ["marketprism worker", "worker", *extra]


def _cmd_worker(args: argparse.Namespace) -> int:
    from app.main import build

    pipeline = build()
    sys.argv = worker_argv(pipeline.settings, args.faust_args)
    pipeline.app.main()
    return 0


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [item.strip() for item in value.split(",") if item.strip()]


def _cmd_ingest(args: argparse.Namespace) -> int:
    import asyncio

    from app.ingest_main import run_ingest
    from app.logging_setup import configure_logging
    from app.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log)
    return asyncio.run(
        run_ingest(
            settings,
            to_stdout=args.to_stdout,
            exchanges=_csv(args.exchange),
            symbols=_csv(args.symbols),
            channels=_csv(args.channels),
            replay=[Path(path) for path in args.replay or ()],
            duration=args.duration,
            rebase=args.rebase,
        )
    )


def _cmd_simulate(args: argparse.Namespace) -> int:
    import asyncio

    from ingest.simulator.cli import run

    code: int = asyncio.run(run(args))
    return code


def _cmd_backtest(args: argparse.Namespace) -> int:
    from app.backtest import run

    return run(args)


def _cmd_query(args: argparse.Namespace) -> int:
    from app.query_cli import run_query

    return run_query(args)


def _cmd_ohlcv(args: argparse.Namespace) -> int:
    from app.query_cli import run_ohlcv

    return run_ohlcv(args)


def _cmd_compact(args: argparse.Namespace) -> int:
    from app.query_cli import run_compact

    return run_compact(args)


def _cmd_views_sql(args: argparse.Namespace) -> int:
    from app.query_cli import run_views

    return run_views(args)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


def _cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import DemoOptions, run_demo

    options = DemoOptions(
        duration=args.duration,
        live=args.live,
        rate=args.rate,
        seed=args.seed,
        log_dir=Path(args.log_dir),
        replay=Path(args.replay) if args.replay else None,
        no_replay=args.no_replay,
        keep_runs=args.keep_runs,
        drain_timeout=args.drain_timeout,
    )
    return run_demo(options)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marketprism",
        description="Crypto market data: exchanges -> Kafka -> Faust windows -> alerts -> Parquet",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    kafka = sub.add_parser("kafka", help="run the local Apache Kafka broker (scripts/kafka)")
    kafka.add_argument("action", choices=["start", "stop", "status", "logs"])
    kafka.add_argument("script_args", nargs=argparse.REMAINDER, help="e.g. --port 9092")
    kafka.set_defaults(func=_cmd_kafka)

    config = sub.add_parser("config", help="print the effective configuration as JSON")
    config.add_argument(
        "--env", action="store_true", help="one MARKETPRISM_... variable per line instead"
    )
    config.set_defaults(func=_cmd_config)

    schema = sub.add_parser("schema", help="JSON Schema of every public topic")
    schema.add_argument("--out", help="write one <topic>.schema.json per topic into this dir")
    schema.set_defaults(func=_cmd_schema)

    worker = sub.add_parser("worker", help="start a Faust worker (extra args go to Faust)")
    worker.add_argument("faust_args", nargs=argparse.REMAINDER)
    worker.set_defaults(func=_cmd_worker)

    ingest = sub.add_parser(
        "ingest",
        help="collect exchange data into Kafka (live, the simulator, or --replay FILE)",
        description="Connect to the exchanges (live URLs unless MARKETPRISM_EXCHANGES__<NAME>"
        "__WS_URL/REST_URL point elsewhere, e.g. at `marketprism simulate`), normalize, and "
        "produce to Kafka; or replay recorded sessions through the same parsers.",
    )
    ingest.add_argument("--exchange", help="venue(s), comma-separated (default: every enabled one)")
    ingest.add_argument("--symbols", help="canonical symbols, e.g. BTC-USDT,ETH-USDT")
    ingest.add_argument("--channels", help="trades,ticker,book,funding,open_interest,liquidations")
    ingest.add_argument(
        "--replay",
        action="append",
        metavar="FILE",
        help="feed a recorded session (cryptofeed or hftbacktest format, gzipped or not) "
        "instead of connecting; may be repeated",
    )
    ingest.add_argument(
        "--rebase",
        action="store_true",
        help="with --replay: move every time so the recording ends now (replayed behind "
        "live data instead of years late)",
    )
    ingest.add_argument(
        "--to-stdout",
        action="store_true",
        help="print the normalized records as JSON lines instead of producing (no broker)",
    )
    ingest.add_argument("--duration", type=float, help="stop after this many seconds (live)")
    ingest.set_defaults(func=_cmd_ingest)

    simulate = sub.add_parser(
        "simulate",
        help="run the local exchange simulator (each venue's real protocol on 127.0.0.1)",
    )
    _simulator_arguments(simulate)
    simulate.set_defaults(func=_cmd_simulate)

    backtest = sub.add_parser(
        "backtest",
        help="windows + detectors over recorded sessions, a trades CSV or hourly bars (no broker)",
        description="Runs the same parsers, windows and detectors as the workers over files, in "
        "event time; prints alerts as JSON lines on stdout and a summary on stderr.",
    )
    _backtest_arguments(backtest)
    backtest.set_defaults(func=_cmd_backtest)

    _archive_commands(sub)

    demo = sub.add_parser(
        "demo",
        help="run the whole pipeline on the exchange simulator, then print a summary",
        description="Starts Kafka (if none answers), a worker, the exchange simulator "
        "(12 symbols, scripted moves) and ingest; shows progress and alerts while it runs; "
        "stops what it started and prints a summary with two DuckDB queries. Exit 0 only "
        "if every stage moved data.",
    )
    demo.add_argument("--duration", type=_positive, default=120.0, help="seconds to run")
    demo.add_argument(
        "--live", action="store_true", help="ingest from the real exchanges, no simulator"
    )
    demo.add_argument("--rate", type=_positive, default=100.0, help="simulated steps a second")
    demo.add_argument("--seed", type=int, default=7, help="the simulated market's seed")
    demo.add_argument(
        "--replay",
        metavar="FILE",
        help="a Binance BTCUSDT recording replayed first, rebased to end now (default: the "
        "shared hftbacktest recording when it is beside the project)",
    )
    demo.add_argument("--no-replay", action="store_true", help="no recording, synthetic only")
    demo.add_argument(
        "--log-dir", default="var/demo", help="the processes' logs (default: %(default)s)"
    )
    demo.add_argument(
        "--keep-runs",
        type=_at_least_one,
        default=3,
        help="run archives (LOG_DIR/parquet-<run>) kept, this run's included; older ones "
        "are deleted at the start (default: %(default)s)",
    )
    demo.add_argument(
        "--drain-timeout",
        type=_positive,
        metavar="SECONDS",
        help="longest wait for the worker to archive what is left in Kafka at the end "
        "(default: as long as what is left keeps falling)",
    )
    demo.set_defaults(func=_cmd_demo)
    return parser


def _archive_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from app import query_cli

    query = sub.add_parser(
        "query",
        help="SQL over the Parquet archive (DuckDB views: trades, tickers, books, ...)",
        description="Runs one SELECT in an in-memory DuckDB that can read the archive's "
        "Parquet files and nothing else; prints an aligned table, CSV or JSON lines.",
    )
    query_cli.add_query_arguments(query)
    query.set_defaults(func=_cmd_query)

    ohlcv = sub.add_parser("ohlcv", help="OHLCV bars of one symbol from the archive")
    query_cli.add_ohlcv_arguments(ohlcv)
    ohlcv.set_defaults(func=_cmd_ohlcv)

    compact = sub.add_parser(
        "compact",
        help="compact closed hours, apply retention, remove stale temporary files",
        description="Merges each closed hour's small files into one (duplicates removed), "
        "deletes hours older than the retention, removes temporary files of crashed "
        "writers; prints a JSON summary. Safe while workers write and readers query.",
    )
    query_cli.add_compact_arguments(compact)
    compact.set_defaults(func=_cmd_compact)

    views = sub.add_parser(
        "views-sql", help="write the SQL that defines the archive's views for the duckdb client"
    )
    query_cli.add_views_arguments(views)
    views.set_defaults(func=_cmd_views_sql)


def _backtest_arguments(parser: argparse.ArgumentParser) -> None:
    from app.backtest import add_arguments

    add_arguments(parser)


def _simulator_arguments(parser: argparse.ArgumentParser) -> None:
    from ingest.simulator.cli import add_arguments

    add_arguments(parser)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConfigError as exc:
        print(f"marketprism: {exc}", file=sys.stderr)
        return 2
    except MarketPrismError as exc:
        print(f"marketprism: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `marketprism ingest --to-stdout | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
