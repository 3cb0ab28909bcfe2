"""``marketprism demo``: the whole pipeline on the exchange simulator, then a summary.

Order of things: the broker (started only if none answers), a worker (windows,
detector, sinks, web views), the simulator with a dozen symbols and scripted
moves, and ingest pointed at it. While they run, a progress line every few
seconds and every alert as it fires. After ``duration`` (or Ctrl-C): ingest
stops first, the worker drains what is in Kafka (:mod:`app.demo.drain`), then
everything the demo started is stopped (the worker's sinks flush on SIGTERM)
and the summary is printed. Exit 0 only if every stage moved data.

Each run archives into a Parquet root of its own; at its start, the archives
of older runs beyond ``keep_runs`` are deleted (:mod:`app.demo.retention`).

``live=True`` skips the simulator: ingest connects to the real exchanges.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka.errors import KafkaError

from app.demo.drain import Drain
from app.demo.lag import group_lag
from app.demo.market import (
    OBSERVE_SECONDS,
    VENUE_SYMBOLS,
    ScriptedMove,
    all_symbols,
    scripted_moves,
)
from app.demo.namespace import RunNamespace
from app.demo.processes import (
    PROJECT_ROOT,
    Child,
    LocalBroker,
    free_port,
    port_open,
    wait_for_lines,
)
from app.demo.retention import prune_run_archives
from app.demo.scrape import Scrape, scrape
from app.demo.summary import archive_counts, archive_queries, render, stages
from app.demo.watch import AlertFollower, progress_line
from app.settings import Settings, load_settings
from app.topics import ensure_topics, topic_name
from ingest.recording import read_recording
from ingest.registry import venue_for_recording
from models.exceptions import MarketPrismError

PROGRESS_SECONDS = 5.0
REPLAY_TIMEOUT = 300.0
#: The recording the demo replays when it is beside the project (hftbacktest format).
SHARED_RECORDING = Path("binance-hft") / "spot_btcusdt_20240808.gz"
#: Venue of a Binance BTCUSDT recording -> its canonical symbol.
REPLAY_SYMBOLS = {"binance": "BTC-USDT", "binance_futures": "BTC-USDT-PERP"}


def default_recording() -> Path | None:
    """The shared recording (``MARKETPRISM_SHARED_DATA`` or ``../shared/data``), if present."""
    shared = Path(
        os.environ.get("MARKETPRISM_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data")
    )
    path = shared / SHARED_RECORDING
    return path if path.is_file() else None


def replayed_market(path: Path) -> tuple[str, str]:
    """The venue and symbol of a Binance BTCUSDT recording, or a clear error."""
    kind = venue_for_recording(path)
    if not path.is_file():
        raise MarketPrismError(f"no such recording: {path}")
    if kind is None or kind.name not in REPLAY_SYMBOLS:
        raise MarketPrismError(
            f"the demo replays Binance BTCUSDT recordings; {path.name} is not one "
            "(`marketprism ingest --replay FILE` takes any recording)"
        )
    return kind.name, REPLAY_SYMBOLS[kind.name]


@dataclass(frozen=True)
class DemoOptions:
    duration: float = 120.0
    live: bool = False
    rate: float = 100.0  # simulator market steps a second
    seed: int = 7
    log_dir: Path = Path("var/demo")
    #: A Binance BTCUSDT recording replayed (rebased to end now) before the live part;
    #: None: the shared hftbacktest recording when it is beside the project.
    replay: Path | None = None
    no_replay: bool = False
    #: Run archives (``<log_dir>/parquet-<run>``) kept, this run's included.
    keep_runs: int = 3
    #: Longest drain, seconds; None: as long as the records left keep falling.
    drain_timeout: float | None = None


class Demo:
    def __init__(self, options: DemoOptions, base: Settings) -> None:
        self.options = options
        run = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self.namespace = RunNamespace.of(base, run, options.log_dir)
        settings = load_settings(
            app_id=self.namespace.app_id,
            topics={"prefix": self.namespace.topic_prefix},
            store={"data_dir": self.namespace.data_dir},
            parquet={"root": self.namespace.parquet_root},
        )
        self.settings = settings
        host, _, port = settings.kafka.bootstrap_servers[0].rpartition(":")
        self.broker = LocalBroker(host, int(port))
        self.moves: list[ScriptedMove] = [] if options.live else scripted_moves(options.duration)
        self.replay = None if options.no_replay else (options.replay or default_recording())
        self.replayed: str | None = None
        self.replay_span = timedelta(0)
        self.venue_symbols = {k: list(v) for k, v in VENUE_SYMBOLS.items()}
        if self.replay is not None:
            venue, symbol = replayed_market(self.replay)
            # The recording's market is real from here on: the simulator leaves it alone.
            self.venue_symbols[venue].remove(symbol)
        self.children: list[Child] = []
        self.web_port = settings.web.port
        self.metrics_port = settings.ingest.metrics_port or free_port()
        if port_open("127.0.0.1", self.metrics_port):
            self.metrics_port = free_port()
        self.env = {
            **os.environ,
            **self.namespace.env(),
            "MARKETPRISM_INGEST__METRICS_PORT": str(self.metrics_port),
            # Files every 10 s rather than every minute, so the archive grows visibly.
            "MARKETPRISM_PARQUET__ROLL_SECONDS": os.environ.get(
                "MARKETPRISM_PARQUET__ROLL_SECONDS", "10"
            ),
        }
        self.stop_requested = asyncio.Event()
        self.ingest_scrape: Scrape | None = None
        self.worker_scrape: Scrape | None = None
        self.ran_seconds = 0.0
        self.drain_incomplete: str | None = None

    # -- the children -----------------------------------------------------------------

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(name, args, env, self.options.log_dir / f"{name}.log")
        self.children.append(child)
        return child

    async def _start_worker(self) -> Child:
        worker = self._start("worker", ["worker"], self.env)
        url = f"http://127.0.0.1:{self.web_port}/metrics"
        deadline = time.monotonic() + 120
        while await asyncio.to_thread(scrape, url) is None:
            worker.check_running()
            if time.monotonic() > deadline:
                raise MarketPrismError(f"the worker did not answer on {url}; see {worker.log}")
            await asyncio.sleep(0.5)
        print(f"demo: worker up: views and /metrics on http://127.0.0.1:{self.web_port}/")
        return worker

    def _simulator_env(self) -> dict[str, str]:
        args = ["simulate", "--symbols", ",".join(all_symbols())]
        args += ["--rate", f"{self.options.rate:g}", "--seed", str(self.options.seed)]
        for move in self.moves:
            args += ["--anomaly", move.argument]
        sim = self._start("simulator", args, self.env)
        lines = wait_for_lines(sim, "MARKETPRISM_", "# inject a fault", timeout=30)
        env = dict(line.split("=", 1) for line in lines)
        for venue, symbols in self.venue_symbols.items():
            env[f"MARKETPRISM_EXCHANGES__{venue.upper()}__SYMBOLS"] = ",".join(symbols)
        venues = ", ".join(VENUE_SYMBOLS)
        print(f"demo: simulator up: {len(all_symbols())} symbols on {venues}")
        for move in self.moves:
            print(f"demo: scripted: {move.symbol} {move.kind} {move.pct:g}% at {move.at:.0f}s")
        return env

    async def _replay(self, path: Path) -> None:
        """``marketprism ingest --replay PATH --rebase``, to its end."""
        print(f"demo: replaying the recording {path.name}, moved to end now")
        child = self._start("replay", ["ingest", "--replay", str(path), "--rebase"], self.env)
        code = await asyncio.to_thread(child.process.wait, REPLAY_TIMEOUT)
        child.stop()
        self.children.remove(child)  # done: not a process to watch
        if code != 0:
            raise MarketPrismError(f"the replay of {path} failed; see {child.log}")
        done = [line for line in child.read_log().splitlines() if " messages -> " in line]
        self.replayed = done[-1] if done else f"{path.name}: replayed"
        times = [m.received_at for m in read_recording(path)]
        self.replay_span = max(times) - min(times) + timedelta(seconds=5)
        print(f"demo: replayed {self.replayed}")

    async def _scrape_all(self) -> None:
        ingest = await asyncio.to_thread(scrape, f"http://127.0.0.1:{self.metrics_port}/metrics")
        worker = await asyncio.to_thread(scrape, f"http://127.0.0.1:{self.web_port}/metrics")
        self.ingest_scrape = ingest or self.ingest_scrape
        self.worker_scrape = worker or self.worker_scrape

    async def _watch(self, started: float) -> None:
        """Progress lines until the duration is over or the user asks to stop."""
        end = started + self.options.duration
        while not self.stop_requested.is_set() and time.monotonic() < end:
            with contextlib.suppress(TimeoutError):
                wait = min(PROGRESS_SECONDS, max(0.0, end - time.monotonic()))
                await asyncio.wait_for(self.stop_requested.wait(), wait)
            for child in self.children:
                child.check_running()
            await self._scrape_all()
            elapsed = time.monotonic() - started
            print(progress_line(elapsed, self.ingest_scrape, self.worker_scrape), flush=True)

    def _prune_archives(self) -> None:
        """Delete the archives of older runs, keeping ``keep_runs`` with this one's."""
        try:
            removed = prune_run_archives(self.options.log_dir, self.options.keep_runs - 1)
        except OSError as exc:
            print(f"demo: could not remove the archives of older runs: {exc}")
            return
        for archive in removed:
            print(f"demo: removed an old run's archive: {archive.describe()}")

    async def _drain(self) -> None:
        """Wait until the worker's group has committed every record of the demo's topics
        (processed, and archived by the sinks), for as long as that progresses or until
        Ctrl-C."""
        sinks = self.settings.sinks
        archived = sinks.data_types if sinks.enabled else ["trades"]
        topics = {topic_name(self.settings.topics, t): t for t in archived}
        bootstrap = self.settings.kafka.bootstrap_servers
        drain = Drain(time.monotonic(), timeout=self.options.drain_timeout)
        shown = drain.started
        while True:
            lags = await group_lag(bootstrap, self.settings.app_id, list(topics))
            now = time.monotonic()
            outcome = drain.observe(now, {topics[t]: n for t, n in lags.items()})
            if outcome == "drained":
                print(
                    f"demo: the worker archived everything ({now - drain.started:.1f}s of draining)"
                )
                return
            if outcome == "draining" and self.stop_requested.is_set():
                outcome = "interrupted"
            if outcome != "draining":
                self.drain_incomplete = drain.incomplete(outcome, now)
                print(self.drain_incomplete, flush=True)
                return
            if now - shown >= PROGRESS_SECONDS:
                shown = now
                print(drain.progress(now), flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_requested.wait(), 1.0)

    # -- the run ----------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop_requested.set)
        follower = AlertFollower(
            self.settings.kafka.bootstrap_servers, topic_name(self.settings.topics, "alerts")
        )
        start = datetime.now(UTC)
        self._prune_archives()
        try:
            await asyncio.to_thread(self.broker.ensure)
            await ensure_topics(self.settings)
            worker = await self._start_worker()
            await follower.start()
            if self.replay is not None:
                await self._replay(self.replay)
            env = self.env if self.options.live else {**self.env, **self._simulator_env()}
            ingest = self._start("ingest", ["ingest"], env)
            where = "the real exchanges" if self.options.live else "the simulator"
            print(f"demo: ingest from {where}; running {self.options.duration:g}s (Ctrl-C ends)")
            began = time.monotonic()
            await self._watch(began)
            self.ran_seconds = time.monotonic() - began
            await self._scrape_all()
            ingest.stop()
            self.stop_requested.clear()  # from here, Ctrl-C ends the drain
            await self._drain()
            await self._scrape_all()
            print("demo: stopping the worker (its sinks write what they hold)")
            worker.stop(timeout=60)
        finally:
            await follower.stop()
            for child in reversed(self.children):
                child.stop()
            await self._remove_namespace()
            self.broker.stop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        return self._summary(start, follower)

    async def _remove_namespace(self) -> None:
        """Delete the run's topics and worker state (the Parquet archive stays)."""
        try:
            await self.namespace.remove(self.settings.kafka.bootstrap_servers)
        except (KafkaError, OSError) as exc:
            print(f"demo: could not delete this run's topics: {exc}")

    def _summary(self, start: datetime, follower: AlertFollower) -> int:
        root = self.settings.parquet.root
        archive = archive_counts(root, start)
        since = start - self.replay_span
        queries = archive_queries(root, since, start, self.moves)
        due = [m for m in self.moves if m.end + OBSERVE_SECONDS <= self.ran_seconds]
        result = stages(self.ingest_scrape, self.worker_scrape, follower.alerts, archive, due)
        print(
            render(
                ingest=self.ingest_scrape,
                worker=self.worker_scrape,
                alerts=follower.alerts,
                archive=archive,
                queries=queries,
                result=result,
                moves=self.moves,
                root=root,
            )
        )
        if self.drain_incomplete:
            print(self.drain_incomplete.removeprefix("demo: "))
        if self.replayed:
            print(f"Replayed before the live part: {self.replayed}")
        print(f"Logs of the processes: {self.options.log_dir}/")
        example = "SELECT symbol, count(*) FROM trades GROUP BY 1"
        print(f'Query the archive: marketprism query --root {root} "{example}"')
        return 0 if all(stage.moved for stage in result) else 1


def run_demo(options: DemoOptions) -> int:
    settings = load_settings()
    try:
        return asyncio.run(Demo(options, settings).run())
    except MarketPrismError as exc:
        print(f"demo: {exc}")
        return 1
