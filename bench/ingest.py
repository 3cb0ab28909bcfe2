"""Ingest per core: raw Binance message -> normalized model -> bytes ready for Kafka.

One process, one thread, the recorded Binance traffic of ``../shared/data/binance-hft``
split by message kind (trades, bookTicker, depth), both sides in the same run:

- **marketprism**: ``VENUES[venue](max_clock_skew=None).parse(raw, received_at)``, then
  ``models.encode`` of every record. For depth, ``marketprism_with_book`` also applies
  each delta to a local book (``BookSync``), the work cryptofeed always does.
- **cryptofeed** (the ``bench`` extra): its ``Binance`` / ``BinanceFutures`` feed's
  ``message_handler`` fed the same lines, with callbacks doing what its Kafka backend
  does (``to_dict`` with decimals as strings, receipt time added) plus ``orjson.dumps``.
  No network: the symbol table is seeded from a built-in exchangeInfo excerpt and the
  depth request is answered with the recorded REST snapshot.

The sides alternate inside each round (``--rounds``, median reported) so the noise of
a shared machine hits both. Each side reports wall time and CPU time (``process_time``
around the same loop: on a busy machine the CPU time is the steadier measure, and
``cpu_speedup_over_cryptofeed`` compares it). Prints one JSON object, and a table on
stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/ingest.py``, this file's directory comes first on sys.path and
# would shadow the ``ingest`` package; the project root goes in front of it.
sys.path.insert(0, str(ROOT))

from ingest import wire  # noqa: E402
from ingest.book_sync import BookSync  # noqa: E402
from ingest.recording import RecordedMessage, read_recording  # noqa: E402
from ingest.registry import venue_for_recording  # noqa: E402
from ingest.venue import Venue  # noqa: E402
from models import BookDelta, DeadLetter, encode  # noqa: E402
from tests.shared_data import SHARED_DATA  # noqa: E402

HFT_DATA = SHARED_DATA / "binance-hft"
DEFAULT_FILES = ("spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz", "usdm_btcusdt_20240808.gz")
KINDS = ("trades", "bookTicker", "depth")

#: The part of ``GET exchangeInfo`` cryptofeed reads, for the recorded symbol.
EXCHANGE_INFO: dict[str, dict[str, Any]] = {
    "binance": {"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT", "tickSize": "0.01"},
    "binance_futures": {
        "symbol": "BTCUSDT",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "tickSize": "0.10",
        "contractType": "PERPETUAL",
    },
}

#: The issue's target: marketprism at least this many times cryptofeed's msgs/s.
TARGET_SPEEDUP = 2.0
TARGET_KINDS = ("trades", "bookTicker")

NOTES = [
    "ratio (on each marketprism side) = its msgs/s / cryptofeed msgs/s (> 1: marketprism "
    "faster), from the median times over rounds; ratio_range spans the per-round ratios",
    "cpu_ratio and cpu_us_per_msg: the same from process CPU time over the same loop "
    "(steadier than wall time on a busy machine); cpu_speedup_over_cryptofeed collects them",
    "speedup_over_cryptofeed: those ratios by venue and kind (depth: marketprism_with_book, "
    f"which keeps a book as cryptofeed does); the target is {TARGET_SPEEDUP}x on "
    f"{' and '.join(TARGET_KINDS)}",
    "cryptofeed handles aggTrade only: its trade lines are the recorded trade events "
    "renamed (e -> aggTrade, t -> a) before timing",
    "cryptofeed's Ticker keeps bid/ask prices only, its Trade no sequence; marketprism "
    "validates and encodes sizes, sequence ids and both timestamps too",
    "depth: cryptofeed always applies deltas to its book; compare it with "
    "marketprism_with_book. Both start from the recorded REST snapshot, outside the "
    "timing, and get only the deltas that chain onto it (stale ones dropped)",
    "cryptofeed's Kafka backend also writes a full book every 1000 deltas by default; not included",
]


@dataclass
class Workload:
    """The messages of one venue, by kind, and its REST depth snapshot (if recorded)."""

    venue: type[Venue]
    files: list[str] = field(default_factory=list)
    messages: dict[str, list[RecordedMessage]] = field(default_factory=dict)
    snapshot: RecordedMessage | None = None
    #: The recorded symbol (``BTCUSDT``), from the stream names.
    native: str = ""


@dataclass
class Run:
    seconds: float
    outputs: int
    nbytes: int
    #: CPU time of this process over the same loop.
    cpu_seconds: float


def kind_of(stream: str) -> str | None:
    channel = stream.split("@", 1)[-1]
    if channel in ("trade", "aggTrade"):
        return "trades"
    if channel == "bookTicker":
        return "bookTicker"
    return "depth" if channel.startswith("depth") else None


def load(paths: Iterable[Path], limit: int | None) -> list[Workload]:
    """The recordings grouped by venue, files in name order (the spot files chain)."""
    workloads: dict[str, Workload] = {}
    for path in sorted(paths, key=lambda p: p.name):
        venue = venue_for_recording(path)
        if venue is None:
            raise SystemExit(f"no venue for recording {path.name}")
        work = workloads.setdefault(venue.name, Workload(venue))
        work.files.append(path.name)
        for message in read_recording(path):
            if message.direction == "rest":
                work.snapshot = work.snapshot or message
            elif (kind := kind_of(message.source)) is not None:
                work.messages.setdefault(kind, []).append(message)
                work.native = work.native or message.source.split("@", 1)[0].upper()
    for work in workloads.values():
        if "depth" in work.messages:
            work.messages["depth"] = chained_deltas(work, limit)
        for kind, messages in work.messages.items():
            work.messages[kind] = messages[:limit]
    return list(workloads.values())


def chained_deltas(work: Workload, limit: int | None) -> list[RecordedMessage]:
    """The depth updates that apply, in order, onto the snapshot (all, without one)."""
    if work.snapshot is None:
        return work.messages["depth"][:limit]
    books, venue = seeded_books(work)
    chained: list[RecordedMessage] = []
    for message in work.messages["depth"]:
        applied = books.stats.applied
        for record in venue.parse(message.text, message.received_at):
            if isinstance(record, BookDelta) and books.on_delta(record):
                return chained  # a gap: the chain ends here
        if books.stats.applied > applied:
            chained.append(message)
            if len(chained) == limit:
                break
    return chained


def seeded_books(work: Workload) -> tuple[BookSync, Venue]:
    """A venue and its book keeper, loaded with the recorded REST snapshot."""
    venue = work.venue(max_clock_skew=None)
    canonical = venue.to_canonical(work.native)
    if work.snapshot is None or canonical is None:
        raise ValueError(f"no snapshot or symbol for {work.venue.name}")
    snapshot = venue.parse_snapshot(work.snapshot.text, work.snapshot.received_at, canonical)
    if isinstance(snapshot, DeadLetter):
        raise SystemExit(f"recorded snapshot rejected: {snapshot.reason}")
    books = BookSync.for_venue(venue)
    books.on_snapshot(snapshot)
    return books, venue


# -- marketprism --------------------------------------------------------------------


def run_marketprism(work: Workload, kind: str, *, with_book: bool = False) -> Run:
    messages = work.messages[kind]
    books, venue = seeded_books(work) if with_book else (None, work.venue(max_clock_skew=None))
    parse = venue.parse
    outputs = nbytes = dead = 0
    wire.forget()  # no price or size remembered from an earlier run: start cold
    gc.collect()
    cpu, start = process_time(), perf_counter()
    for message in messages:
        for record in parse(message.text, message.received_at):
            nbytes += len(encode(record))
            outputs += 1
            if type(record) is DeadLetter:
                dead += 1
            elif books is not None and type(record) is BookDelta:
                books.on_delta(record)
    seconds, cpu = perf_counter() - start, process_time() - cpu
    applied = len(messages) if books is None else books.stats.applied
    if dead or applied != len(messages):
        raise SystemExit(
            f"marketprism: {dead} dead letters, {applied} of {len(messages)} deltas applied "
            f"on {work.venue.name} {kind}"
        )
    return Run(seconds, outputs, nbytes, cpu)


# -- cryptofeed -----------------------------------------------------------------------


def cryptofeed_version() -> str | None:
    try:
        return version("cryptofeed")
    except PackageNotFoundError:
        return None


class RecordedDepth:
    """Stands in for the feed's HTTP connection: the depth request gets the recording."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.requests = 0

    async def read(self, address: str, **_: Any) -> str:
        self.requests += 1
        return self.text


class KafkaReadyBytes:
    """cryptofeed callbacks doing what its Kafka backend callbacks do, then ``orjson``."""

    def __init__(self) -> None:
        self.outputs = self.nbytes = 0

    async def event(self, obj: Any, receipt_timestamp: float) -> None:
        data = obj.to_dict(numeric_type=str, none_to=None)
        if not obj.timestamp:
            data["timestamp"] = receipt_timestamp
        data["receipt_timestamp"] = receipt_timestamp
        self.nbytes += len(orjson.dumps(data))
        self.outputs += 1

    async def book(self, book: Any, receipt_timestamp: float) -> None:
        data = book.to_dict(delta=book.delta is not None, numeric_type=str, none_to=None)
        if not book.timestamp:
            data["timestamp"] = receipt_timestamp
        data["receipt_timestamp"] = receipt_timestamp
        if book.delta is None:
            del data["delta"]
        self.nbytes += len(orjson.dumps(data))
        self.outputs += 1


class Cryptofeed:
    """cryptofeed's Binance feeds, offline, fed the recorded lines."""

    def __init__(self) -> None:
        from cryptofeed.defines import L2_BOOK, TICKER, TRADES
        from cryptofeed.exchanges.binance import Binance
        from cryptofeed.exchanges.binance_futures import BinanceFutures
        from cryptofeed.symbols import Symbols

        self.channels = (TRADES, TICKER, L2_BOOK)
        self.feeds: dict[str, Any] = {"binance": Binance, "binance_futures": BinanceFutures}
        self.symbols: dict[str, str] = {}
        for name, feed in self.feeds.items():
            info = dict(EXCHANGE_INFO[name])
            info["filters"] = [{"tickSize": info.pop("tickSize")}]
            normalized, details = feed._parse_symbol_data({"symbols": [info]})
            Symbols.set(feed.id, normalized, details)
            self.symbols[name] = next(k for k, v in normalized.items() if v == info["symbol"])

    @staticmethod
    def lines(work: Workload, kind: str) -> list[tuple[str, float]]:
        """(raw text, receipt time) as cryptofeed takes them, prepared before timing."""
        lines = []
        for message in work.messages[kind]:
            text = message.text
            if kind == "trades":
                text = text.replace('"e":"trade"', '"e":"aggTrade"', 1).replace(',"t":', ',"a":', 1)
            lines.append((text, message.received_at.timestamp()))
        return lines

    def run(self, work: Workload, kind: str, lines: list[tuple[str, float]]) -> Run:
        sink = KafkaReadyBytes()
        trades, ticker, book = self.channels
        feed = self.feeds[work.venue.name](
            symbols=[self.symbols[work.venue.name]],
            channels=list(self.channels),
            callbacks={trades: sink.event, ticker: sink.event, book: sink.book},
        )
        depth = RecordedDepth(work.snapshot.text if work.snapshot else "")
        feed.http_conn = depth
        if kind == "depth":
            asyncio.run(feed._snapshot(work.native))
            sink.outputs = sink.nbytes = 0
        gc.collect()
        seconds, cpu = asyncio.run(self._drive(feed.message_handler, lines))
        requests = 1 if kind == "depth" else 0  # more: cryptofeed lost sync and refetched
        if sink.outputs != len(lines) or depth.requests != requests:
            raise SystemExit(
                f"cryptofeed: {sink.outputs} outputs for {len(lines)} {work.venue.name} {kind} "
                f"lines, {depth.requests} snapshot requests"
            )
        return Run(seconds, sink.outputs, sink.nbytes, cpu)

    @staticmethod
    async def _drive(
        handler: Callable[..., Any], lines: list[tuple[str, float]]
    ) -> tuple[float, float]:
        """(wall seconds, CPU seconds) of feeding ``lines`` to the feed's handler."""
        cpu, start = process_time(), perf_counter()
        for text, receipt_timestamp in lines:
            await handler(text, None, receipt_timestamp)
        return perf_counter() - start, process_time() - cpu


# -- rounds and report ----------------------------------------------------------------


def summary(runs: list[Run], messages: int) -> dict[str, float]:
    seconds = statistics.median(run.seconds for run in runs)
    cpu = statistics.median(run.cpu_seconds for run in runs)
    return {
        "msgs_per_s": round(messages / seconds),
        "us_per_msg": round(seconds / messages * 1e6, 2),
        "cpu_us_per_msg": round(cpu / messages * 1e6, 2),
        "bytes_per_msg": round(runs[0].nbytes / runs[0].outputs, 1),
    }


def ratio(ours: list[Run], theirs: list[Run], *, cpu: bool = False) -> tuple[float, list[float]]:
    """Our msgs/s over theirs, from the median (wall or CPU) times; and the range of
    per-round ratios."""

    def time(run: Run) -> float:
        return run.cpu_seconds if cpu else run.seconds

    median = statistics.median(map(time, theirs)) / statistics.median(map(time, ours))
    per_round = [time(t) / time(o) for o, t in zip(ours, theirs, strict=True)]
    return round(median, 2), [round(min(per_round), 2), round(max(per_round), 2)]


def runners(work: Workload, kind: str, baseline: Cryptofeed | None) -> dict[str, Callable[[], Run]]:
    """The sides measured for one venue and kind."""
    sides: dict[str, Callable[[], Run]] = {"marketprism": lambda: run_marketprism(work, kind)}
    if kind == "depth" and work.snapshot is None:
        return sides  # neither a local book nor cryptofeed can start without a snapshot
    if kind == "depth":
        sides["marketprism_with_book"] = lambda: run_marketprism(work, kind, with_book=True)
    if baseline is not None:
        lines = baseline.lines(work, kind)
        sides["cryptofeed"] = lambda: baseline.run(work, kind, lines)
    return sides


def measure(workloads: list[Workload], rounds: int, baseline: Cryptofeed | None) -> dict[str, Any]:
    cases = {
        (work.venue.name, kind): (work, runners(work, kind, baseline))
        for work in workloads
        for kind in KINDS
        if work.messages.get(kind)
    }
    runs: dict[tuple[str, str], dict[str, list[Run]]] = {key: {} for key in cases}
    for round_no in range(rounds):
        for key, (_, sides) in cases.items():
            order = list(sides) if round_no % 2 == 0 else list(reversed(sides))
            for side in order:
                runs[key].setdefault(side, []).append(sides[side]())
    results: dict[str, Any] = {}
    for (venue, kind), (work, sides) in cases.items():
        by_side = runs[venue, kind]
        messages = len(work.messages[kind])
        entry: dict[str, Any] = {"messages": messages}
        entry |= {side: summary(by_side[side], messages) for side in sides}
        for ours in ("marketprism", "marketprism_with_book"):
            if ours in by_side and "cryptofeed" in by_side:
                entry[ours]["ratio"], entry[ours]["ratio_range"] = ratio(
                    by_side[ours], by_side["cryptofeed"]
                )
                entry[ours]["cpu_ratio"], entry[ours]["cpu_ratio_range"] = ratio(
                    by_side[ours], by_side["cryptofeed"], cpu=True
                )
        results.setdefault(venue, {})[kind] = entry
    return results


def speedups(results: dict[str, Any], key: str = "ratio") -> dict[str, dict[str, float]]:
    """marketprism's speed-up over cryptofeed by venue and kind (like for like on depth),
    from wall time (``ratio``) or CPU time (``cpu_ratio``)."""
    found: dict[str, dict[str, float]] = {}
    for venue, kinds in results.items():
        for kind, entry in kinds.items():
            side = entry.get("marketprism_with_book", entry["marketprism"])
            if key in side:
                found.setdefault(venue, {})[kind] = side[key]
    return found


def speedup_line(found: dict[str, dict[str, float]]) -> str:
    cases = [
        f"{venue} {kind} {ratio}x"
        for venue, kinds in found.items()
        for kind, ratio in kinds.items()
    ]
    target = f"target {TARGET_SPEEDUP}x on {', '.join(TARGET_KINDS)}"
    return f"marketprism / cryptofeed ({target}): {', '.join(cases)}"


def table(results: dict[str, Any]) -> str:
    rows = [
        f"{'venue':<16}{'kind':<11}{'msgs':>7}  {'side':<22}{'msgs/s':>9}{'us/msg':>8}"
        f"{'cpu us':>8}  ratio  cpu ratio"
    ]
    for venue, kinds in results.items():
        for kind, entry in kinds.items():
            case = f"{venue:<16}{kind:<11}{entry['messages']:>7}"
            for side, stats in entry.items():
                if isinstance(stats, dict):
                    rate, cost, cpu = (
                        stats["msgs_per_s"],
                        stats["us_per_msg"],
                        stats["cpu_us_per_msg"],
                    )
                    ratios = f"{stats.get('ratio', ''):<7}{stats.get('cpu_ratio', '')}"
                    rows.append(f"{case}  {side:<22}{rate:>9}{cost:>8}{cpu:>8}  {ratios}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--files", nargs="+", default=list(DEFAULT_FILES), help="in " + str(HFT_DATA)
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="messages per kind and venue")
    parser.add_argument("--ours-only", action="store_true", help="skip the cryptofeed baseline")
    args = parser.parse_args(argv)
    if not HFT_DATA.is_dir():
        print(json.dumps({"bench": "ingest", "skipped": f"no recorded data at {HFT_DATA}"}))
        return 0
    paths = [Path(f) if Path(f).is_file() else HFT_DATA / f for f in args.files]
    workloads = load(paths, args.limit)
    cryptofeed = cryptofeed_version()
    report: dict[str, Any] = {
        "bench": "ingest",
        "unit": "one core: single process, single thread",
        "python": sys.version.split()[0],
        "files": [p.name for p in sorted(paths, key=lambda p: p.name)],
        "rounds": args.rounds,
        "cryptofeed": cryptofeed,
    }
    if cryptofeed is None or args.ours_only:
        why = (
            "--ours-only" if args.ours_only else "cryptofeed not installed (pip install '.[bench]')"
        )
        report["baseline_skipped"] = why
    baseline = None if "baseline_skipped" in report else Cryptofeed()
    for work in workloads:
        if work.snapshot is None and work.messages.get("depth"):
            report.setdefault("book_skipped", []).append(
                f"{work.venue.name}: no REST snapshot in {', '.join(work.files)}, so depth "
                "is measured without a local book and without cryptofeed"
            )
    report["results"] = measure(workloads, args.rounds, baseline)
    if baseline is not None:
        report["speedup_over_cryptofeed"] = speedups(report["results"])
        report["cpu_speedup_over_cryptofeed"] = speedups(report["results"], "cpu_ratio")
    report["notes"] = NOTES
    print(json.dumps(report))
    print(table(report["results"]), file=sys.stderr)
    if baseline is not None:
        print(speedup_line(report["speedup_over_cryptofeed"]), file=sys.stderr)
        cpu_line = speedup_line(report["cpu_speedup_over_cryptofeed"])
        print(cpu_line.replace("marketprism", "CPU time: marketprism", 1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
