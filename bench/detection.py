"""Detection quality harness: recall, precision, false alerts and delay on synthetic
markets with anomalies of known size and time, and the known crashes of real history.

**Synthetic markets.** Each symbol's mid price comes from the exchange
simulator's :class:`~ingest.simulator.price_path.PricePath` (geometric Brownian
motion with mean-reverting stochastic volatility and a turbulent regime of
triple volatility: one-minute returns have a kurtosis of about 20), calibrated
so that its realized volatility is the symbol's (BTC 50 %, ETH 65 %, alts
80-100 % a year); the simulator's scripted
:class:`~ingest.simulator.price_path.Anomaly` injects the moves. Trades arrive
as a Poisson stream (1-4 a second: most 1 s buckets hold one), at the ask or
the bid around the mid, rounded to the simulator's tick size.

An anomaly's size is in standard deviations of one-minute log returns,
measured on the anomaly-free path (same seed) over the hour before it, so a
"6 sd jump" means the same in a calm and in a turbulent hour. Each symbol
gets one anomaly every ``--spacing`` seconds (jittered by a sixth) after a
calm hour: jumps of 3-12 sd up or down and crashes of 6 and 10 sd spread
over 30 s, in shuffled turns. Every symbol runs through the backtest core
(the worker's window and detector code, the code's default thresholds or
the ``--`` tuning options of ``marketprism backtest``) in parallel processes,
and :func:`agents.detection.quality.score` scores the alerts: the target is
the recall of jumps of at least 6 sd within 60 s, and false alerts per
symbol-day of the time outside the anomalies' 10 min attribution spans.

**History.** ``../shared/data/history/BTC_USDT-1h.feather`` (found from this
file's location, or ``MARKETPRISM_SHARED_DATA``) through the backtest with the
``hourly`` preset; each crash date listed in its README is checked for an
alert of a downward move on that UTC day. Skipped, with the reason in the
report, when the data is absent.

Prints one JSON object; the defaults (8 symbols x 24 h, 2 processes) take
about a minute. Run: ``python bench/detection.py [--symbols 8] [--hours 24]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ingest.py would shadow the ingest package

from agents.detection.backtest import Backtest  # noqa: E402
from agents.detection.engine import DetectionEngine  # noqa: E402
from agents.detection.quality import (  # noqa: E402
    Injected,
    alert_direction,
    listed_crashes,
    score,
    score_events,
)
from agents.detection.tuning import PRESETS, Tuning  # noqa: E402
from app.backtest import add_tuning_arguments, tuning_from_args  # noqa: E402
from app.backtest_sources import SourceOptions, bar_arrivals  # noqa: E402
from ingest.simulator.instruments import InstrumentSpec  # noqa: E402
from ingest.simulator.price_path import Anomaly, PricePath  # noqa: E402
from models.alert import AlertStatus, PriceAlert  # noqa: E402
from tables.tick import SECOND_US, Tick  # noqa: E402

T0_US = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z


#: Realized volatility of a PricePath / its ``volatility`` parameter (the calm level):
#: stochastic volatility and the turbulent regime double it (measured: 0.98 annualized
#: for 0.5 over six one-day paths; one-minute returns have a kurtosis of about 20).
SIM_VOLATILITY_RATIO = 2.0


@dataclass(frozen=True, slots=True)
class SymbolProfile:
    symbol: str
    volatility: float  #: realized, annualized (what the symbol's history shows)
    trades_per_second: float
    half_spread_bps: float


PROFILES = (
    SymbolProfile("BTC-USDT", 0.5, 4.0, 0.2),
    SymbolProfile("ETH-USDT", 0.65, 3.0, 0.3),
    SymbolProfile("SOL-USDT", 0.9, 2.0, 0.5),
    SymbolProfile("XRP-USDT", 0.8, 1.5, 1.0),
    SymbolProfile("DOGE-USDT", 1.0, 1.5, 1.0),
    SymbolProfile("LINK-USDT", 0.9, 1.0, 1.0),
    SymbolProfile("AVAX-USDT", 1.0, 1.0, 1.0),
    SymbolProfile("ADA-USDT", 0.85, 1.0, 1.5),
)
CRASH_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Scenario:
    hours: float = 24.0
    seed: int = 7
    spacing: float = 1800.0  #: seconds between a symbol's anomalies (jittered by a sixth)
    warmup: float = 3600.0  #: calm seconds before the first anomaly
    jump_sigmas: tuple[float, ...] = (3.0, 4.0, 5.0, 6.0, 8.0, 12.0)
    crash_sigmas: tuple[float, ...] = (6.0, 10.0)  #: crashes fall over CRASH_SECONDS


def schedule(scenario: Scenario, rng: random.Random) -> list[tuple[float, str, float]]:
    """(market second, kind, signed size in sd) for one symbol: every size in turn,
    shuffled, each up or down (crashes always fall)."""
    sizes = [("jump", s) for s in scenario.jump_sigmas]
    sizes += [("crash", s) for s in scenario.crash_sigmas]
    out: list[tuple[float, str, float]] = []
    deck: list[tuple[str, float]] = []
    at, end = scenario.warmup, scenario.hours * 3600 - scenario.spacing / 2
    while sizes and at < end:
        if not deck:
            deck = sizes[:]
            rng.shuffle(deck)
        kind, size = deck.pop()
        up = kind == "jump" and rng.random() < 0.5
        out.append((at, kind, size if up else -size))
        at += scenario.spacing * (1 + rng.uniform(-1 / 6, 1 / 6))
    return out


def _path_mids(
    profile: SymbolProfile, times: np.ndarray, seed: int, anomalies: Sequence[Anomaly]
) -> np.ndarray:
    """The simulator's mid at each time (same seed: same path, anomalies added)."""
    spec = InstrumentSpec.for_symbol(profile.symbol)
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation
    calm = profile.volatility / SIM_VOLATILITY_RATIO
    path = PricePath(spec.start_price, rng, volatility=calm, anomalies=anomalies)
    advance = path.advance
    return np.fromiter((advance(float(t)) for t in times), float, len(times))


def _minute_sd(minute_mids: np.ndarray, at: float) -> float:
    """sd of one-minute log returns over the hour before ``at`` (at least 30 minutes)."""
    end = int(at // 60)
    window = np.log(minute_mids[max(0, end - 60) : end + 1])
    return float(np.std(np.diff(window), ddof=1))


def generate(
    profile: SymbolProfile, exchange: str, scenario: Scenario, seed: int
) -> tuple[list[tuple[str, Tick]], list[Injected]]:
    """One symbol's trades in arrival order and its injected anomalies."""
    flow = np.random.default_rng(seed)
    seconds = scenario.hours * 3600
    n = int(seconds * profile.trades_per_second * 1.1) + 100
    trade_times = np.cumsum(flow.exponential(1 / profile.trades_per_second, n))
    trade_times = trade_times[trade_times < seconds]
    minutes = np.arange(0.0, seconds + 1, 60.0)
    times = np.concatenate([trade_times, minutes])
    order = np.argsort(times, kind="stable")
    is_minute = order >= len(trade_times)
    minute_mids = _path_mids(profile, times[order], seed, ())[is_minute]
    key = f"{exchange}:{profile.symbol}"
    anomalies, injected = [], []
    for at, kind, sigmas in schedule(scenario, random.Random(seed + 1)):  # noqa: S311
        pct = 100 * math.expm1(sigmas * _minute_sd(minute_mids, at))
        if kind == "crash":
            anomalies.append(Anomaly(at, profile.symbol, "crash", abs(pct), CRASH_SECONDS))
        else:
            anomalies.append(Anomaly(at, profile.symbol, "jump", pct))
        injected.append(Injected(key, T0_US + round(at * SECOND_US), kind, sigmas, pct))
    mids = _path_mids(profile, times[order], seed, anomalies)[~is_minute]
    spec = InstrumentSpec.for_symbol(profile.symbol)
    buys = flow.random(len(mids)) < 0.5
    half = profile.half_spread_bps / 1e4
    prices = mids * np.where(buys, 1 + half, 1 - half)
    quantities = flow.lognormal(0.0, 1.0, len(mids)) * 500 / spec.start_price
    ticks = []
    decimals = spec.price_decimals
    for t, price, quantity, buy in zip(trade_times, prices, quantities, buys, strict=True):
        p = Decimal(f"{price:.{decimals}f}")
        q = Decimal(f"{quantity:.6g}")
        ticks.append((key, Tick(T0_US + int(t * SECOND_US), p, q, p * q, bool(buy))))
    return ticks, injected


def run_symbol(
    job: tuple[SymbolProfile, str, Scenario, int, Tuning],
) -> tuple[list[PriceAlert], list[Injected], int, int]:
    """One symbol's market through the backtest: (alerts, injected, span us, trades)."""
    profile, exchange, scenario, seed, tuning = job
    ticks, injected = generate(profile, exchange, scenario, seed)
    plan, config = tuning.build()
    backtest = Backtest(plan, DetectionEngine(config))
    alerts: list[PriceAlert] = []
    for i in range(0, len(ticks), 2000):
        alerts.extend(backtest.add(ticks[i : i + 2000]))
    alerts.extend(backtest.finish())
    span = ticks[-1][1].ts_us - ticks[0][1].ts_us if ticks else 0
    return alerts, injected, span, len(ticks)


@dataclass
class SyntheticRun:
    alerts: list[PriceAlert]
    injected: list[Injected]
    spans: dict[str, int]  #: observed event time per symbol
    trades: int


def run_synthetic(scenario: Scenario, symbols: int, workers: int, tuning: Tuning) -> SyntheticRun:
    """``symbols`` markets (the profiles in turn; a second round on ``sim1``...)."""
    jobs = [
        (PROFILES[i % len(PROFILES)], f"sim{i // len(PROFILES) or ''}", scenario, seed, tuning)
        for i, seed in enumerate(range(scenario.seed * 1000, scenario.seed * 1000 + symbols))
    ]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(run_symbol, jobs))
    else:
        results = [run_symbol(job) for job in jobs]
    return SyntheticRun(
        alerts=[alert for result in results for alert in result[0]],
        injected=[anomaly for result in results for anomaly in result[1]],
        spans={f"{job[1]}:{job[0].symbol}": res[2] for job, res in zip(jobs, results, strict=True)},
        trades=sum(result[3] for result in results),
    )


def synthetic(scenario: Scenario, symbols: int, workers: int, tuning: Tuning) -> dict[str, object]:
    run = run_synthetic(scenario, symbols, workers, tuning)
    firing = [a for a in run.alerts if a.status is AlertStatus.FIRING]
    return {
        "symbols": sorted(run.spans),
        "hours_per_symbol": scenario.hours,
        "seed": scenario.seed,
        "trades": run.trades,
        **score(run.injected, run.alerts, run.spans),
        "firing_by_severity": dict(sorted(Counter(a.severity.value for a in firing).items())),
    }


def history_file() -> Path:
    """``../shared/data`` beside the checkout (or ``MARKETPRISM_SHARED_DATA``)."""
    shared = os.environ.get("MARKETPRISM_SHARED_DATA", ROOT.parent / "shared" / "data")
    return Path(shared) / "history" / "BTC_USDT-1h.feather"


def history(path: Path | None = None) -> dict[str, object]:
    """The hourly history through the backtest (``hourly`` preset): which of the
    crashes listed in its README raise an alert of a downward move on their day."""
    path = path or history_file()
    readme = path.parent / "README.md"
    if not path.is_file() or not readme.is_file():
        return {"skipped": f"{path} or its README not found (no ../shared/data here)"}
    tuning = PRESETS["hourly"]
    plan, config = tuning.build()
    backtest = Backtest(plan, DetectionEngine(config))
    alerts: list[PriceAlert] = []
    for _, event in bar_arrivals(path, SourceOptions(exchange="binance")):
        alerts.extend(backtest.push(event))
    alerts.extend(backtest.finish())
    crashes = score_events(listed_crashes(readme.read_text(encoding="utf-8")), alerts)
    summary = backtest.summary
    years = (summary.last_us or 0) - (summary.first_us or 0)
    firing = [a for a in alerts if a.status is AlertStatus.FIRING]
    directions = Counter({1: "up", -1: "down", 0: "unknown"}[alert_direction(a)] for a in firing)
    return {
        "file": str(path),
        "preset": "hourly",
        "bars": summary.views,
        "gaps": summary.gaps,
        "crashes_listed": len(crashes),
        "crashes_fired": sum(bool(c["fired"]) for c in crashes.values()),
        "crashes": crashes,
        "firing_alerts": len(firing),
        "firing_per_year": round(len(firing) / (years / (365.25 * 86400 * SECOND_US)), 1),
        "firing_by_direction": dict(sorted(directions.items())),
        "firing_by_severity": dict(sorted(Counter(a.severity.value for a in firing).items())),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=8, help="synthetic markets (default 8)")
    parser.add_argument("--hours", type=float, default=24.0, help="of 1 s trades per market")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spacing", type=float, default=1800.0, help="s between anomalies")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--no-history", action="store_true", help="skip the hourly history")
    add_tuning_arguments(parser)
    args = parser.parse_args(argv)
    tuning = tuning_from_args(args)
    scenario = Scenario(hours=args.hours, seed=args.seed, spacing=args.spacing)
    started = time.monotonic()
    report: dict[str, object] = {
        "bench": "detection",
        "tuning": tuning.as_dict() or "defaults",
        "synthetic": synthetic(scenario, args.symbols, args.workers, tuning),
    }
    report["synthetic_seconds"] = round(time.monotonic() - started, 1)
    if args.no_history:
        report["history"] = {"skipped": "--no-history"}
    else:
        report["history"] = history()
    report["elapsed_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
