"""The backtest's inputs as one stream of ticks and gap events in arrival order.

* a **recorded session** (cryptofeed or hftbacktest format, gzipped or not)
  goes through :class:`~ingest.replay.Replay`: the live parsers, books and
  trade-continuity checks; its trades and gap events arrive in receive order;
* a **trades CSV** (columns in :mod:`tables.history`) arrives in row order;
* **OHLCV bars** (a feather file or a CSV with ``date``/``timestamp, open,
  high, low, close, volume``) become the trades of each bar's OHLC path
  (:func:`tables.history.bar_ticks`); a missing bar becomes a gap event.

Several files are merged by arrival time (receive time for recordings, event
time for the rest), so concurrent recordings of several venues interleave as
a live worker would see them, and consecutive files follow each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gzip
import heapq
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, cast

from ingest.options import FeedOptions
from ingest.replay import Replay
from models import Record, Trade
from models.exceptions import ConfigError
from models.instrument import Instrument
from models.pipeline_events import GapEvent
from tables.history import (
    BAR_COLUMNS,
    Bar,
    HistoryError,
    bar_ticks,
    parse_timestamp_us,
    trade_row_tick,
)
from tables.tick import Tick, epoch_us, from_epoch_us

Event = tuple[str, Tick] | GapEvent
Arrival = tuple[int, Event]  #: (arrival time in epoch us, event)
Format = Literal["auto", "recording", "trades", "bars"]
FORMATS: tuple[Format, ...] = ("auto", "recording", "trades", "bars")
_FREQTRADE_NAME = re.compile(r"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)(?:_[A-Z0-9]+)?-")


@dataclass(frozen=True, slots=True)
class SourceOptions:
    exchange: str | None = None  #: forced venue (recordings) or label (CSV, bars)
    symbol: str | None = None  #: bars: the canonical symbol (else from the file name)
    bar_seconds: float | None = None  #: bars: the bar size (else the smallest step)
    close_only: bool = False  #: bars: one trade of the close per bar
    feed: FeedOptions = FeedOptions()


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _csv_header(path: Path) -> list[str]:
    with _open_text(path) as handle:
        return [name.strip().lower() for name in next(csv.reader(handle), [])]


def detect_format(path: Path) -> Format:
    """Bars for feather files and CSVs with OHLC columns, trades for other CSVs,
    a recorded session otherwise."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".feather", ".arrow")):
        return "bars"
    if name.endswith(".csv"):
        header = set(_csv_header(path))
        return "bars" if set(BAR_COLUMNS) <= header else "trades"
    return "recording"


# -- recordings -------------------------------------------------------------------------


class _QueueSink:
    """Replay's sink: trades and gap events into a bounded queue (back-pressure)."""

    def __init__(self, queue: asyncio.Queue[Arrival | None]) -> None:
        self.queue = queue

    async def publish(self, record: Record) -> None:
        if isinstance(record, Trade):
            event: Event = (record.key, Tick.from_trade(record))
            await self.queue.put((epoch_us(record.collected_at), event))
        elif isinstance(record, GapEvent):
            await self.queue.put((epoch_us(record.timestamp), record))


async def recording_arrivals(path: Path, options: SourceOptions) -> AsyncIterator[Arrival]:
    queue: asyncio.Queue[Arrival | None] = asyncio.Queue(maxsize=4096)
    replay = Replay(_QueueSink(queue), exchange=options.exchange, options=options.feed)

    async def produce() -> None:
        # The end marker follows the last record, or an error; never a cancellation
        # (the reader is gone then, and a full queue would wait forever).
        try:
            await replay.run(path)
        except Exception:
            await queue.put(None)
            raise
        await queue.put(None)

    task = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            yield item
        await task  # its error, if any
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- trades CSV -------------------------------------------------------------------------


def trade_arrivals(path: Path, options: SourceOptions) -> Iterator[Arrival]:
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
        missing = {"timestamp", "symbol", "price", "quantity", "side"} - set(reader.fieldnames)
        if options.exchange is None and "exchange" not in reader.fieldnames:
            missing.add("exchange")
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                key, tick = trade_row_tick(row, options.exchange)
            except HistoryError as exc:
                raise ConfigError(f"{path}:{line}: {exc}") from exc
            yield tick.ts_us, (key, tick)


# -- bars -------------------------------------------------------------------------------


def _read_bars(path: Path) -> list[Bar]:
    if path.name.lower().removesuffix(".gz").endswith(".csv"):
        with _open_text(path) as handle:
            reader = csv.DictReader(handle)
            reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
            column = "date" if "date" in reader.fieldnames else "timestamp"
            try:
                return [
                    Bar(parse_timestamp_us(row[column]), *(float(row[c]) for c in BAR_COLUMNS))
                    for row in reader
                ]
            except (KeyError, ValueError, HistoryError) as exc:
                raise ConfigError(f"{path}: not OHLCV bars ({exc})") from exc
    import pyarrow as pa
    import pyarrow.feather as feather

    table = feather.read_table(path)
    column = "date" if "date" in table.column_names else "timestamp"
    if column not in table.column_names or not set(BAR_COLUMNS) <= set(table.column_names):
        raise ConfigError(f"{path}: bars need date, {', '.join(BAR_COLUMNS)} columns")
    dates = table.column(column)
    if pa.types.is_integer(dates.type):  # epoch milliseconds, as in a CSV
        dates = pa.compute.multiply(dates.cast(pa.int64()), 1000)
    else:
        dates = dates.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    if dates.null_count:
        raise ConfigError(f"{path}: a bar has no {column}")
    starts = cast("list[int]", dates.to_pylist())  # no nulls: checked above
    values = [table.column(c).cast(pa.float64()).to_pylist() for c in BAR_COLUMNS]
    return [Bar(start, *row) for start, *row in zip(starts, *values, strict=True)]


def bars_symbol(path: Path, options: SourceOptions) -> str:
    """``--symbol``, or freqtrade's file name ``BTC_USDT-1h.feather`` -> ``BTC-USDT``."""
    symbol = options.symbol
    if symbol is None:
        match = _FREQTRADE_NAME.match(path.name)
        if match is None:
            raise ConfigError(f"{path}: cannot tell the symbol from the name: pass --symbol")
        symbol = f"{match['base']}-{match['quote']}"
    try:
        Instrument.parse(symbol)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return symbol


def bar_size_us(bars: Sequence[Bar], options: SourceOptions) -> int:
    if options.bar_seconds is not None:
        return round(options.bar_seconds * 1e6)
    steps = [b.start_us - a.start_us for a, b in zip(bars, bars[1:], strict=False)]
    positive = [step for step in steps if step > 0]
    if not positive:
        raise ConfigError("cannot tell the bar size from fewer than two bars: pass --bar-seconds")
    return min(positive)


def bar_arrivals(path: Path, options: SourceOptions) -> Iterator[Arrival]:
    bars = _read_bars(path)
    symbol = bars_symbol(path, options)
    exchange = options.exchange or "history"
    key = f"{exchange}:{symbol}"
    size = bar_size_us(bars, options)
    previous: int | None = None
    for bar in bars:
        if previous is not None and (missing := (bar.start_us - previous) // size - 1) > 0:
            gap = GapEvent(
                exchange=exchange,
                symbol=symbol,
                channel="trades",
                cause="missing_bars",
                missing=missing,
                timestamp=from_epoch_us(bar.start_us),
            )
            yield bar.start_us, gap
        previous = bar.start_us
        try:
            ticks = bar_ticks(bar, size, close_only=options.close_only)
        except HistoryError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        for tick in ticks:
            yield tick.ts_us, (key, tick)


# -- all of them ------------------------------------------------------------------------


async def _sync(items: Iterator[Arrival]) -> AsyncIterator[Arrival]:
    for item in items:
        yield item


def arrivals(path: Path, fmt: Format, options: SourceOptions) -> AsyncIterator[Arrival]:
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")
    kind = detect_format(path) if fmt == "auto" else fmt
    if kind == "recording":
        return recording_arrivals(path, options)
    if kind == "trades":
        return _sync(trade_arrivals(path, options))
    return _sync(bar_arrivals(path, options))


async def merged(sources: Sequence[AsyncIterator[Arrival]]) -> AsyncIterator[Arrival]:
    """Every source's items by arrival time (each source keeps its own order)."""
    heap: list[tuple[int, int, Event]] = []
    for index, source in enumerate(sources):
        first = await anext(source, None)
        if first is not None:
            heap.append((first[0], index, first[1]))
    heapq.heapify(heap)
    while heap:
        at, index, event = heap[0]
        yield at, event
        following = await anext(sources[index], None)
        if following is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (following[0], index, following[1]))
