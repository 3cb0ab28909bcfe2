"""End to end on one machine: simulator -> ingest -> Kafka -> worker -> Parquet, at stepped rates.

**The pipeline** is the demo's (:mod:`app.demo`): ``marketprism simulate`` (every venue's
real protocol), ``marketprism ingest`` against it and one ``marketprism worker`` (windows,
detectors, alerts, every Parquet sink; files roll every ``--roll-seconds``), each its own
process, on a broker started for the run (``scripts/kafka``, free port, temporary data dir)
unless ``--bootstrap`` names one. Topics, consumer group, RocksDB dir and Parquet root are
unique to the run. The market is the demo's 12 symbols plus 10 spot listings (26 keys).

**Ticks** are the WebSocket messages ingest receives (``marketprism_ingest_messages_total``).
The simulator's ``--rate`` is market steps a second; ticks/s = a + b * steps/s (a: the
per-second statistics of every symbol), so two calibration runs (200 and 1 000 steps/s)
fit a and b first. Each step of ``--rates`` (ticks/s) then starts a fresh simulator and
ingest (the worker keeps running, with its state), waits ``--settle`` s and measures
``--hold`` s: offered ticks/s, ingest records/s, trades/s through the windows agent,
analytics records/s, Parquet rows/s, event-time lag, the trades and Parquet backlogs and
every process's CPU (:mod:`bench.endtoend.sampling`, which defines *sustained*). The
ramp stops at the first step above the latency rate that is not sustained; the worker
and ingest are profiled there, or at the last step (:mod:`bench.endtoend.profiles`).
Result: the highest sustained offered ticks/s, against the 10 000 target.

**Alert latency** at ``--latency-rate`` (:mod:`bench.endtoend.latency`): that step moves
a different symbol by +10 % every ``--jump-every`` s (3.3: not whole seconds, so the moves
fall at every phase of a 1 s bucket); latency = broker append time of the key's first
alert minus the event time of the move's first trade. The detector judges *closed* 1 s
buckets, and a bucket closes when its partition's newest event is
``windows.grace_seconds`` (default 5 s) past its end: the latency is at least the rest
of the move's bucket plus the grace. So it is measured again on a fresh worker (own
topics and group, ``--warmup`` s of history for the detector) for each
``--latency-grace`` (``MARKETPRISM_WINDOWS__GRACE_SECONDS``; 0.5 and 0 by default, the
late trades they dead-letter reported). Target: p99 under 500 ms.

**The bare-Kafka limit** (:mod:`bench.endtoend.bare_kafka`): after the ramp's worker
stopped, an aiokafka consume -> produce loop copies the ramp's trades topic on the same
broker; our sustained ticks/s (and ingest records/s) as a fraction of its records/s.

Prints one JSON object (progress on stderr). The default run takes 12-15 minutes;
``--quick`` is a smoke run of every phase in about 2 minutes. Run:
``python bench/e2e.py [--quick] [--bootstrap HOST:PORT] [--rates 1000,2000,...] [--work-dir DIR]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ingest.py would shadow the ingest package

from bench.endtoend.bare_kafka import bare_limit  # noqa: E402
from bench.endtoend.latency import TARGET_P99_MS, jump_plan, measure_latency  # noqa: E402
from bench.endtoend.pipeline import (  # noqa: E402
    Deployment,
    Market,
    broker,
    deployment,
    log,
    move_order,
    start_market,
    start_worker,
)
from bench.endtoend.profiles import profile  # noqa: E402
from bench.endtoend.sampling import SAMPLE_SECONDS, Sample, Sampler, loadavg, summarize  # noqa: E402
from models.exceptions import MarketPrismError  # noqa: E402

TARGET_TICKS_PER_S = 10_000
CALIBRATION_STEPS_PER_S = (200.0, 1000.0)
JUMP_LEAD, JUMP_TAIL = 4.0, 6.0  #: s from the hold's start to the first move; last move to end
MIN_JUMPS = 3  #: a short hold is stretched to fit this many moves


@dataclass
class Plan:
    rates: list[float]
    hold: float
    settle: float
    warmup: float
    jump_every: float
    latency_rate: float
    latency_graces: list[float]
    profile_seconds: float
    bare_seconds: float
    bare_records: int
    roll: float
    seed: int
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Calibration:
    """Ticks/s = ``base`` + ``per_step`` * simulator steps/s."""

    base: float
    per_step: float

    def steps_per_s(self, ticks_per_s: float) -> float:
        return max(1.0, (ticks_per_s - self.base) / self.per_step)


class Bench:
    def __init__(self, plan: Plan, bootstrap: str, broker_pid: int | None, work: Path) -> None:
        self.plan = plan
        self.bootstrap = bootstrap
        self.work = work
        self.logs = work / "logs"
        self.sampler = Sampler(bootstrap, broker_pid)
        self.calibration = Calibration(0.0, 1.0)
        self.deployments: list[Deployment] = []
        self.markets: list[Market] = []

    # -- processes --------------------------------------------------------------------------

    def deploy(self, name: str, **extra: str) -> Deployment:
        env = {"MARKETPRISM_PARQUET__ROLL_SECONDS": f"{self.plan.roll:g}", **self.plan.extra_env}
        dep = deployment(name, self.bootstrap, self.work, {**env, **extra})
        self.deployments.append(dep)
        return dep

    async def market(self, dep: Deployment, steps: float, moves: list[str], tag: str) -> Market:
        market = await start_market(dep, steps, moves, self.plan.seed, self.logs, tag)
        self.markets.append(market)
        return market

    def stop_market(self, market: Market) -> None:
        market.stop()
        self.markets.remove(market)

    def stop_all(self) -> None:
        for market in list(self.markets):
            self.stop_market(market)
        for dep in self.deployments:
            if dep.worker is not None:
                dep.worker.stop(timeout=60)

    # -- measuring --------------------------------------------------------------------------

    async def hold(self, dep: Deployment, market: Market, seconds: float) -> list[Sample]:
        """Samples every few seconds for ``seconds``; a saturated worker may not answer a
        scrape in time, so a missed sample is skipped (the first and last are needed)."""
        samples = [await self.sampler.sample(dep, market)]
        end = samples[0].at + seconds
        while (left := end - time.monotonic()) > 0.2:
            await asyncio.sleep(min(SAMPLE_SECONDS, left))
            for child in (market.simulator, market.ingest, dep.worker):
                if child is not None:
                    child.check_running()
            try:
                samples.append(await self.sampler.sample(dep, market))
            except MarketPrismError as exc:
                log(f"{dep.name}: sample skipped: {exc}")
        if len(samples) < 2:
            raise MarketPrismError(f"{dep.name}: no sample after the first one")
        return samples

    async def ticks_per_s(self, dep: Deployment, steps: float) -> float:
        market = await self.market(dep, steps, [], f"calibration-{steps:g}")
        try:
            await asyncio.sleep(max(self.plan.settle, 8.0))  # past the connections' first burst
            samples = await self.hold(dep, market, max(6.0, self.plan.hold / 6))
        finally:
            self.stop_market(market)
        name = "marketprism_ingest_messages_total"
        first, last = samples[0], samples[-1]
        return (last.ingest.total(name) - first.ingest.total(name)) / (last.at - first.at)

    async def calibrate(self, dep: Deployment) -> dict[str, float]:
        low, high = CALIBRATION_STEPS_PER_S
        at_low, at_high = [await self.ticks_per_s(dep, steps) for steps in (low, high)]
        per_step = (at_high - at_low) / (high - low)
        if per_step <= 0:  # noise swamped the slope: proportional to the faster run
            self.calibration = Calibration(0.0, at_high / high)
        else:
            self.calibration = Calibration(at_low - per_step * low, per_step)
        log(f"calibration: {at_low:.0f} ticks/s at {low:g} steps/s, {at_high:.0f} at {high:g}")
        base, per_step = self.calibration.base, self.calibration.per_step
        return {"base_ticks_per_s": round(base), "ticks_per_step": round(per_step, 3)}

    async def step(
        self, dep: Deployment, target: float, *, warmup: float = 0.0, jumps: bool = False
    ) -> tuple[dict[str, Any], Market]:
        """One held rate; the market is left running (the caller may profile it)."""
        plan = self.plan
        steps, hold = self.calibration.steps_per_s(target), plan.hold
        moves: list[str] = []
        if jumps:
            grace, start = dep.grace_seconds, plan.settle + warmup
            hold = max(hold, JUMP_LEAD + (MIN_JUMPS - 1) * plan.jump_every + grace + JUMP_TAIL)
            last_at = start + hold - grace - JUMP_TAIL
            moves = jump_plan(move_order(), start + JUMP_LEAD, plan.jump_every, last_at)
        market = await self.market(dep, steps, moves, f"{target:g}")
        await asyncio.sleep(plan.settle + warmup)
        result = summarize(target, steps, await self.hold(dep, market, hold), plan.roll)
        if jumps:
            result["scripted_moves"] = len(moves)
        state = "sustained" if result["sustained"] else "; ".join(result["limited_by"])
        log(
            f"{dep.name} {target:g}/s: offered {result['offered_ticks_per_s']:.0f} ticks/s, "
            f"worker {result['worker_trades_per_s']:.0f} trades/s, backlog "
            f"{result['backlog_s']['trades']}, cpu {result['cpu_percent']}: {state}"
        )
        return result, market

    async def latency(self, dep: Deployment, market: Market) -> dict[str, Any]:
        result = await measure_latency(self.bootstrap, dep, market.started_ms)
        log(f"{dep.name}: latency {result}")
        return result

    async def profile(self, dep: Deployment, market: Market, target: float) -> dict[str, Any]:
        if self.plan.profile_seconds <= 0 or dep.worker is None:
            return {"skipped": "--profile-seconds 0"}
        seconds = self.plan.profile_seconds
        log(f"profiling the worker and ingest for {seconds:g}s at {target:g}/s")
        pids = {"worker": dep.worker.process.pid, "ingest": market.ingest.process.pid}
        result = await asyncio.to_thread(profile, pids, seconds, self.work / "profiles")
        return {"target_ticks_per_s": target, **result}

    # -- phases -----------------------------------------------------------------------------

    async def ramp(self, report: dict[str, Any]) -> Deployment:
        plan = self.plan
        dep = self.deploy("ramp")
        await start_worker(dep, self.logs)
        report["calibration"] = await self.calibrate(dep)
        steps: list[dict[str, Any]] = report.setdefault("steps", [])
        for n, target in enumerate(plan.rates):
            jumps = target == plan.latency_rate
            result, market = await self.step(dep, target, jumps=jumps)
            steps.append(result)
            stop = not result["sustained"] and target >= plan.latency_rate
            try:
                if stop or n == len(plan.rates) - 1:
                    report["profile"] = await self.profile(dep, market, target)
            finally:
                self.stop_market(market)
            if jumps:
                report.setdefault("latency", {})["default_grace"] = await self.latency(dep, market)
            if stop:
                log(f"{target:g}/s not sustained: the ramp stops here")
                break
        best = max(
            (s for s in steps if s["sustained"]),
            key=lambda s: s["offered_ticks_per_s"],
            default=None,
        )
        report["sustained_ticks_per_s"] = None if best is None else best["offered_ticks_per_s"]
        records = None if best is None else best["ingest_records_per_s"]
        report["sustained_ingest_records_per_s"] = records
        return dep

    async def grace_run(self, grace: float) -> dict[str, Any]:
        """The latency step once more, on a fresh worker with a smaller grace."""
        plan = self.plan
        dep = self.deploy(f"grace{grace:g}", MARKETPRISM_WINDOWS__GRACE_SECONDS=f"{grace:g}")
        await start_worker(dep, self.logs)
        result, market = await self.step(dep, plan.latency_rate, warmup=plan.warmup, jumps=True)
        self.stop_market(market)
        latency = await self.latency(dep, market)
        if dep.worker is not None:
            dep.worker.stop(timeout=60)
        return {**latency, "late_trades": result["late_trades"], "step": result}

    async def run(self) -> dict[str, Any]:
        report: dict[str, Any] = {}
        await self.sampler.start()
        try:
            ramp = await self.ramp(report)
            if ramp.worker is not None:
                ramp.worker.stop(timeout=60)
            log("bare-Kafka limit: copying the ramp's trades with aiokafka alone")
            bare = await bare_limit(
                self.bootstrap, ramp, self.plan.bare_records, self.plan.bare_seconds
            )
            report["bare_kafka"] = bare
            log(f"bare-Kafka limit: {bare}")
            for grace in self.plan.latency_graces:
                latency = report.setdefault("latency", {})
                latency[f"grace_{grace:g}s"] = await self.grace_run(grace)
        finally:
            await self.sampler.stop()
            self.stop_all()
        return report


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The targets and the fraction of the bare-Kafka limit."""
    sustained = report.get("sustained_ticks_per_s")
    records = report.get("sustained_ingest_records_per_s")
    bare = report.get("bare_kafka", {}).get("records_per_s")
    latency = report.get("latency", {})
    return {
        "target_ticks_per_s": TARGET_TICKS_PER_S,
        "meets_throughput_target": bool(sustained and sustained >= TARGET_TICKS_PER_S),
        "fraction_of_bare_kafka": {
            "ticks": round(sustained / bare, 3) if sustained and bare else None,
            "ingest_records": round(records / bare, 3) if records and bare else None,
        },
        "target_p99_alert_latency_ms": TARGET_P99_MS,
        "meets_latency_target": {name: got["meets_target"] for name, got in latency.items()},
    }


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Plan]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--bootstrap", help="use this broker (host:port) instead of starting one")
    parser.add_argument("--rates", default="1000,2000,3000,4000,6000,10000,20000", help="ticks/s")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds measured per step")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--latency-rate", type=float, default=2000.0, help="ticks/s")
    parser.add_argument("--latency-grace", default="0.5,0", help="s, comma-separated")
    parser.add_argument("--warmup", type=float, default=40.0, help="the fresh worker's history")
    parser.add_argument("--jump-every", type=float, default=3.3, help="s between moves")
    parser.add_argument("--profile-seconds", type=float, default=20.0, help="0: no profile")
    parser.add_argument("--bare-seconds", type=float, default=30.0)
    parser.add_argument("--bare-records", type=int, default=500_000)
    parser.add_argument("--roll-seconds", type=float, default=10.0, help="Parquet file roll")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path, help="keep logs, profiles and data here")
    parser.add_argument("--quick", action="store_true", help="every phase, a few seconds each")
    args = parser.parse_args(argv)
    plan = Plan(
        rates=sorted({float(r) for r in args.rates.split(",") if r.strip()} | {args.latency_rate}),
        hold=args.hold,
        settle=args.settle,
        warmup=args.warmup,
        jump_every=args.jump_every,
        latency_rate=args.latency_rate,
        latency_graces=[float(g) for g in args.latency_grace.split(",") if g.strip()],
        profile_seconds=args.profile_seconds,
        bare_seconds=args.bare_seconds,
        bare_records=args.bare_records,
        roll=args.roll_seconds,
        seed=args.seed,
    )
    if args.quick:  # the detector judges after 5 buckets instead of 30
        plan.rates = sorted({1000.0, args.latency_rate})
        plan.hold, plan.settle, plan.warmup, plan.jump_every = 8.0, 3.0, 8.0, 2.3
        plan.profile_seconds, plan.bare_seconds, plan.roll = 4.0, 5.0, 2.0
        plan.extra_env["MARKETPRISM_DETECTOR__MIN_SAMPLES"] = "5"
    if plan.hold < 3 * SAMPLE_SECONDS or min(plan.rates) <= 0:
        parser.error(f"need --hold >= {3 * SAMPLE_SECONDS:g} and positive rates")
    return args, plan


def main(argv: list[str] | None = None) -> int:
    args, plan = parse_args(argv)
    began = time.monotonic()
    report: dict[str, Any] = {"bench": "e2e", "quick": args.quick}
    report["machine"] = {"cpus": os.cpu_count(), "loadavg_start": loadavg()}
    with tempfile.TemporaryDirectory(prefix="marketprism-bench-e2e-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        with broker(args.bootstrap, work) as (bootstrap, pid):
            report["broker"] = bootstrap if args.bootstrap else "started for the run"
            try:
                report.update(asyncio.run(Bench(plan, bootstrap, pid, work).run()))
            except MarketPrismError as exc:
                log(f"failed: {exc} (logs: {work / 'logs'}, kept with --work-dir)")
                return 1
    report.update(headline(report))
    report["machine"]["loadavg_end"] = loadavg()
    report["plan"] = {k: v for k, v in vars(plan).items() if k != "extra_env"}
    report["python"] = platform.python_version()
    report["duration_s"] = round(time.monotonic() - began)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
