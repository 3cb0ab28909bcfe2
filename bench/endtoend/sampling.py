"""What one step measures: both processes' ``/metrics``, the topics' end offsets and every
process's CPU time, sampled every few seconds, and the step's summary from the samples.

**Backlogs**, in seconds of data at the step's rate: trades in Kafka not yet processed by
the windows agent (the trades topic's end offsets minus
``marketprism_worker_trades_processed_total``), and records of ingest's topics not yet in
a durable Parquet file (end offsets minus ``marketprism_sink_rows_written_total``; this
one holds up to a file roll of buffered rows by design).

**Sustained** means all of: the offered ticks/s reached ``REACHED`` of the target; the
trades backlog stayed under ``MAX_BACKLOG_S`` over the second half of the hold and did not
grow (mean of the last third minus the first third under ``MAX_GROWTH_S``); the Parquet
backlog stayed under roll + ``MAX_BACKLOG_S`` and grew by less than roll / 2 + 1 s (its
saw-tooth has the roll's period).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, TopicPartition

from app.demo.scrape import Scrape, scrape
from app.topics import TOPIC_MODELS
from bench.endtoend.pipeline import Deployment, Market
from models import MarketEvent
from models.exceptions import MarketPrismError

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 2.0
MAX_BACKLOG_S = 5.0
MAX_GROWTH_S = 1.0
REACHED = 0.9  #: share of the target the offered rate must reach
#: what ingest produces and the sinks archive: the topics of market events
INGEST_TYPES = tuple(t for t, model in TOPIC_MODELS.items() if issubclass(model, MarketEvent))


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of ``pid`` (all its threads) so far; 0 once gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine spent busy so far (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


@dataclass(frozen=True)
class Sample:
    at: float
    ingest: Scrape
    worker: Scrape
    ends: dict[str, int]  #: data type -> sum of its topic's end offsets
    cpu: dict[str, float]  #: process -> CPU seconds so far; "machine": all cores' busy time


class Sampler:
    """Samples one deployment's processes (one Kafka client for the end offsets)."""

    def __init__(self, bootstrap: str, broker_pid: int | None) -> None:
        self.bootstrap = bootstrap
        self.broker_pid = broker_pid
        self.consumer: Any = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await self.consumer.start()

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()

    async def ends(self, dep: Deployment) -> dict[str, int]:
        names = {dep.topic(t): t for t in INGEST_TYPES}
        tps = [
            TopicPartition(name, p) for name, t in names.items() for p in range(dep.partitions(t))
        ]
        totals = dict.fromkeys(INGEST_TYPES, 0)
        for tp, end in (await self.consumer.end_offsets(tps)).items():
            totals[names[tp.topic]] += end
        return totals

    async def sample(self, dep: Deployment, market: Market) -> Sample:
        ingest = await scrape_retry(f"{dep.ingest_url}/metrics")
        worker = await scrape_retry(f"{dep.worker_url}/metrics")
        ends = await self.ends(dep)
        pids = {
            "simulator": market.simulator.process.pid,
            "ingest": market.ingest.process.pid,
            "worker": None if dep.worker is None else dep.worker.process.pid,
            "broker": self.broker_pid,
        }
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        times = os.times()
        cpu["bench"] = times.user + times.system
        cpu["machine"] = machine_busy_seconds()
        return Sample(time.monotonic(), ingest, worker, ends, cpu)


async def scrape_retry(url: str, tries: int = 3) -> Scrape:
    """A busy worker may miss one scrape's timeout; retry before giving up."""
    for _ in range(tries):
        got = await asyncio.to_thread(scrape, url, 4.0)
        if got is not None:
            return got
        await asyncio.sleep(0.5)
    raise MarketPrismError(f"{url} did not answer")


def bucket_delta(before: Scrape, after: Scrape, name: str) -> list[tuple[float, float]]:
    """Cumulative bucket counts of histogram ``name`` (all label sets) between two scrapes."""
    counts: dict[float, float] = defaultdict(float)
    for sign, got in ((-1.0, before), (1.0, after)):
        for labels, value in got.samples.get(f"{name}_bucket", {}).items():
            counts[float(dict(labels)["le"])] += sign * value
    return sorted(counts.items())


def histogram_quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Prometheus' ``histogram_quantile``: linear inside the bucket holding ``q``."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank, lower, below = q * buckets[-1][1], 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower  # beyond the last finite bound: report that bound
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def growth(series: list[float]) -> float:
    """Mean of the last third minus mean of the first third."""
    third = max(1, len(series) // 3)
    return float(np.mean(series[-third:]) - np.mean(series[:third]))


def backlogs(samples: list[Sample], trades_per_s: float, records_per_s: float) -> dict[str, Any]:
    trades, parquet = [], []
    for s in samples:
        done = s.worker.total("marketprism_worker_trades_processed_total")
        trades.append((s.ends["trades"] - done) / max(trades_per_s, 1.0))
        rows = s.worker.by("marketprism_sink_rows_written_total", "data_type")
        waiting = sum(s.ends[t] - rows.get(t, 0.0) for t in INGEST_TYPES)
        parquet.append(waiting / max(records_per_s, 1.0))
    half = len(samples) // 2
    return {
        name: {
            "start": round(series[0], 2),
            "end": round(series[-1], 2),
            "max_second_half": round(max(series[half:]), 2),
            "growth": round(growth(series), 2),
        }
        for name, series in (("trades", trades), ("parquet", parquet))
    }


def lag_quantiles(first: Sample, last: Sample) -> dict[str, dict[str, float | None]]:
    """Event-time lag p50/p99 of the worker and of ingest over the step."""
    lag = {}
    for process in ("worker", "ingest"):
        metric = f"marketprism_{process}_event_lag_seconds"
        buckets = bucket_delta(getattr(first, process), getattr(last, process), metric)
        got = {f"p{q * 100:g}": histogram_quantile(buckets, q) for q in (0.5, 0.99)}
        lag[process] = {k: None if v is None else round(v, 3) for k, v in got.items()}
    return lag


def limits(target: float, offered: float, backlog: dict[str, Any], roll: float) -> list[str]:
    """Why a step is not sustained (empty: it is)."""
    found = []
    if offered < REACHED * target:
        found.append("offered rate below target (simulator/ingest did not deliver it)")
    trades, parquet = backlog["trades"], backlog["parquet"]
    if trades["max_second_half"] > MAX_BACKLOG_S or trades["growth"] > MAX_GROWTH_S:
        found.append("windows agent fell behind (trades backlog grew)")
    if parquet["max_second_half"] > roll + MAX_BACKLOG_S or parquet["growth"] > roll / 2 + 1:
        found.append("Parquet sinks fell behind (backlog grew)")
    return found


def summarize(
    target: float, steps_per_s: float, samples: list[Sample], roll: float
) -> dict[str, Any]:
    """One step's numbers from its samples (first = start of the hold, last = its end)."""
    first, last = samples[0], samples[-1]
    dt = last.at - first.at

    def change(which: str, name: str) -> float:
        return float(getattr(last, which).total(name) - getattr(first, which).total(name))

    def rate(which: str, name: str) -> float:
        return round(change(which, name) / dt, 1)

    trades_in = (last.ends["trades"] - first.ends["trades"]) / dt
    records_in = (sum(last.ends.values()) - sum(first.ends.values())) / dt
    backlog = backlogs(samples, trades_in, records_in)
    cpu = {name: round(100 * (last.cpu[name] - first.cpu[name]) / dt) for name in last.cpu}
    cpu["other"] = cpu.pop("machine") - sum(cpu.values())
    offered = rate("ingest", "marketprism_ingest_messages_total")
    why = limits(target, offered, backlog, roll)
    return {
        "target_ticks_per_s": target,
        "simulator_steps_per_s": round(steps_per_s, 1),
        "seconds": round(dt, 1),
        "offered_ticks_per_s": offered,
        "ingest_records_per_s": rate("ingest", "marketprism_ingest_records_total"),
        "trades_into_kafka_per_s": round(trades_in, 1),
        "worker_trades_per_s": rate("worker", "marketprism_worker_trades_processed_total"),
        "worker_windows_per_s": rate("worker", "marketprism_worker_windows_emitted_total"),
        "sink_rows_per_s": rate("worker", "marketprism_sink_rows_written_total"),
        "event_lag_s": lag_quantiles(first, last),
        "backlog_s": backlog,
        "producer_blocked_s": change("ingest", "marketprism_ingest_producer_blocked_seconds_total"),
        "ingest_gaps": change("ingest", "marketprism_ingest_gaps_total"),
        "late_trades": change("worker", "marketprism_worker_late_events_total"),
        "alerts": change("worker", "marketprism_worker_alerts_total"),
        "cpu_percent": cpu,
        "sustained": not why,
        "limited_by": why,
    }
