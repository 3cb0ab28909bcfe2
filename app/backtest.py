"""``marketprism backtest FILE...``: history through the worker's windows and detectors.

Recorded sessions (both formats of ``../shared/data``, gzipped or not), trades
CSVs and OHLCV bars (:mod:`app.backtest_sources`, :mod:`tables.history`) go
through the same parsers, :class:`~tables.pipeline.WindowPipeline` and
:class:`~agents.detection.engine.DetectionEngine` as the worker, in event
time, with no broker. Alerts go to stdout as JSON lines (the alert topic's
records), a JSON summary to stderr. Thresholds come from the settings, then a
preset (``hourly`` for bar files), then the options given here::

    marketprism backtest ../shared/data/binance-hft/spot_btcusdt_2024080*.gz
    marketprism backtest trades.csv --jump-sigmas 10 --firing-only
    marketprism backtest ../shared/data/history/BTC_USDT-1h.feather --exchange binance
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import BinaryIO

from agents.detection.backtest import Backtest
from agents.detection.engine import DetectionEngine
from agents.detection.tuning import PRESETS, Tuning
from app.backtest_sources import FORMATS, SourceOptions, arrivals, detect_format, merged
from models.alert import AlertStatus, PriceAlert
from models.codec import encode

#: Help for each :class:`Tuning` field (one ``--option`` each, e.g. ``--jump-sigmas``).
TUNING_HELP = {
    "bucket_seconds": "smallest tumbling window: the detectors' step (default 1)",
    "view_seconds": "the detectors' sliding view (default 300)",
    "grace_seconds": "lateness allowed before a trade counts as late (default 5)",
    "regime_half_life_seconds": "half-life of the volatility regime (default 1800)",
    "regime_sample_seconds": "the regime's return horizon (default 30: past the bid-ask bounce)",
    "z_score": "z-score threshold (robust: 1.25x)",
    "price_change_pct": "majors' cap on the change thresholds, %% (other classes scale it)",
    "ma_deviation_pct": "majors' cap on the moving-average threshold, %%",
    "volume_spike_ratio": "volume spike threshold (corroborates only)",
    "min_samples": "non-empty buckets in the view before judging",
    "cooldown_seconds": "no second alert the same way this soon after one resolved",
    "window_change_sigmas": "change over the view, in sd of the regime's move (default 6)",
    "short_change_sigmas": "change over --short-seconds, in sd (default 6)",
    "ma_sigmas": "moving-average deviation, in sd (default 6)",
    "jump_sigmas": "one-bucket jump, in sd (default 13)",
    "short_seconds": "horizon of the short change (default 30)",
    "short_change_efficiency": "how one-way the short change must be (default 3.5)",
    "volume_seconds": "horizon of the volume spike (default 10)",
    "sma_short_seconds": "short SMA (default 30)",
    "ewma_fast_half_life_seconds": "fast EWMA half-life (default 10)",
    "ewma_slow_half_life_seconds": "slow EWMA half-life (default 120)",
    "resolve_after_seconds": "quiet time before an alert resolves (default 30)",
    "update_every_seconds": "updates of an active alert at most this often, 0: on rises only",
    "gap_quiet_seconds": "alerts after a data gap are flagged or suppressed this long",
    "daily_budget": "alerts per symbol and UTC day before only critical ones fire",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="inputs, merged")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="auto: bars for .feather and OHLC CSVs, trades for other CSVs, else a recording",
    )
    parser.add_argument(
        "--exchange",
        help="recordings: force the venue (as ingest --replay); CSV and bars: the exchange id "
        "of their trades (overrides a CSV's exchange column; bars default to 'history')",
    )
    parser.add_argument("--symbol", help="bars: the canonical symbol (default: from the name)")
    parser.add_argument("--bar-seconds", type=float, help="bars: the bar size (default: inferred)")
    parser.add_argument(
        "--bar-close-only", action="store_true", help="bars: one trade of the close per bar"
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="tuning preset (default: hourly when every input is bars, else seconds)",
    )
    parser.add_argument(
        "--firing-only", action="store_true", help="print firing alerts only (no updates)"
    )
    add_tuning_arguments(parser)


def add_tuning_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--option`` per :class:`Tuning` field (also used by ``bench/detection.py``)."""
    tuning = parser.add_argument_group("tuning (overrides the settings and the preset)")
    for field in fields(Tuning):
        kind = int if field.name in ("min_samples", "daily_budget") else float
        tuning.add_argument(
            f"--{field.name.replace('_', '-')}",
            type=kind,
            dest=field.name,
            metavar="N",
            help=TUNING_HELP.get(field.name),
        )


def tuning_from_args(args: argparse.Namespace) -> Tuning:
    """The overrides given on the command line (``None`` elsewhere)."""
    return Tuning(**{f.name: getattr(args, f.name, None) for f in fields(Tuning)})


def effective_tuning(args: argparse.Namespace, base: Tuning) -> Tuning:
    """``base`` (the settings), then the preset, then the command line."""
    preset = args.preset
    if preset is None:
        every_bar = all(detect_format(path) == "bars" for path in args.files if path.is_file())
        bars = args.format == "bars" or (args.format == "auto" and every_bar)
        preset = "hourly" if bars else "seconds"
    return base.override(PRESETS[preset]).override(tuning_from_args(args))


def run(args: argparse.Namespace) -> int:
    from app.settings import load_settings
    from tables.pipeline import WindowPlan

    settings = load_settings()
    tuning = effective_tuning(args, Tuning.from_settings(settings.windows, settings.detector))
    plan, config = tuning.build(WindowPlan.from_settings(settings.windows))
    options = SourceOptions(
        exchange=args.exchange,
        symbol=args.symbol,
        bar_seconds=args.bar_seconds,
        close_only=args.bar_close_only,
        feed=settings.ingest,
    )
    backtest = Backtest(plan, DetectionEngine(config))
    started = time.monotonic()
    asyncio.run(_feed(backtest, args, options, sys.stdout.buffer))
    elapsed = time.monotonic() - started
    report = {
        "files": [str(path) for path in args.files],
        "tuning": tuning.as_dict(),
        **backtest.summary.to_dict(),
        "elapsed_seconds": round(elapsed, 2),
    }
    print(json.dumps(report, indent=2), file=sys.stderr)
    return 0


async def _feed(
    backtest: Backtest, args: argparse.Namespace, options: SourceOptions, out: BinaryIO
) -> None:
    sources = [arrivals(path, args.format, options) for path in args.files]

    def emit(alerts: list[PriceAlert]) -> None:
        for alert in alerts:
            if not args.firing_only or alert.status is AlertStatus.FIRING:
                out.write(encode(alert) + b"\n")

    async for _, event in merged(sources):
        emit(backtest.push(event))
    emit(backtest.finish())
    out.flush()
