"""The pipeline's processes for the benchmark: its broker, a deployment (topics, consumer group,
worker) and a market (simulator + ingest), built from the demo's :mod:`app.demo` parts.

Every deployment has its own topic prefix, consumer group, RocksDB dir and Parquet root, so
runs never see each other's data, and its alerts topic is stamped with the broker's append
time (what the latency is measured against).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from app.demo.market import VENUE_SYMBOLS
from app.demo.processes import PROJECT_ROOT, Child, free_port, port_open, wait_for_lines
from app.demo.scrape import scrape
from app.settings import Settings, load_settings
from app.topics import ensure_topics, topic_name, topic_partitions
from models.exceptions import MarketPrismError

KAFKA_SCRIPT = PROJECT_ROOT / "scripts" / "kafka"
#: spot listings on top of the demo's market (more keys, more symbols to move)
EXTRA_SYMBOLS: dict[str, tuple[str, ...]] = {
    "binance": ("AVAX-USDT", "LINK-USDT", "DOT-USDT", "LTC-USDT", "TRX-USDT", "TON-USDT"),
    "okx": ("XRP-USDT", "DOGE-USDT", "ADA-USDT", "AVAX-USDT"),
}


def log(text: str) -> None:
    print(f"e2e: {text}", file=sys.stderr, flush=True)


def venue_symbols() -> dict[str, tuple[str, ...]]:
    venues = {**VENUE_SYMBOLS, **EXTRA_SYMBOLS}
    return {v: VENUE_SYMBOLS.get(v, ()) + EXTRA_SYMBOLS.get(v, ()) for v in venues}


def market_symbols() -> list[str]:
    return sorted({s for symbols in venue_symbols().values() for s in symbols})


def move_order() -> list[str]:
    """Symbols to move, those listed on most venues first (more keys per move)."""
    listed = Counter(s for symbols in venue_symbols().values() for s in symbols)
    return sorted(listed, key=lambda s: (-listed[s], s))


@dataclass
class Deployment:
    """A topic set and consumer group with its worker (the ramp's, or a latency run's)."""

    name: str
    settings: Settings
    env: dict[str, str]
    web_port: int
    metrics_port: int
    worker: Child | None = None

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    @property
    def grace_seconds(self) -> float:
        """The worker's window grace (its environment may override the settings')."""
        default = self.settings.windows.grace_seconds
        return float(self.env.get("MARKETPRISM_WINDOWS__GRACE_SECONDS", default))

    def topic(self, data_type: str) -> str:
        return topic_name(self.settings.topics, data_type)

    def partitions(self, data_type: str) -> int:
        return topic_partitions(self.settings.topics, data_type)


def deployment(name: str, bootstrap: str, work: Path, extra: dict[str, str]) -> Deployment:
    run = f"e2e-{uuid.uuid4().hex[:8]}-{name}"
    web, metrics = free_port(), free_port()
    env = {
        **os.environ,
        "MARKETPRISM_KAFKA__BROKER": f"kafka://{bootstrap}",
        "MARKETPRISM_APP_ID": run,
        "MARKETPRISM_TOPICS__PREFIX": f"{run}.",
        "MARKETPRISM_STORE__DATA_DIR": str(work / run / "store"),
        "MARKETPRISM_PARQUET__ROOT": str(work / run / "parquet"),
        "MARKETPRISM_WEB__BIND": "127.0.0.1",
        "MARKETPRISM_WEB__PORT": str(web),
        "MARKETPRISM_INGEST__METRICS_PORT": str(metrics),
        **extra,
    }
    for venue, symbols in venue_symbols().items():
        env[f"MARKETPRISM_EXCHANGES__{venue.upper()}__SYMBOLS"] = ",".join(symbols)
    settings = load_settings(kafka={"broker": f"kafka://{bootstrap}"}, topics={"prefix": f"{run}."})
    return Deployment(name, settings, env, web, metrics)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False


async def until(check: Callable[[], bool], seconds: float, what: str, *alive: Child) -> None:
    """Poll ``check`` (in a thread) until true; fail after ``seconds`` or if a child died."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(check):
        for child in alive:
            child.check_running()
        if time.monotonic() > deadline:
            raise MarketPrismError(f"{what} within {seconds:.0f}s")
        await asyncio.sleep(0.5)


async def create_topics(dep: Deployment) -> None:
    """Every topic; the alerts topic first, stamped with the broker's append time."""
    admin = AIOKafkaAdminClient(bootstrap_servers=dep.settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        alerts = NewTopic(
            dep.topic("alerts"),
            num_partitions=dep.partitions("alerts"),
            replication_factor=dep.settings.kafka.replication_factor,
            topic_configs={"message.timestamp.type": "LogAppendTime"},
        )
        await admin.create_topics([alerts])
    finally:
        await admin.close()
    await ensure_topics(dep.settings)


async def start_worker(dep: Deployment, logs: Path) -> None:
    await create_topics(dep)
    dep.worker = worker = Child("worker", ["worker"], dep.env, logs / f"{dep.name}-worker.log")
    await until(lambda: http_ok(f"{dep.worker_url}/ready"), 180, "the worker was not ready", worker)
    log(f"{dep.name}: worker ready (pid {worker.process.pid})")


@dataclass
class Market:
    """One step's simulator and ingest."""

    simulator: Child
    ingest: Child
    started_ms: int  #: wall clock when the simulator was started

    def stop(self) -> None:
        self.ingest.stop()
        self.simulator.stop()


async def start_market(
    dep: Deployment, steps_per_s: float, moves: list[str], seed: int, logs: Path, tag: str
) -> Market:
    """A simulator at ``steps_per_s`` with the scripted ``moves``, and ingest reading it;
    returns once ingest produces records."""
    args = ["simulate", "--symbols", ",".join(market_symbols()), "--rate", f"{steps_per_s:.1f}"]
    args += ["--seed", str(seed), *(a for move in moves for a in ("--anomaly", move))]
    started_ms = time.time_ns() // 1_000_000
    sim = Child("simulator", args, dep.env, logs / f"{dep.name}-{tag}-simulator.log")
    try:
        lines = await asyncio.to_thread(wait_for_lines, sim, "MARKETPRISM_", "# inject", 60)
        env = {**dep.env, **dict(line.split("=", 1) for line in lines)}
        ingest = Child("ingest", ["ingest"], env, logs / f"{dep.name}-{tag}-ingest.log")
    except BaseException:
        sim.stop()
        raise
    market = Market(sim, ingest, started_ms)

    def flowing() -> bool:
        got = scrape(f"{dep.ingest_url}/metrics")
        return got is not None and got.total("marketprism_ingest_records_total") > 0

    try:
        await until(flowing, 60, "ingest produced nothing", sim, ingest)
    except BaseException:
        market.stop()
        raise
    return market


def free_port_pair() -> int:
    """A port whose next port is free too (the broker's KRaft controller)."""
    for _ in range(50):
        port = free_port()
        if not port_open("127.0.0.1", port + 1):
            return port
    raise MarketPrismError("no two consecutive free ports")


@contextmanager
def broker(bootstrap: str | None, work: Path) -> Iterator[tuple[str, int | None]]:
    """``(bootstrap, broker pid)``: the given broker (pid unknown), or one started for the
    run with ``scripts/kafka`` on free ports and a data dir under ``work``."""
    if bootstrap is not None:
        yield bootstrap, None
        return
    port, data_dir = free_port_pair(), work / "kafka"
    options = ["--port", str(port), "--data-dir", str(data_dir)]
    run: dict[str, Any] = {"check": True, "timeout": 600, "stdout": sys.stderr}
    subprocess.run([str(KAFKA_SCRIPT), "start", *options], **run)  # noqa: S603 - our script
    try:
        pid_file = data_dir / "kafka.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        yield f"127.0.0.1:{port}", pid
    finally:
        subprocess.run([str(KAFKA_SCRIPT), "stop", *options], **{**run, "check": False})  # noqa: S603
